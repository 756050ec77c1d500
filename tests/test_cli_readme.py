"""The README stays true: its native YAML example is a valid gateway, its commands parse, and CI runs
exactly the test command it gives."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from connectors.model import gateway_from_dict, gateway_problems
from connectors.native.connector import native_problems
from tui.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, re.S)


def _commands() -> list[str]:
    """Every ``gatewayctl-tui ...`` line of the README's shell blocks, continuations joined."""
    found = []
    for block in _blocks(README, "sh"):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line.startswith("gatewayctl-tui "):
                found.append(line)
    return found


def test_the_native_yaml_example_is_a_valid_gateway_using_every_route_field() -> None:
    (example,) = _blocks(_section("The native YAML format"), "yaml")
    gw = gateway_from_dict(yaml.safe_load(example))
    assert gateway_problems(gw) == [] and native_problems(gw) == []
    route = gw.routes[0]
    unset = [
        f
        for f in ("rate_limit", "cors", "jwt", "timeout", "retries", "circuit_breaker", "mirror", "headers")
        if not getattr(route, f)
    ]
    assert unset == [], "the full example should show every policy"


def test_every_field_of_the_example_route_is_documented_in_the_table() -> None:
    (example,) = _blocks(_section("The native YAML format"), "yaml")
    route_keys = set(yaml.safe_load(example)["routes"][0])
    documented = set(re.findall(r"^\| `([a-z_]+)`", _section("The native YAML format"), re.M))
    assert route_keys - {"matches"} <= documented


@pytest.mark.parametrize("command", _commands())
def test_every_readme_command_is_a_valid_command_line(command: str) -> None:
    argv = shlex.split(command, comments=True)[1:]
    build_parser().parse_args(argv)  # raises UsageError on anything the CLI would refuse as usage


def test_ci_runs_exactly_the_readme_test_command() -> None:
    fresh_clone = _blocks(_section("Two commands for a fresh clone"), "sh")[0]
    assert "./dev demo" in fresh_clone and "./dev test" in fresh_clone
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^\./dev test\b", ci, re.M)
    assert ci.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in ci
