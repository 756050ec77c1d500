"""The native connector: a real Envoy run by this tool, configured through file-based xDS.

``NativeConnector`` is imported on first use, so the registry can load ``native.factory`` (listing
gateways, the command line's options) without the xDS and HTTP code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .connector import NativeConnector

__all__ = ["NativeConnector"]


def __getattr__(name: str) -> Any:
    if name == "NativeConnector":
        from .connector import NativeConnector

        return NativeConnector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
