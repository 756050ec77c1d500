"""Headless ``triage`` grouped by source address (the default) says when that address is every
client: behind a load balancer or on localhost one address sends all a route's requests, so naming it
names nobody. The note (and the additive JSON field ``clients_note``) points at ``--by HEADER``.
A real native gateway and real requests from 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pytest

from connectors.native import NativeConnector
from tests.test_cli_oncall import cli, gw, send  # noqa: F401 - fixture
from tests.waiting import wait_until

NOTE = (
    "127.0.0.1 sent 100% of limited's requests: it is every client (a load balancer or localhost); "
    "try --by x-user-id"
)


def test_triage_by_source_says_the_address_is_every_client(
    gw: NativeConnector,  # noqa: F811 - fixture
    capsys: pytest.CaptureFixture[str],
) -> None:
    heavy = send(gw, "limited.test", 12, {"x-user-id": "crawler-7"})
    send(gw, "limited.test", 2, {"x-user-id": "alice"})
    assert heavy["429"] > 0

    def board() -> dict[str, Any] | None:
        rc, out, err = cli(gw, "triage", "--window", "5m", "-o", "json", capsys=capsys)
        assert rc == 0, err
        data: dict[str, Any] = json.loads(out)
        rows = [r for r in data["routes"] if r["route"] == "limited"]
        return data if rows and rows[0]["clients"] and rows[0]["limited"] >= heavy["429"] else None

    data = wait_until(board, every=0.5, what="the 429s in the access log")
    row = next(r for r in data["routes"] if r["route"] == "limited")
    assert row["clients"][0]["client"] == "127.0.0.1"
    assert row["clients_note"] == NOTE
    rc, out, _ = cli(gw, "triage", "--window", "5m", capsys=capsys)
    assert rc == 0
    lines = out.splitlines()
    at = next(
        i for i, line in enumerate(lines) if line.startswith("Top limited clients of limited by source")
    )
    assert lines[at + 1] == f"  {NOTE}", out

    rc, out, _ = cli(gw, "triage", "--window", "5m", "--by", "x-user-id", "-o", "json", capsys=capsys)
    row = next(r for r in json.loads(out)["routes"] if r["route"] == "limited")
    assert row["clients"][0]["client"] == "crawler-7" and row["clients_note"] is None
    rc, out, _ = cli(gw, "triage", "--window", "5m", "--by", "x-user-id", capsys=capsys)
    assert rc == 0
    assert "every client" not in out
