"""connectors/ never imports textual or tui; tui/ reaches connectors only through their interface and
the registry; inside connectors/ the floors run one way: connectors -> metrics -> model.

The shape is written down as import-linter contracts in pyproject.toml; these tests run `lint-imports`
on the tree (each contract on its own, so a failure names it) and prove each contract can fail.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONTRACTS = {
    c["id"]: c["name"]
    for c in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"][
        "contracts"
    ]
}
# Broken on main until the restructuring of issue 9 lands (the `registry` branch moves the demo's
# Prometheus into demo/ and discovers connectors through entry points; the `pipeline` branch turns
# tui/cli.py into a package that names no concrete connector). strict: when they pass, drop the mark.
# One module per contract that breaks it: (contract, module in the copied tree, source added to it,
# what lint-imports must name in that contract's report).
VIOLATIONS = [
    ("faces-on-top", "connectors/errors_ui.py", "import tui.app\n", "connectors.errors_ui"),
    ("floors", "connectors/model/leak.py", "from connectors import base\n", "connectors.model.leak"),
    ("floors", "connectors/unplaced.py", "X = 1\n", "connectors.unplaced"),
    ("no-textual-below-faces", "connectors/metrics/widget.py", "import textual.widget\n", "textual"),
    ("model-no-io", "connectors/model/fetch.py", "import subprocess\n", "connectors.model.fetch"),
    ("model-no-io", "connectors/model/save.py", "from pathlib import Path\n", "connectors.model.save"),
    ("faces-use-the-interface", "tui/peek.py", "import kubernetes\n", "tui.peek"),
    ("faces-use-the-interface", "tui/rows.py", "from connectors.native import render\n", "tui.rows"),
    (
        "ops-use-the-interface",
        "connectors/triage.py",
        "import connectors.native.admin\n",
        "connectors.triage",
    ),
    (
        "no-cycles",
        "connectors/model/durations.py",
        "from connectors.model import types\n",
        "cycles are allowed in connectors.model.",
    ),
]


def _lint_imports(cwd: Path) -> dict[str, str]:
    """Each contract's verdict line and, when broken, its report: {id: "KEPT"} or {id: "BROKEN\n..."}."""
    # PYTHONPATH first, so a copied tree is analysed rather than the editable install; wide lines so
    # that no contract name wraps.
    env = {**os.environ, "PYTHONPATH": str(cwd), "COLUMNS": "1000"}
    args = [str(LINT_IMPORTS), "--no-cache", "--no-logo"]
    out = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120).stdout
    summary, _, broken = out.partition("Broken contracts")
    verdicts: dict[str, str] = {}
    for cid, name in CONTRACTS.items():
        line = next((ln for ln in summary.splitlines() if ln.startswith(name + " ")), "")
        verdicts[cid] = line.removeprefix(name + " ")
        heading = f"\n{name}\n{'-' * len(name)}\n"
        if heading in broken:
            report = broken.split(heading, 1)[1]
            ends = [report.find(f"\n{other}\n-") for other in CONTRACTS.values() if other != name]
            verdicts[cid] += "\n" + report[: min([e for e in ends if e >= 0], default=len(report))]
    return verdicts


@pytest.fixture(scope="module")
def verdicts() -> dict[str, str]:
    return _lint_imports(ROOT)


@pytest.mark.parametrize("contract", CONTRACTS)
def test_lint_imports_keeps_the_contract(verdicts: dict[str, str], contract: str) -> None:
    assert verdicts[contract] == "KEPT", verdicts[contract]


@pytest.fixture(scope="module")
def broken_verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """lint-imports on a copy of the tree with every module of VIOLATIONS added."""
    root = tmp_path_factory.mktemp("shape")
    for package in ("connectors", "tui"):
        shutil.copytree(ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    for _, module, source, _ in VIOLATIONS:
        path = root / module
        path.write_text(
            (path.read_text(encoding="utf-8") if path.exists() else "") + source, encoding="utf-8"
        )
    return _lint_imports(root)


@pytest.mark.parametrize(("contract", "module", "source", "named"), VIOLATIONS)
def test_lint_imports_fails_when_a_module_breaks_the_contract(
    broken_verdicts: dict[str, str], contract: str, module: str, source: str, named: str
) -> None:
    # It must name the addition, not merely be broken.
    verdict = broken_verdicts[contract]
    assert verdict.startswith("BROKEN\n") and named in verdict, verdict


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
    """The UI, the command line included, may import the interface (base, errors, model, metrics
    types, the registry) but no concrete connector: it finds them through the registry."""
    allowed_prefixes = (
        "connectors.base",
        "connectors.capabilities",
        "connectors.errors",
        "connectors.model",
        "connectors.metrics",
        "connectors.canary",
        "connectors.change",
        "connectors.triage",
        "connectors.client_share",
        "connectors.split",
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
        "connectors.timeboxes",
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
