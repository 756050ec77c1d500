"""The process ``gatewayctl-tui up`` starts: the native supervisor (``connectors.native.supervisor``:
Envoy as its child, restarted when it dies) with the gateway's time-box reverter in a thread beside
it (``reverter.watch``), so one process looks after both. It sits on this floor because reverting
goes through the change pipeline, which the native connector's floor may not import.

    python -m connectors.change.supervise --config X --state-dir D [--stats-port N]
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..native.supervisor import main as supervise
from .reverter import watch


def _reverts(state_dir: Path, stop: threading.Event) -> None:
    watch(state_dir, stop=stop, detached=False)


def main(argv: list[str] | None = None) -> int:
    return supervise(argv, sidecar=_reverts)


if __name__ == "__main__":
    raise SystemExit(main())
