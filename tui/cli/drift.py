"""``gatewayctl-tui drift``: what the gateway serves against what this tool shows, like ``kubectl diff``.

Compares the last applied configuration, the YAML on disk, the xDS files and what Envoy serves
(``/config_dump``) and prints every difference. Exit codes are kubectl diff's: 0 no drift,
1 drift found, 2 (or more) the comparison could not be made.
"""

from __future__ import annotations

import argparse
import sys

from connectors.errors import GatewayError

from .common import Command, colour_diff, note, one_line, out
from .lifecycle import connect

EXIT_NONE = 0
EXIT_DRIFT = 1
EXIT_ERROR = 2


def _error(text: str) -> int:
    print(f"error: {one_line(text)}", file=sys.stderr, flush=True)
    return EXIT_ERROR


def _cmd_drift(args: argparse.Namespace) -> int:
    try:
        conn = connect(args)
    except (GatewayError, OSError) as exc:
        return _error(f"{getattr(exc, 'title', 'Error')}: {exc}")
    try:
        for line in conn.notices():
            note(line)
        lines = conn.drift_details()
        reason = conn.health()
    except (GatewayError, OSError) as exc:
        return _error(f"{getattr(exc, 'title', 'Error')}: {exc}")
    finally:
        conn.close()
    title = conn.info().title
    summaries = [line for line in lines if "\n" not in line]
    diffs = [line for line in lines if "\n" in line]
    if summaries:
        out(f"Drift on {title}:")
        for line in summaries:
            out(f"  {line}")
        for diff in diffs:
            out(colour_diff(diff).rstrip())
    if reason is not None:
        return _error(f"cannot compare with what Envoy serves: {reason}")
    if not summaries:
        out(f"No drift on {title}: the YAML, the xDS files and Envoy agree with the last applied config.")
        return EXIT_NONE
    return EXIT_DRIFT


def commands() -> list[Command]:
    return [
        Command(
            "drift",
            "show where the YAML, the xDS files and what Envoy serves differ from the last applied "
            "config (exit 0 none, 1 drift, 2 error)",
            _cmd_drift,
        )
    ]
