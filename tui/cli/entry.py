"""``main``: parse, run the command, and turn every failure into one line and an exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from connectors.errors import GatewayError, ValidationError

from .common import EXIT_GATEWAY, EXIT_USAGE, Handler, UsageError, one_line, stdout_gone
from .parser import build_parser


def _error(line: str) -> None:
    from connectors.redact import redact_text  # an error may quote a header value or a token

    print(f"error: {redact_text(line)}", file=sys.stderr, flush=True)


def _invalid(exc: ValidationError) -> int:
    if len(exc.problems) > 1:
        _error(f"{exc.title}: {len(exc.problems)} problems")
        for problem in exc.problems:
            from connectors.redact import redact_text

            print(f"  {redact_text(one_line(str(problem)))}", file=sys.stderr)
    else:
        _error(f"{exc.title}: {one_line(str(exc))}")
    return EXIT_GATEWAY


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 gateway error, 2 usage error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        handler: Handler = args.func
        return handler(args)
    except UsageError as exc:
        _error(f"usage: {one_line(str(exc))} (see gatewayctl-tui --help)")
        return EXIT_USAGE
    except ValidationError as exc:
        return _invalid(exc)
    except GatewayError as exc:
        _error(f"{exc.title}: {one_line(str(exc))}")
        return EXIT_GATEWAY
    except BrokenPipeError:  # output cut off outside ``out`` (which carries on): no error line
        stdout_gone()
        return EXIT_GATEWAY
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        _error(f"{exc.strerror or exc}{where}")
        return EXIT_GATEWAY
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    except Exception as exc:
        if os.environ.get("GATEWAYCTL_DEBUG"):
            raise
        _error(f"internal error: {type(exc).__name__}: {one_line(str(exc))} (GATEWAYCTL_DEBUG=1 shows more)")
        return EXIT_GATEWAY
