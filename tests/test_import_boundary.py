"""connectors/ never imports textual or tui; tui/ reaches connectors only through their interface."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_connectors_source_never_imports_textual_or_tui() -> None:
    offenders = []
    for path in sorted((ROOT / "connectors").rglob("*.py")):
        for name in _imports(path):
            if name.split(".")[0] in {"textual", "tui", "textual_plotext"}:
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_importing_every_connector_module_loads_no_textual() -> None:
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "connectors").rglob("*.py")
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n    importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'tui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_tui_does_not_reach_into_connector_internals() -> None:
    """The UI may import the interface (base, errors, model, metrics types, factory) but not a
    connector's private modules such as connectors.native.render."""
    allowed_prefixes = (
        "connectors.base",
        "connectors.capabilities",
        "connectors.errors",
        "connectors.model",
        "connectors.metrics",
        "connectors.canary",
        "connectors.change",
        "connectors.triage",
        "connectors.history",
        "connectors.registry",
        "connectors.paths",
        "connectors.redact",
        "connectors.audit",
        "connectors.demo",
        "connectors.kube.contexts",
        "connectors.probe",
        "connectors.match",
        "connectors.health",
        "connectors.bundle",
    )
    offenders = []
    for path in sorted((ROOT / "tui").rglob("*.py")):
        if path.relative_to(ROOT).as_posix() == "tui/cli/lifecycle.py":
            continue  # the command line wires concrete connectors together here, and only here
        for name in _imports(path):
            if (
                name.startswith("connectors")
                and name != "connectors"
                and not name.startswith(allowed_prefixes)
            ):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_the_consoles_first_view_loads_without_yaml_the_model_or_the_connector_interface() -> None:
    """What the first frame needs is kept small (bench/bench_tui_startup.py measures the time): the
    gateway, its model and PyYAML load in the console's worker after the first frame."""
    code = (
        "import sys\n"
        "import tui.app, tui.screens.routes\n"
        "heavy = ('yaml', 'connectors.base', 'connectors.model', 'connectors.metrics', 'httpx')\n"
        "print(','.join(sorted(m for m in sys.modules if m.startswith(heavy))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
