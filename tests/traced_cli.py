"""``python -m tui.cli ARGS`` started first, then traced: the strace crash tests' launcher.

strace without seccomp stops its tracee on every system call, and importing the CLI and the
connector code it runs makes thousands of them (stat calls mostly). So this launcher imports all of
that and discovers the connectors first, untraced, then says it is ready on ``READY_FD`` and waits
for the test to say go on ``GO_FD`` (sent once ``strace -p`` reports it attached, so every system
call from then on is seen and ``inject=...:when=N`` counts the command's own renames). Then it runs
the command exactly as ``python -m tui.cli`` would: same output, same exit code, and SIGKILLed
mid-change it dies as that would.

    python -m tests.traced_cli READY_FD GO_FD -- ARGS...

Exits 3 with one line on stderr if the go never comes within ``DEADLINE`` seconds or the test
closes its end (it gave up or died), or if the go comes while nothing traces this process.
"""

from __future__ import annotations

import importlib
import os
import select
import sys
import time

# The modules a change command (set-weights, set-rate-limit, set-cors, undo) and ``routes`` import
# when they run; importing them here keeps their stat calls (and any .pyc write, a rename) out of
# the trace. One left out is only slower, not wrong: it is imported under the trace as before.
PRELOAD = (
    "tui.cli.entry",
    "tui.cli.changing",
    "tui.cli.lifecycle",
    "tui.cli.reading",
    "tui.cli.canary_cmd",
    "connectors.registry",
    "connectors.change",
    "connectors.change.pipeline",
    "connectors.native.connector",
    "connectors.native.factory",
    "connectors.kube.factory",
    "connectors.model.edits",
    "connectors.native.reverter",
    "httpcore",  # httpx imports it when it opens its first connection
    "certifi",
    "encodings.idna",
    "stringprep",
)
DEADLINE = 60.0  # longer than the test's own waits, so the test's message is the one shown
NOT_TRACED = 3


def traced() -> bool:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("TracerPid:"):
                return int(line.split()[1]) != 0
    return False


def _wait_for_go(go_fd: int) -> bool:
    end = time.monotonic() + DEADLINE
    while (left := end - time.monotonic()) > 0:
        if select.select([go_fd], [], [], left)[0]:
            return os.read(go_fd, 16) == b"go"
    return False


def run(ready_fd: int, go_fd: int, args: list[str]) -> int:
    for name in PRELOAD:
        importlib.import_module(name)
    from connectors.registry import factories
    from tui.cli import entry

    factories()  # entry-point discovery reads every installed package's metadata; it is cached
    os.write(ready_fd, b"ready")
    os.close(ready_fd)
    go = _wait_for_go(go_fd)
    os.close(go_fd)
    if not go:
        print(f"traced_cli: no go within {DEADLINE:.0f} s; not running {args}", file=sys.stderr)
        return NOT_TRACED
    if not traced():
        print(f"traced_cli: told to go but nothing traces it; not running {args}", file=sys.stderr)
        return NOT_TRACED
    sys.argv = [os.path.join(os.path.dirname(entry.__file__), "__main__.py"), *args]  # as ``-m tui.cli``
    return entry.main(args)


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[3] != "--":
        sys.exit("usage: python -m tests.traced_cli READY_FD GO_FD -- ARGS...")
    sys.exit(run(int(sys.argv[1]), int(sys.argv[2]), sys.argv[4:]))
