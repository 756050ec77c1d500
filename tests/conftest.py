"""Shared pytest plugins: each capability keeps its fixtures in its own module, listed here."""

pytest_plugins: list[str] = [
    "tests.kube_emulator.fixtures",
    "tests.native_support",
    "tests.prometheus_support",
]
