"""The native connector: a real Envoy run by this tool, configured through file-based xDS."""

from .connector import NativeConnector

__all__ = ["NativeConnector"]
