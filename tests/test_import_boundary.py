"""connectors/ never imports textual or tui; tui/ reaches connectors only through their interface and
the registry; inside connectors/ the floors run one way: connectors -> metrics -> model."""

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


def _resolved_imports(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports made absolute (lazy and TYPE_CHECKING ones too)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{a.name}" for a in node.names)
    return names


def _offenders(files: list[Path], forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    out = []
    for path in files:
        for name in sorted(_resolved_imports(path)):
            if name.startswith(forbidden) and not name.startswith(allowed):
                out.append(f"{path.relative_to(ROOT)} imports {name}")
    return out


def _py(*parts: str) -> list[Path]:
    return sorted(ROOT.joinpath(*parts).rglob("*.py"))


def test_metrics_imports_only_the_model_and_its_contract() -> None:
    allowed = ("connectors.metrics", "connectors.model", "connectors.errors", "connectors.metrics_contract")
    assert _offenders(_py("connectors", "metrics"), ("connectors",), allowed) == []


def test_the_model_imports_nothing_of_the_connectors() -> None:
    allowed = ("connectors.model", "connectors.errors")
    assert _offenders(_py("connectors", "model"), ("connectors",), allowed) == []


def test_connectors_do_not_import_metrics_only_their_factories_wire_it() -> None:
    files = [p for p in _py("connectors", "native") + _py("connectors", "kube") if p.name != "factory.py"]
    assert _offenders(files, ("connectors.metrics",), ("connectors.metrics_contract",)) == []


def test_only_the_neutral_process_module_spawns_children() -> None:
    """Envoy and the demo's Prometheus are started by ``connectors.process`` alone; the demo's
    Prometheus lives in the demo, and metrics takes nothing from native."""
    spawners = [p for p in _py("connectors") if "Popen(" in p.read_text(encoding="utf-8")]
    assert [str(p.relative_to(ROOT)) for p in spawners] == ["connectors/process.py"]
    assert _offenders(_py("connectors", "metrics"), ("connectors.native", "connectors.demo")) == []


def test_tui_imports_no_concrete_connector() -> None:
    concrete = ("connectors.native", "connectors.kube", "kubernetes", "envoy", "prometheus_api_client")
    assert _offenders(_py("tui"), concrete) == []


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
        "connectors.probe",
        "connectors.match",
        "connectors.health",
        "connectors.bundle",
        "connectors.shadow",
    )
    offenders = []
    for path in sorted((ROOT / "tui").rglob("*.py")):
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
