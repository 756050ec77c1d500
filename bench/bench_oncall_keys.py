"""The on-call key paths, counted and timed on the real demo in a real terminal (tmux, 160x45).

Starts ``gatewayctl-tui demo --state-dir DIR`` in a detached tmux session, sends keys with
``tmux send-keys`` and reads the screen with ``tmux capture-pane``, as an operator would:

1. 90/10 → 50/50 with the split confirmed from inside the console: from the routes view, ``j``
   (the shop route), ``w`` (weights), ``p`` (the next preset: 50/50), ``ctrl+s`` (the diff), ``a``
   (apply); the diff's result then counts the split since that change until it says
   ``consistent``. Timed from the first key to the verdict on screen.
   The demo sends ~4 req/s over six routes, under 1 req/s to shop: a verdict on 50/50 needs 50
   requests. While this path runs the script also sends shop ~40 req/s (the traffic a route under a
   canary has), and says so.
2. From the routes view, the most-limited route → who → a raised limit: ``t`` (triage: the route
   refusing most is first, selected), ``g`` (clients by the logged ``x-user-id``: crawler-7), ``⏎``
   (its rate-limit form, the requests field focused and selected), ``4`` ``0`` (40/s), ``ctrl+s``,
   ``a``. Timed from ``t`` to "Applied and verified".

Prints the key count and the time of each path against the goals (≤ 8 keys and < 10 s; ≤ 12 keys),
then kills the session (the demo stops its Envoy, backends and traffic).

    .venv/bin/python bench/bench_oncall_keys.py [--session oncall-bench] [--rate 40]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from connectors.http_client import http_client

ROOT = Path(__file__).resolve().parents[1]
SIZE = (160, 45)


class Terminal:
    """A tmux session running one command; keys in, screen text out."""

    def __init__(self, name: str, command: str) -> None:
        self.name = name
        self.keys = 0
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True, check=False)
        x, y = SIZE
        subprocess.run(["tmux", "new", "-d", "-s", name, "-x", str(x), "-y", str(y), command], check=True)

    def screen(self) -> str:
        done = subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True)
        return done.stdout

    def press(self, *keys: str) -> None:
        """One operator key each (tmux names: ``C-s``, ``Enter``, ``Escape``)."""
        for key in keys:
            subprocess.run(["tmux", "send-keys", "-t", self.name, key], check=True)
            self.keys += 1
            time.sleep(0.05)  # a key at a time, as typed; tmux would otherwise batch them

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 60.0) -> float:
        """Seconds until ``check(screen)`` holds; exits with the screen when it never does."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if check(self.screen()):
                return time.monotonic() - start
            time.sleep(0.1)
        print(
            f"timed out after {timeout:g} s waiting for {what}; the screen:\n{self.screen()}", file=sys.stderr
        )
        raise SystemExit(1)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True, check=False)


class ShopTraffic:
    """About ``rate`` GET requests per second to the demo's shop route, in a thread."""

    def __init__(self, base_url: str, rate: float) -> None:
        self.base_url, self.rate, self.sent = base_url, rate, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with http_client(base_url=self.base_url, timeout=2.0) as client:
            next_at = time.monotonic()
            while not self._stop.is_set():
                try:
                    client.get("/", headers={"host": "shop.demo"})
                    self.sent += 1
                except httpx.HTTPError:
                    pass
                next_at += 1.0 / self.rate
                self._stop.wait(max(0.0, next_at - time.monotonic()))

    def __enter__(self) -> ShopTraffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def split_path(term: Terminal, listener: str, rate: float) -> tuple[int, float, str]:
    """90/10 → 50/50, applied, and the split since the change judged consistent."""
    with ShopTraffic(listener, rate):
        time.sleep(1.0)  # the traffic is steady before the operator starts
        term.keys = 0
        start = time.monotonic()
        term.press("j", "w")
        term.wait_for(lambda s: "Edit weights — route shop" in s, "the weights form on shop")
        term.press("p")
        term.wait_for(lambda s: "v1 50%  v2 50%" in s, "the 50/50 preset")
        term.press("C-s")
        term.wait_for(lambda s: "Review the change" in s, "the diff")
        term.press("a")
        term.wait_for(lambda s: "Applied and verified" in s, "the apply")
        verdict = re.compile(r"(✔ consistent|✖ inconsistent): [^\n]*")
        term.wait_for(lambda s: bool(verdict.search(s)), "the split's verdict", timeout=30)
        seconds = time.monotonic() - start
        found = verdict.search(term.screen())
        return term.keys, seconds, found.group(0).strip() if found else "?"


def limit_path(term: Terminal) -> tuple[int, float, str]:
    """From the routes view: the most-limited route, who it refuses, its limit raised."""
    term.keys = 0
    start = time.monotonic()
    term.press("t")
    term.wait_for(lambda s: "Rate-limit triage" in s and "api-limited" in s, "triage with api-limited")
    term.press("g")
    term.wait_for(lambda s: "crawler-7" in s, "crawler-7 among the refused clients", timeout=40)
    term.press("Enter")
    term.wait_for(lambda s: "Edit rate limit — route api-limited" in s, "the rate-limit form")
    term.press("4", "0")
    term.wait_for(lambda s: "40/s" in s, "the new limit in the form's summary")
    term.press("C-s")
    term.wait_for(lambda s: "Review the change" in s, "the diff")
    term.press("a")
    term.wait_for(lambda s: "Applied and verified" in s, "the apply")
    seconds = time.monotonic() - start
    line = next((ln.strip() for ln in term.screen().splitlines() if "rate limit" in ln and "→" in ln), "")
    return term.keys, seconds, line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--session", default="oncall-bench")
    parser.add_argument("--rate", type=float, default=40.0, help="req/s sent to shop during path 1")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("tmux is not installed (Debian: tmux)")
    state = Path(tempfile.mkdtemp(prefix="oncall-bench-"))
    command = f"{ROOT / '.venv/bin/gatewayctl-tui'} demo --state-dir {state}"
    term = Terminal(args.session, command)
    try:
        term.wait_for(lambda s: "● connected" in s and "shop-static" in s, "the demo's routes", timeout=90)
        found = re.search(r"listening (http://\S+)", term.screen())
        if found is None:
            raise SystemExit("the header does not show the listener URL")
        listener = found.group(1)
        term.wait_for(lambda s: re.search(r"shop\s.*\d+\.\d", s) is not None, "live figures", timeout=30)

        keys, seconds, verdict = split_path(term, listener, args.rate)
        ok = keys <= 8 and seconds < 10
        verdict_ok = "OK" if ok else "MISSED"
        print(
            f"90/10 -> 50/50, split confirmed: {keys} keys, {seconds:.1f} s"
            f"  (goal <= 8 keys, < 10 s)  {verdict_ok}"
        )
        print(f"  shown: {verdict}  (while ~{args.rate:g} req/s went to shop)")
        term.press("Escape")  # close the diff: back on the routes view
        term.wait_for(lambda s: "shop-static" in s and "Review the change" not in s, "the routes view")
        time.sleep(0.6)  # an escape and the next key in quick succession read as alt+key

        keys, seconds, line = limit_path(term)
        limit_ok = "OK" if keys <= 12 else "MISSED"
        print(
            f"most-limited route -> who -> raised limit: {keys} keys, {seconds:.1f} s"
            f"  (goal <= 12 keys)  {limit_ok}"
        )
        print(f"  shown: {line}")
    finally:
        term.close()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
