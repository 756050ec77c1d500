"""Invalid YAML is reported with line and column; the parsed-data cache never serves a stale file."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.errors import ConfigSyntaxError
from connectors.native.config_cache import load_config_data


def test_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "gw.yaml"
    path.write_text("name: x\nroutes:\n  - name: a\n    backends: [v1\n  - name: b\n")
    with pytest.raises(ConfigSyntaxError) as info:
        load_config_data(path)
    assert info.value.line == 5
    assert "line 5, column" in str(info.value)


def test_cache_is_used_only_while_the_file_is_unchanged(tmp_path: Path) -> None:
    path, cache = tmp_path / "gw.yaml", tmp_path / "cache.json"
    path.write_text("name: one\n")
    assert load_config_data(path, cache)[0] == {"name": "one"}
    assert cache.exists()
    path.write_text("name: two\n")
    assert load_config_data(path, cache)[0] == {"name": "two"}
    cache.write_text("{not json")
    assert load_config_data(path, cache)[0] == {"name": "two"}
