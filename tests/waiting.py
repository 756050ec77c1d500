"""The one way tests wait: on a condition, with a deadline, never a fixed sleep.

    wait_until(check)              poll ``check()`` in the test's thread; returns its first truthy result
    await wait_until_ui(pilot, c)  the same in a Textual ``run_test()``; the app runs between polls

Both fail the test with what they were waiting for and the last value seen.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from textual.pilot import Pilot

T = TypeVar("T")


def wait_until(
    check: Callable[[], T | None], timeout: float = 15.0, every: float = 0.05, what: str = ""
) -> T:
    """The first truthy result of ``check()``; fails the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what or check}: last {last!r}")
        time.sleep(every)


async def wait_until_ui(
    pilot: Pilot[Any],
    condition: Callable[[], object],
    seconds: float = 15.0,
    every: float = 0.05,
    what: str = "",
) -> None:
    """Let the app run (``pilot.pause``) until ``condition()`` holds; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() >= deadline:
            pytest.fail(
                f"timed out after {seconds:g} s: the console never reached {what or 'the expected state'}"
            )
        await pilot.pause(every)
