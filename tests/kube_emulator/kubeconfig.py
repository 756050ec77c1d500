"""Kubeconfig documents pointing at a running emulator, one context per user."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

CLUSTER_NAME = "emulator"


def context_name(user: str) -> str:
    """`emulator` for the admin user, `emulator-<user>` for the others."""
    return CLUSTER_NAME if user == "admin" else f"{CLUSTER_NAME}-{user}"


def build(
    server: str, tokens: Mapping[str, str], *, namespace: str = "default", current: str = "admin"
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": CLUSTER_NAME, "cluster": {"server": server}}],
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
