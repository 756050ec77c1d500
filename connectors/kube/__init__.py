"""Kubernetes connectors: Istio, Envoy Gateway, and plain Gateway API HTTPRoutes.

``open_cluster`` (``factory``) connects with a kubeconfig context (or in-cluster credentials), asks
the API server which gateway APIs it serves, and returns the matching connector (``flavours``).
The concrete modules are imported lazily so that listing contexts stays fast.
"""

from __future__ import annotations

from .factory import open_cluster

__all__ = ["open_cluster"]
