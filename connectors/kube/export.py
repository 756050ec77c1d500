"""Write a plan's objects as kubectl-applyable YAML instead of applying them (GitOps review).

A ``.yaml``/``.yml`` file target gets every object as one multi-document file; any other target
(an existing directory, or a new path without that suffix) is a directory with one file per
object. Objects the plan deletes cannot be expressed as manifests: they are listed, with the
kubectl command, in a header comment.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import GatewayError
from .objects import for_apply, to_yaml
from .patching import ObjectChange


def _header(title: str, deletes: list[ObjectChange]) -> str:
    lines = [f"# gatewayctl-tui plan: {title}", "# Apply with: kubectl apply -f <this file>"]
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
                path.write_text(_header(title, []) + to_yaml(for_apply(change.after)), encoding="utf-8")
                written.append(path)
            if deletes:
                path = target / "DELETIONS.txt"
                path.write_text(_header(title, deletes), encoding="utf-8")
                written.append(path)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            docs = [to_yaml(for_apply(c.after)) for c in kept if c.after is not None]
            target.write_text(_header(title, deletes) + "---\n".join(docs), encoding="utf-8")
            written.append(target)
    except OSError as exc:
        raise GatewayError(f"cannot write the export to {target}: {exc.strerror or exc}") from exc
    return written
