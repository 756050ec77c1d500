"""Crash windows hit exactly: strace SIGKILLs a change command at its Nth file rename.

A change renames its files in a fixed order (the journal's intent, the xDS files Envoy serves, the
YAML, undo snapshot, state.json, the last applied config), so ``strace -e inject=rename:
signal=SIGKILL:when=N`` kills it between two of those steps, every time at the same place — the
cold tester's technique. After each kill the next command must say what happened and reconcile:
what it shows is what Envoy serves (or it says otherwise), every change Envoy serves is in the
history and the audit log, and no temp file or journal entry is left. Needs the ``strace`` binary
(installed by .ci/run); skipped with the reason without it.

The command starts untraced (``tests/traced_cli.py`` imports what it will run) and ``strace -p``
attaches once it is ready: strace stops its tracee on every system call, and the imports' thousands
of them made this the suite's costliest file. ``when=N`` counts from the attach, so N is still the
command's own Nth rename. Where ptrace may not attach, the tests fail under CI and skip elsewhere.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import DEVNULL, PIPE

import pytest

from connectors.native import NativeConnector
from tests.crash_support import ROOT, cli, inspect, served

WHEN = range(1, 7)
ATTACH_DEADLINE = 30.0  # for the command to get ready, strace to attach, strace to end


def _strace() -> str:
    found = shutil.which("strace")
    if found is None:
        pytest.skip("strace is not installed (apt-get install strace): the rename-exact kills need it")
    return found


def _read_until(fd: int, marker: bytes, what: str) -> bytes:
    """What ``fd`` gives until ``marker`` or its end; fails the test after ``ATTACH_DEADLINE`` s."""
    got, end = b"", time.monotonic() + ATTACH_DEADLINE
    while marker not in got:
        left = end - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            pytest.fail(f"timed out after {ATTACH_DEADLINE:g} s waiting for {what}: got {got!r}")
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        got += chunk
    return got


def _tracer(strace: str, pid: int, when: int) -> subprocess.Popen[bytes]:
    """strace attaching to ``pid``, to SIGKILL it as it enters its ``when``-th rename from then on."""
    inject = f"rename,renameat,renameat2:signal=SIGKILL:when={when}"
    command = [strace, "-f", "-p", str(pid), "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2"]
    return subprocess.Popen([*command, "-e", f"inject={inject}"], stdout=DEVNULL, stderr=PIPE)


def _attached(tracer: subprocess.Popen[bytes]) -> None:
    """Wait for strace's "Process N attached", printed once its PTRACE_SEIZE and PTRACE_INTERRUPT
    are done: no system call of the command escapes it after that. Without ptrace permission the
    test fails under CI and is skipped elsewhere."""
    assert tracer.stderr is not None
    said = _read_until(tracer.stderr.fileno(), b" attached", "strace -p to attach")
    if b" attached" in said:
        return
    reason = said.decode(errors="replace").strip()
    if b"Operation not permitted" not in said:
        pytest.fail(f"strace could not attach to the command: {reason}")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"strace must be allowed to attach (ptrace) under CI: {reason}")
    pytest.skip(f"strace may not attach here (ptrace restricted): {reason}")


def _killed_at_rename(gw: NativeConnector, when: int, args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run the change traced by strace, SIGKILLed as it enters its ``when``-th rename. The command
    starts untraced (``tests.traced_cli``) so its imports do not pay strace's stop per system call."""
    strace, argv = _strace(), [*args, "--gateway", str(gw.state_dir)]
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    command = [sys.executable, "-m", "tests.traced_cli", str(ready_w), str(go_r), "--", *argv]
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=PIPE, stderr=PIPE, text=True, pass_fds=(ready_w, go_r)
    )
    os.close(ready_w)
    os.close(go_r)
    tracer: subprocess.Popen[bytes] | None = None
    try:
        if _read_until(ready_r, b"ready", "the command to import what it needs") != b"ready":
            pytest.fail(f"the command ended before it was ready: {proc.communicate(timeout=60)}")
        tracer = _tracer(strace, proc.pid, when)
        _attached(tracer)
        os.write(go_w, b"go")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(ready_r)
        os.close(go_w)
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        if tracer is not None:  # it ends with its tracee; reaped here either way
            _reap(tracer)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def _reap(tracer: subprocess.Popen[bytes]) -> None:
    try:
        tracer.communicate(timeout=ATTACH_DEADLINE)
    except subprocess.TimeoutExpired:
        tracer.kill()
        tracer.communicate()
        pytest.fail(f"strace did not end {ATTACH_DEADLINE:g} s after the command it traced")


def _run(gw: NativeConnector, *args: str) -> subprocess.CompletedProcess[str]:
    proc = cli(list(args), gw.state_dir)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def _canary(gw: NativeConnector) -> dict[str, int]:
    weights: dict[str, int] = served(gw.state_dir)["canary"]["weights"]
    return {k.split("~")[1]: v for k, v in weights.items()}


def _weights(gw: NativeConnector) -> list[str]:
    return ["set-weights", "canary", *(["v1=20", "v2=80"] if _canary(gw)["v1"] != 20 else ["v1=90", "v2=10"])]


def _limit(gw: NativeConnector) -> list[str]:
    limit = served(gw.state_dir)["limited"]["rate_limit"] or {}
    n = "8" if limit.get("max_tokens") == 7 else "7"
    return ["set-rate-limit", "limited", "--requests", n, "--burst", n]


def _cors(gw: NativeConnector) -> list[str]:
    origin = "https://b.example" if "a.example" in str(served(gw.state_dir)["cors"]) else "https://a.example"
    return ["set-cors", "cors", "--allow-origin", origin, "--allow-method", "GET"]


def _undo(gw: NativeConnector) -> list[str]:
    return ["undo"]


OPS: dict[str, Callable[[NativeConnector], list[str]]] = {
    "set-weights": _weights,
    "set-rate-limit": _limit,
    "set-cors": _cors,
    "undo": _undo,
}


@pytest.fixture
def gw(native_gateway: NativeConnector) -> Iterator[NativeConnector]:
    _strace()
    yield native_gateway


@pytest.mark.parametrize("op", list(OPS))
def test_a_change_killed_at_each_rename_is_reconciled_and_recorded_by_the_next_command(
    gw: NativeConnector, op: str
) -> None:
    audit = Path(os.environ["GATEWAYCTL_STATE_DIR"]) / "audit.jsonl"
    assert _run(gw, "set-weights", "canary", "v1=50", "v2=50").returncode == 0  # something to undo
    killed = 0
    for when in WHEN:
        before = served(gw.state_dir)
        args = OPS[op](gw)
        result = _killed_at_rename(gw, when, args)
        killed += result.returncode != 0
        found = inspect(gw.state_dir, gw.config_path, audit, before)
        assert not found.silent, (args, when, found, result.stderr[-500:])
        assert not found.leftovers, (args, when, found)
        if op == "undo":  # give the next undo a change to undo
            assert _run(gw, *_weights(gw)).returncode == 0
    assert killed >= 3  # the kills landed inside the change, not after it ended


@pytest.mark.parametrize("when", [2, 3])
def test_after_a_kill_setting_the_shown_weights_is_never_no_change_while_envoy_serves_others(
    gw: NativeConnector, when: int
) -> None:
    """The tester's 3 a.m. trap: killed once the routes file Envoy serves is replaced, the shown
    value must be what Envoy serves, and asking for the other value must change Envoy."""
    result = _killed_at_rename(gw, when, ["set-weights", "canary", "v1=20", "v2=80"])
    assert result.returncode != 0, result.stdout
    shown = _run(gw, "routes")
    assert "rolled" in shown.stderr  # it says what happened to the interrupted change
    served_now = _canary(gw)
    assert f"v1={served_now['v1']} v2={served_now['v2']}" in shown.stdout
    other = {"v1": 90, "v2": 10} if served_now["v1"] == 20 else {"v1": 20, "v2": 80}
    again = _run(gw, "set-weights", "canary", f"v1={other['v1']}", f"v2={other['v2']}")
    assert again.returncode == 0 and "No change" not in again.stdout, again
    assert _canary(gw) == other
    back = _run(gw, "set-weights", "canary", f"v1={served_now['v1']}", f"v2={served_now['v2']}")
    assert back.returncode == 0 and "No change" not in back.stdout and _canary(gw) == served_now
