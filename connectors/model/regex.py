"""Regular expressions checked the way Envoy will: with RE2 (the ``google-re2`` package), not Python's
``re``, which accepts lookahead and backreferences that Envoy refuses.

Envoy also refuses a regex whose compiled RE2 program is larger than its ``max_program_size`` error
level (100 by default): a ``{1000}`` repetition compiles but is far over it.
"""

from __future__ import annotations

import re2

# Envoy's default re2.max_program_size.error_level (envoy.type.matcher.v3.RegexMatcher, google_re2).
MAX_PROGRAM_SIZE = 100

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every refused pattern to stderr


def compile_re2(pattern: str) -> re2._Regexp:
    """The compiled pattern; raises ValueError with RE2's reason."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else str(exc)
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ValueError(str(reason)) from None


def regex_problem(pattern: str) -> str | None:
    """Why Envoy would refuse ``pattern``, or None."""
    if not pattern:
        return "a regular expression must not be empty"
    try:
        compiled = compile_re2(pattern)
    except ValueError as exc:
        return f"regular expression {_short(pattern)} is not valid RE2 (Envoy's syntax): {exc}"
    if compiled.programsize > MAX_PROGRAM_SIZE:
        return (
            f"regular expression {_short(pattern)} is too complex for Envoy (RE2 program size "
            f"{compiled.programsize}, at most {MAX_PROGRAM_SIZE})"
        )
    return None


def full_match(pattern: str, text: str) -> bool:
    """Whether ``pattern`` matches all of ``text`` (how Envoy's safe_regex matches)."""
    try:
        return compile_re2(pattern).fullmatch(text) is not None
    except ValueError:
        return False


def _short(pattern: str) -> str:
    return repr(pattern if len(pattern) <= 60 else pattern[:57] + "...")
