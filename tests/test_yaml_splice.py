"""Persisting an edit keeps the operator's comments, key order and formatting outside what changed."""

from __future__ import annotations

import yaml

from connectors.model import RateLimit, gateway_from_dict
from connectors.model.edits import set_rate_limit, set_weights
from connectors.native.yaml_splice import splice_routes

TEXT = """# Demo gateway
name: demo   # the name
listeners:
  - name: main
    port: 10000
backends:
  - name: v1
    endpoints: ["127.0.0.1:1"]
  - name: v2
    endpoints: ["127.0.0.1:2"]
routes:
  # the shop
  - name: shop
    hosts: [shop.local]     # flow style kept
    match: {prefix: /}
    backends:
      - name: v1   # stable
        weight: 90
      - name: v2   # canary
        weight: 10
    rate_limit: {requests: 5, per: 1m}

  - name: "api"
    hosts:
      - api.local
    backends:
      - {name: v1, weight: 100}
# trailing comment
access_log: true
"""


def _changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.split("\n"), after.split("\n")
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def test_weight_edit_changes_only_weight_lines() -> None:
    gw = gateway_from_dict(yaml.safe_load(TEXT))
    shop = gw.route("shop")
    out = splice_routes(TEXT, [(shop, set_weights(shop, {"v1": 50, "v2": 50}))])
    assert out is not None
    assert _changed_lines(TEXT, out) == [
        ("        weight: 90", "        weight: 50"),
        ("        weight: 10", "        weight: 50"),
    ]
    assert gateway_from_dict(yaml.safe_load(out)).route("shop").backends[1].weight == 50


def test_alias_spelling_and_flow_style_are_kept() -> None:
    gw = gateway_from_dict(yaml.safe_load(TEXT))
    shop = gw.route("shop")
    out = splice_routes(TEXT, [(shop, set_rate_limit(shop, RateLimit(10, 60.0)))])
    assert out is not None
    assert _changed_lines(TEXT, out) == [
        ("    rate_limit: {requests: 5, per: 1m}", "    rate_limit: {requests: 10, per: 1m}")
    ]


def test_adding_a_policy_keeps_neighbours_and_omitted_defaults() -> None:
    gw = gateway_from_dict(yaml.safe_load(TEXT))
    api = gw.route("api")
    out = splice_routes(TEXT, [(api, set_rate_limit(api, RateLimit(3, 1.0)))])
    assert out is not None
    assert "match:" not in out.split('- name: "api"')[1]  # the file never spelled out the default match
    assert out.startswith(TEXT.split('  - name: "api"')[0])  # everything before the route is untouched
    assert out.endswith("# trailing comment\naccess_log: true\n")
    assert gateway_from_dict(yaml.safe_load(out)).route("api").rate_limit == RateLimit(3, 1.0)


def test_unusual_layout_falls_back() -> None:
    flow = (
        "name: x\nlisteners: [{name: m, port: 1}]\nbackends: [{name: v1, endpoints: ['a:1']}]\n"
        "routes: [{name: r, backends: [{name: v1, weight: 100}]}]\n"
    )
    gw = gateway_from_dict(yaml.safe_load(flow))
    r = gw.route("r")
    assert splice_routes(flow, [(r, set_rate_limit(r, RateLimit(1)))]) is None
