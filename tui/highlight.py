"""Syntax highlighting for YAML and diffs in the theme's own colours (no fixed palette)."""

from __future__ import annotations

from pygments.token import Token
from textual.content import Content, Span
from textual.highlight import HighlightTheme, highlight


class ConsoleHighlight(HighlightTheme):
    """Textual's highlight theme (theme variables only) plus diff tokens."""

    STYLES = {
        **HighlightTheme.STYLES,
        Token.Generic.Inserted: "$diff-added",
        Token.Generic.Deleted: "$diff-removed",
        Token.Generic.Subheading: "bold $diff-hunk",
        Token.Generic.Heading: "bold $text-primary",
    }


def highlight_yaml(text: str) -> Content:
    if not text.strip():
        return Content.styled("(nothing)", "$text-muted")
    return highlight(text, language="yaml", theme=ConsoleHighlight)


def highlight_diff(text: str) -> Content:
    """A unified diff: added lines, removed lines and hunk headers in the theme's diff colours."""
    if not text.strip():
        return Content.styled("(no differences)", "$text-muted")
    text = text.rstrip("\n")
    spans: list[Span] = []
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line)
        if line.startswith(("+++", "---")):
            spans.append(Span(pos, end, "bold $text-primary"))
        elif line.startswith("+"):
            spans.append(Span(pos, end, "$diff-added"))
        elif line.startswith("-"):
            spans.append(Span(pos, end, "$diff-removed"))
        elif line.startswith("@@"):
            spans.append(Span(pos, end, "bold $diff-hunk"))
        pos = end + 1
    return Content(text, spans=spans)
