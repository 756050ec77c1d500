"""What ``gateways`` says about a native gateway, from its state files and processes alone.

``running``; ``stopped (reason)``; ``restarting (reason)`` while the supervisor brings a dead Envoy
back; ``config broken (reason)`` when the YAML no longer loads or validates (Envoy, if it runs,
keeps serving the last config applied). The YAML is checked but never needed: a broken file must
not hide whether Envoy serves.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GatewayError
from .process import pid_alive
from .supervision import Supervision

RUNNING, STOPPED, RESTARTING, BROKEN = "running", "stopped", "restarting", "config broken"

__all__ = ["BROKEN", "RESTARTING", "RUNNING", "STOPPED", "Found", "gateway_status"]


@dataclass(frozen=True)
class Found:
    state: str
    reason: str = ""
    serving: bool = False  # an Envoy of this gateway runs (whatever the state says about the rest)
    restarts: int = 0


def config_problem(config: str) -> str | None:
    """Why the gateway's YAML cannot be used now (one line), or None."""
    from .config_file import ConfigFile
    from .validation import validate

    try:
        validate(ConfigFile.load(Path(config)).gateway)
    except GatewayError as exc:
        problems = getattr(exc, "problems", None)
        return f"{config}: {problems[0]}" if problems else str(exc)
    return None


def gateway_status(state_dir: Path, state: dict[str, Any]) -> Found:
    pid = state.get("pid")
    serving = pid_alive(pid if isinstance(pid, int) else None)
    process = _process_status(state_dir, pid, serving)
    broken = config_problem(str(state["config"])) if state.get("config") else None
    if broken is None:
        return process
    where = "Envoy serves the last applied config" if serving else "Envoy is not running"
    return Found(BROKEN, f"{broken}; {where}", serving, process.restarts)


def _process_status(state_dir: Path, pid: object, serving: bool) -> Found:
    sup = Supervision.read(state_dir)
    if sup is None:  # not supervised (the demo, or a gateway started by a library caller)
        if serving:
            return Found(RUNNING, serving=True)
        if not state_dir.joinpath("state.json").exists():
            return Found(STOPPED, "no state.json")
        return Found(STOPPED, f"Envoy (pid {pid}) is not running" if pid else "stopped")
    if not sup.alive:
        if sup.status == STOPPED:
            return Found(STOPPED, sup.reason or "stopped", serving, sup.restarts)
        last = f"; last: {sup.reason}" if sup.reason else ""
        return Found(STOPPED, f"its supervisor (pid {sup.pid}) is gone{last}", serving, sup.restarts)
    if sup.status == RESTARTING or (sup.status == RUNNING and not serving):
        return Found(RESTARTING, sup.reason or sup.last_exit or "Envoy is restarting", serving, sup.restarts)
    if sup.status == "starting":
        return Found(RESTARTING, "starting", serving, sup.restarts)
    return Found(RUNNING, sup.reason, serving, sup.restarts)  # e.g. "restarted after: ..."
