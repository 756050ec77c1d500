"""Kubeconfig documents pointing at a running emulator, one context per user."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

CLUSTER_NAME = "emulator"


def context_name(user: str) -> str:
    """`emulator` for the admin user, `emulator-<user>` for the others."""
    return CLUSTER_NAME if user == "admin" else f"{CLUSTER_NAME}-{user}"


def build(
    server: str,
    tokens: Mapping[str, str],
    *,
    namespace: str = "default",
    current: str = "admin",
    ca_pem: bytes = b"",
) -> dict[str, Any]:
    """With `ca_pem` (an HTTPS server) the cluster entry carries it, so clients verify the server and
    kubectl sends the bearer tokens (it never sends them over plain HTTP)."""
    cluster: dict[str, Any] = {"server": server}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": CLUSTER_NAME, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}} for user, token in tokens.items()],
        "contexts": [
            {
                "name": context_name(user),
                "context": {"cluster": CLUSTER_NAME, "user": user, "namespace": namespace},
            }
            for user in tokens
        ],
        "current-context": context_name(current),
    }


def write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)
    return path
