"""What every command group shares: exit codes, the usage error, the typed command factory, and
plain-text output (aligned tables, coloured diffs, one-line route summaries)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from connectors.model import Route

EXIT_GATEWAY = 1
EXIT_USAGE = 2
Handler = Callable[[argparse.Namespace], int]
Arguments = Callable[[argparse.ArgumentParser], None]


class UsageError(Exception):
    """The command line itself is wrong (exit code 2)."""


# A value like "-5m" is taken for an option by argparse ("--for: expected one argument"); no option
# of this CLI looks like a negative number or duration, so such a value is the flag's value and the
# flag's own check says what is wrong with it. Every subparser is a Parser, so this covers every
# duration flag of every subcommand (--for, --since, --window, --pause, --max-wait, --interval…).
NEGATIVE_VALUE = re.compile(r"^-\d+$|^-\d*\.\d+$|^-\d[\d.]*(?:ms|s|m|h|d)$")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of printing usage and exiting, and takes a
    negative duration as a value."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if hasattr(self, "_negative_number_matcher"):  # the stdlib's own test for "a negative number"
            self._negative_number_matcher = NEGATIVE_VALUE

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def negative_duration(text: str) -> str:
    """What is wrong with a negative duration (``-5m``), else "": said the same after every flag."""
    return f"must be a positive duration, got {text}" if text.strip().startswith("-") else ""


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    return None


@dataclass(frozen=True)
class Command:
    """One subcommand: its name and help line, how it adds its own arguments, what runs it, and
    whether it changes the gateway (then it takes --dry-run, --show-native and --export)."""

    name: str
    help: str
    run: Handler
    arguments: Arguments = _no_arguments
    changes: bool = False


def whole_number(text: str) -> int:
    """An integer written in ASCII digits (``int`` also takes "٩٠", " 9" and "1_0"): argparse's
    ``type`` for counts, and weights."""
    if not re.fullmatch(r"-?[0-9]+", text):
        raise ValueError(f"not a whole number in digits 0-9: {text!r}")
    return int(text)


def out(text: str = "") -> None:
    """Print a line of the command's output. When the reader went away (``... | head``) the rest
    goes nowhere and the command carries on: a change is applied, verified and recorded all the
    same, and the exit code is the command's."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        stdout_gone()


def stdout_gone() -> None:
    """Point stdout at /dev/null (so later writes, and the flush at exit, cannot fail again)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file (captured): nothing to point elsewhere
        pass
    finally:
        os.close(devnull)


def note(text: str) -> None:
    """A line for the operator that is not the command's output (stderr: scripts parse stdout)."""
    print(f"note: {text}", file=sys.stderr, flush=True)


def warn(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr, flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Plain aligned columns like kubectl's: stable for scripts and readable in any terminal."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = [
        "   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [headers, *rows]
    ]
    return "\n".join(lines)


_DIFF_COLOURS = (("+++", "1"), ("---", "1"), ("+", "32"), ("-", "31"), ("@@", "36"))


def colour_diff(diff: str) -> str:
    if not sys.stdout.isatty() or os.environ.get("NO_COLOR"):
        return diff
    lines = []
    for line in diff.splitlines(keepends=True):
        code = next((c for prefix, c in _DIFF_COLOURS if line.startswith(prefix)), None)
        lines.append(f"\x1b[{code}m{line.rstrip()}\x1b[0m\n" if code else line)
    return "".join(lines)


def one_line(text: str) -> str:
    return " ".join(text.split())


def matches(route: Route) -> str:
    return " | ".join(str(m) for m in route.matches)


def backends(route: Route) -> str:
    if route.weight_mode == "percent":
        return " ".join(f"{b.name}={b.weight}" for b in route.backends)
    share = route.weight_share()
    return " ".join(f"{b.name}={b.weight}({share[b.name]:.0f}%)" for b in route.backends)


def policies(route: Route) -> str:
    names = list(route.policy_names())
    if route.rate_limit is not None:
        i = next(i for i, n in enumerate(names) if n.startswith("ratelimit"))
        names[i] = f"ratelimit {route.rate_limit.describe()}"
    return ", ".join(names) or "-"
