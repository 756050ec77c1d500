"""Killing change commands mid-apply and checking what is left (the test and the bench share it).

``kill_during`` runs one change command (``python -m tui.cli ...``) as a real process and SIGKILLs
it: either ``delay`` seconds after the first xDS file is replaced (found by polling the files'
inodes: a rename gives a new one) or ``delay`` seconds after it started. ``inspect`` then runs the
next command (``routes -o json``, which reconciles first) and compares what Envoy serves
(``/config_dump``) with what the tool shows, the history, the audit log and the leftovers.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from connectors.history import HistoryStore
from connectors.model import Gateway, gateway_from_dict
from connectors.native.admin import AdminClient
from connectors.native.config_file import load_text
from connectors.native.served import Views, differences, envoy_views, model_views

ROOT = Path(__file__).resolve().parents[1]


def cli(args: Sequence[str], state_dir: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tui.cli", *args, "--gateway", str(state_dir)],
        cwd=ROOT,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _inodes(xds: Path) -> dict[str, int]:
    out = {}
    for path in xds.glob("*.json"):
        try:
            out[path.name] = path.stat().st_ino
        except OSError:
            continue
    return out


@dataclass
class Kill:
    """One killed command: whether it was killed in the aimed window, and its exit code."""

    args: list[str]
    aimed: bool
    killed: bool
    returncode: int | None


def kill_during(
    args: Sequence[str], state_dir: Path, delay: float, *, aimed: bool, timeout: float = 30.0
) -> Kill:
    """Run ``args`` and SIGKILL it ``delay`` s after an xDS file is replaced (``aimed``) or after
    it started. A command that ends first is not killed."""
    xds = state_dir / "xds"
    before = _inodes(xds)
    proc = cli(args, state_dir)
    start = time.monotonic()
    fire_at: float | None = None if aimed else start + delay
    while proc.poll() is None and time.monotonic() - start < timeout:
        now = time.monotonic()
        if fire_at is None and _inodes(xds) != before:
            fire_at = now + delay
        if fire_at is not None and now >= fire_at:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.communicate()
            return Kill(list(args), aimed, True, proc.returncode)
        time.sleep(0.0003)
    if proc.poll() is None:
        proc.kill()
    proc.communicate()
    return Kill(list(args), aimed, False, proc.returncode)


def _gateway(config: Path) -> Gateway:
    data = load_text(config.read_text(encoding="utf-8"), str(config))
    return gateway_from_dict(data)


def served(state_dir: Path) -> Views:
    state = json.loads((state_dir / "state.json").read_text())
    admin = AdminClient(state["admin_url"])
    try:
        return envoy_views(admin, list(state.get("listeners", {})))
    finally:
        admin.close()


@dataclass
class Inspection:
    """What the next command found after a kill."""

    silent: list[str] = field(default_factory=list)  # served ≠ shown, or a change unrecorded, unsaid
    said: str = ""  # what the next command said (recovered / drift), if anything
    leftovers: list[str] = field(default_factory=list)


def inspect(state_dir: Path, config: Path, audit_log: Path, served_before: Views) -> Inspection:
    """Run the next command and check: Envoy serves what it shows (or it says otherwise); a change
    Envoy serves is in the history and the audit log; nothing is left behind."""
    result = cli(["routes", "-o", "json"], state_dir)
    out, err = result.communicate(timeout=60)
    found = Inspection(
        said=" | ".join(line for line in err.splitlines() if line.startswith(("note:", "warning:")))
    )
    envoy = served(state_dir)
    shown = {r["name"]: r for r in json.loads(out)} if out.strip() else {}
    gw = _gateway(config)
    if [r.name for r in gw.routes] != list(shown):
        found.silent.append("routes -o json does not list the YAML's routes")
    mismatch = differences(model_views(gw), envoy)
    if mismatch and "drift" not in found.said:
        found.silent.append(f"Envoy serves something else than shown, unsaid: {mismatch}")
    changed = [n for n in differences(served_before, envoy)]
    if changed:
        entries = HistoryStore(state_dir / "history.jsonl").entries()
        shown_now = {r.name: r for r in gw.routes}
        from connectors.model import route_to_dict

        for name in changed:
            last = next((e for e in reversed(entries) if name in e.routes), None)
            after = next((a for a in last.after if a.get("name") == name), None) if last else None
            if after != route_to_dict(shown_now[name]):
                found.silent.append(f"route {name} changed in Envoy but the history does not end with it")
            elif last is not None and f'"change_id": "{last.id}"' not in audit_log.read_text():
                found.silent.append(f"route {name}: change {last.id} is not in the audit log")
    found.leftovers = leftovers(state_dir, config)
    state = json.loads((state_dir / "state.json").read_text())
    versions = [p.read_text()[:64] for p in (state_dir / "xds").glob("*.json") if p.name != "bootstrap.json"]
    top = max(int(json.loads(v[: v.index(',"resources"')] + "}")["version_info"]) for v in versions)
    if state.get("xds_version", 0) < top:
        found.silent.append(f"state.json's version {state.get('xds_version')} is behind the files' {top}")
    return found


def leftovers(state_dir: Path, config: Path) -> list[str]:
    """Temp files and journal entries left behind."""
    out = [str(p) for p in config.parent.glob(".*.tmp")]
    out += [str(p) for p in state_dir.rglob(".*.tmp")]
    out += [str(p) for p in (state_dir / "journal").glob("*.json")]
    return out


def gateway_model(config: Path) -> Gateway:
    return _gateway(config)
