"""``bundle [--since 1h] -o FILE.tar.gz``: a redacted support bundle — the model, the native config,
Envoy's config_dump and stats, recent access-log lines, the history and the audit log."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .common import Command, UsageError, out
from .lifecycle import with_connector

if TYPE_CHECKING:
    from connectors.base import Connector


def _check(args: argparse.Namespace) -> None:
    from connectors.model import parse_duration

    try:
        args.since_s = parse_duration(args.since)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None
    if args.since_s <= 0:
        raise UsageError("--since: must be longer than zero")
    target = Path(args.output).expanduser()
    if not target.name.endswith((".tar.gz", ".tgz")):
        raise UsageError(f"-o: {args.output!r} should end in .tar.gz")
    if not target.parent.is_dir():  # a typo in a path must not make folders
        raise UsageError(f"-o: the folder {target.parent} does not exist")
    if target.exists():
        raise UsageError(f"-o: {target} exists; choose another name (a bundle never overwrites a file)")
    args.target = target


def _cmd_bundle(args: argparse.Namespace, conn: Connector) -> int:
    from connectors.bundle import write_bundle

    report = write_bundle(conn, args.target, args.since_s)
    total = sum(n for _, n in report.files)
    size = f"{total / 1024:.0f} KiB before compression"
    out(f"Wrote {report.path} ({len(report.files) + 1} files, {size}, mode 0600).")
    for name, reason in report.missing.items():
        out(f"  not included: {name}: {reason}")
    out("Secrets are redacted (credential headers, JWK private members, tokens); check before sharing.")
    return 0


def _arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", required=True, metavar="FILE.tar.gz")
    p.add_argument("--since", default="1h", metavar="DURATION", help="how far back logs and history go (1h)")


def commands() -> list[Command]:
    return [
        Command(
            "bundle",
            "write a redacted support bundle: model, native config, Envoy's config and stats, logs, history",
            with_connector(_cmd_bundle, _check),
            _arguments,
        )
    ]
