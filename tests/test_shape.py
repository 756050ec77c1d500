"""The shape the developers' guide asks for (issue 9): no module under connectors/ or tui/ over 450
lines, no function over 60 lines unless its docstring has a line starting with ``Long:`` that says
why it is long."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
ALLOWED_LONG: set[tuple[str, str]] = set()  # (module, function): none; give a "Long:" reason instead


def _has_reason(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    doc = ast.get_docstring(node) or ""
    return any(line.strip().startswith("Long:") for line in doc.splitlines())


def shape_problems(path: Path, name: str) -> list[str]:
    """What breaks the shape in the module at ``path`` (shown as ``name``), a line each."""
    text = path.read_text(encoding="utf-8")
    problems = []
    lines = len(text.splitlines())
    if lines > MAX_MODULE_LINES:
        problems.append(f"{name}: {lines} lines (at most {MAX_MODULE_LINES})")
    for node in ast.walk(ast.parse(text, filename=name)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length > MAX_FUNCTION_LINES and not _has_reason(node) and (name, node.name) not in ALLOWED_LONG:
            problems.append(
                f"{name}:{node.lineno} {node.name}: {length} lines (at most {MAX_FUNCTION_LINES}, "
                'or a docstring line "Long: <why>")'
            )
    return problems


def test_modules_and_functions_stay_small() -> None:
    problems = [
        problem
        for package in ("connectors", "tui")
        for path in sorted((ROOT / package).rglob("*.py"))
        for problem in shape_problems(path, path.relative_to(ROOT).as_posix())
    ]
    assert problems == []


def _function(lines: int, doc: str = "") -> str:
    body = "".join(f"    x{i} = {i}\n" for i in range(lines - 1 - (1 if doc else 0)))
    return "def long_one() -> None:\n" + (f'    """{doc}"""\n' if doc else "") + body


def test_the_check_finds_a_long_function_and_a_long_module(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(_function(60) + "\n\n" + _function(61).replace("long_one", "too_long"))
    assert shape_problems(path, "m.py") == [
        'm.py:63 too_long: 61 lines (at most 60, or a docstring line "Long: <why>")'
    ]
    path.write_text("x = 1\n" * 451)
    assert shape_problems(path, "m.py") == ["m.py: 451 lines (at most 450)"]


def test_a_long_function_with_a_reason_passes(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(_function(80, "Steps.\n\n    Long: one table of cases, clearer in one place."))
    assert shape_problems(path, "m.py") == []
    path.write_text(_function(80, "Steps; not Long: a reason must start its own line."))
    assert len(shape_problems(path, "m.py")) == 1
