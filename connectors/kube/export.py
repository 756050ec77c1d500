"""Write a plan's objects as kubectl-applyable YAML instead of applying them (GitOps review).

A ``.yaml``/``.yml`` file target gets every object as one multi-document file; any other target
(an existing directory, or a new path without that suffix) is a directory with one file per
object. Objects the plan deletes cannot be expressed as manifests: they are listed, with the
kubectl command, in a header comment.

An export is for review (a pull request, a ticket): secrets in the objects (credential header
values, tokens) are written as ``<redacted>``, and the file's header says how many to fill in.
Files are the owner's only (0600).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import GatewayError
from ..paths import PRIVATE_FILE
from ..redact import MASK, redact
from .objects import for_apply, to_yaml
from .patching import ObjectChange


def _manifest(change: ObjectChange) -> str:
    assert change.after is not None
    manifest = for_apply(change.after)
    version = change.base_version
    if version:
        # The version the plan was made against: kubectl apply sends it, so applying the file after
        # someone else changed the object is a conflict instead of silently reverting their edit.
        manifest["metadata"]["resourceVersion"] = version
    return to_yaml(redact(manifest))


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)


def _header(title: str, deletes: list[ObjectChange], body: str = "") -> str:
    lines = [
        f"# gatewayctl-tui plan: {title}",
        "# Apply with: kubectl diff -f <this file>, then kubectl apply -f <this file>",
        "# Objects that exist carry the resourceVersion the plan was made against: if one changed since,",
        "# kubectl refuses it (a conflict); plan and export again rather than deleting the version.",
    ]
    if masked := body.count(MASK):
        lines.append(f"# {masked} secret value(s) are written as {MASK}: fill them in before applying")
    for change in deletes:
        ns = f" -n {change.namespace}" if change.namespace else ""
        command = f"kubectl delete {change.resource.qualified} {change.name}{ns}"
        lines.append(f"# This plan also DELETES {change.label}: {command}")
    return "\n".join(lines) + "\n"


def export_changes(changes: list[ObjectChange], target: Path, *, title: str = "") -> list[Path]:
    kept = [c for c in sorted(changes, key=lambda c: c.order) if c.after is not None]
    deletes = [c for c in changes if c.after is None]
    as_dir = target.is_dir() or target.suffix.lower() not in (".yaml", ".yml")
    written: list[Path] = []
    try:
        if as_dir:
            target.mkdir(parents=True, exist_ok=True)
            for change in kept:
                assert change.after is not None
                name = f"{change.resource.kind.lower()}-{change.namespace or 'cluster'}-{change.name}.yaml"
                path = target / name
                body = _manifest(change)
                _write(path, _header(title, [], body) + body)
                written.append(path)
            if deletes:
                path = target / "DELETIONS.txt"
                _write(path, _header(title, deletes))
                written.append(path)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            body = "---\n".join(_manifest(c) for c in kept)
            _write(target, _header(title, deletes, body) + body)
            written.append(target)
    except OSError as exc:
        raise GatewayError(f"cannot write the export to {target}: {exc.strerror or exc}") from exc
    return written
