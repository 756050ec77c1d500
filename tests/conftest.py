"""Shared pytest plugins: each capability keeps its fixtures in its own module, listed here.

``./dev test`` runs the suite in parallel worker processes (pytest-xdist, ``--dist loadgroup``);
each worker is a separate process that loads this file, so what is set up here is per worker.
"""

from __future__ import annotations

import gc
import os
import tempfile

import pytest

from tests import ports

pytest_plugins: list[str] = [
    "tests.kube_emulator.fixtures",
    "tests.native_support",
    "tests.incident_support",
    "tests.prometheus_support",
    "tests.canary_support",
]

# The console caches parsed YAML under the user's cache directory and keeps state and settings under
# the XDG state and config directories; tests (and the processes they start, which inherit the
# environment) keep theirs out of the home directory, each worker in its own folders.
os.environ.setdefault("GATEWAYCTL_CACHE_DIR", tempfile.mkdtemp(prefix="gatewayctl-test-cache-"))
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="gatewayctl-test-state-")
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="gatewayctl-test-config-")

# A pytest-xdist worker starts with COLUMNS=80 in its environment although the controller's os.environ
# has none; a console a test starts in a pty of its own size would take that width instead.
if "PYTEST_XDIST_WORKER" in os.environ:
    for name in ("COLUMNS", "LINES"):
        os.environ.pop(name, None)

# Ports the tests' servers get cannot be handed to another worker's at the same time.
ports.install()

# Files whose tests take several seconds each (`./dev test --durations=40` lists them): a worker
# starts theirs first, so that none of them is left to start when the other workers are nearly done.
SLOW_FILES = frozenset(
    {
        "test_native_crash_strace.py",
        "test_native_crash.py",
        "test_native_supervisor.py",
        "test_native_reverts.py",
        "test_triage.py",
        "test_kube_undo.py",
        "test_kube_reference.py",
        "test_metrics_demo.py",
        "test_oncall_stories.py",
        "test_oncall_canary_stories.py",
        "test_oncall_triage_stories.py",
        "test_tui_safe_keys.py",
        "test_tui_stories.py",
        "test_tui_timebox.py",
        "test_tui_triage_clients.py",
        "test_tui_deny_form.py",
        "test_tui_forms_outside.py",
        "test_tui_table_keys.py",
        "test_oncall_canary_stale.py",
        "test_truth2_claims.py",
        "test_stale_figures.py",
        "test_metrics_sources.py",
        "test_metrics_counts.py",
    }
)

# Module-scoped fixtures cheap enough to set up again on every worker: a module whose tests share
# only these is spread over the workers test by test.
CHEAP_MODULE_FIXTURES = frozenset({"backends"})


def _shares_module_state(item: pytest.Item) -> bool:
    """Whether the test uses a module- (or class-, package-) scoped fixture worth setting up once."""
    if not isinstance(item, pytest.Function):
        return False
    return any(
        defs[-1].scope in ("module", "class", "package") and name not in CHEAP_MODULE_FIXTURES
        for name, defs in item._fixtureinfo.name2fixturedefs.items()
        if defs
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under ``--dist loadgroup`` a module whose tests share an expensive module-scoped fixture (a
    Prometheus, a gateway under measured traffic) runs on one worker, in file order, and sets the
    fixture up once, as in a serial run; every other test goes to whichever worker is free, the
    ``SLOW_FILES`` first (in a worker: a serial run keeps the files' order)."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None and _shares_module_state(item):
            item.add_marker(pytest.mark.xdist_group(item.path.name))
    if "PYTEST_XDIST_WORKER" in os.environ:
        items.sort(key=lambda item: item.path.name not in SLOW_FILES)  # stable: file order kept


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure() -> None:
    """At the end pytest collects garbage five times over (to report exceptions raised in ``__del__``):
    a second or two per worker over a heap of hundreds of apps' worth of objects. Collect once here,
    where such exceptions are still reported, then freeze what survived, so the five passes skip it."""
    gc.collect()
    gc.freeze()
