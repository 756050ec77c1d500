"""Deny rules of an Istio route: one AuthorizationPolicy ``action: DENY`` per route, at its Gateway.

The policy selects the route's Gateway workload (the Gateway's ``selector``; it lives in the root
namespace, as the rate-limit EnvoyFilters do, so it reaches those pods wherever they run) and each
rule is one denied client narrowed to the route by ``to.operation`` (its hosts, with any port, and
its paths):

    rules:
    - to: [{operation: {hosts: [shop.example, "shop.example:*"], paths: ["/api*"]}}]
      when: [{key: "request.headers[x-user-id]", values: [crawler-7]}]
    - from: [{source: {remoteIpBlocks: [203.0.113.0/24]}}]
      to: [...]

``remoteIpBlocks`` is the client's address as the gateway works it out (X-Forwarded-For with the
mesh's trusted proxies), ``ipBlocks`` the peer's; both are read. Istio refuses with 403 only. The
policy is named after the route and created and deleted with its first and last client, so undoing
a deny leaves nothing behind.
"""

from __future__ import annotations

import re

from ...errors import Problem
from ...model import Deny, DenyClient, Route
from ..objects import MANAGED_BY_LABEL, MANAGER, is_ours
from ..resources import JsonDict, ObjKey, Resource
from ..store import Store, Workspace
from .common import RouteContext

_HEADER_KEY = re.compile(r"^request\.headers\[([^\]]+)\]$")


def policy_name(ctx: RouteContext, route: str) -> str:
    """``gatewayctl-deny-<namespace>-<route>`` as a DNS-1123 name."""
    raw = f"gatewayctl-deny-{ctx.namespace}-{route}".lower()
    return re.sub(r"[^a-z0-9.-]", "-", raw)[:253].strip("-.")


def policy_key(res: Resource, ctx: RouteContext, route: str, root: str) -> ObjKey:
    return ObjKey.of(res, root, policy_name(ctx, route))


def problems(ctx: RouteContext, deny: Deny | None, path: str) -> list[Problem]:
    """What an Istio deny cannot say for this route."""
    if deny is None:
        return []
    out = []
    if deny.status != 403:
        out.append(Problem(f"{path}.deny.status", "Istio's AuthorizationPolicy refuses with 403 only"))
    if not ctx.gateways:
        out.append(
            Problem(
                f"{path}.deny",
                "a mesh route (no Gateway): its deny would sit on every destination sidecar; this tool "
                "denies clients at a Gateway only",
            )
        )
    selectors = {gw.selector for gw in ctx.gateways}
    if None in selectors:
        missing = next(gw for gw in ctx.gateways if gw.selector is None)
        out.append(
            Problem(
                f"{path}.deny",
                f"Gateway {missing.namespace}/{missing.name} was not found (or cannot be read), so the "
                "proxies to deny at are unknown",
            )
        )
    elif len(selectors) > 1:
        out.append(
            Problem(f"{path}.deny", "the route's Gateways run on different workloads; deny at one of them")
        )
    return out


def _operation(route: Route, ctx: RouteContext) -> tuple[JsonDict, list[str]]:
    """``to.operation`` narrowing a rule to the route's hosts and paths, and what it cannot narrow."""
    op: JsonDict = {}
    hosts = [h for h in ctx.hosts if h != "*"]
    if hosts and len(hosts) == len(ctx.hosts):
        op["hosts"] = [x for h in hosts for x in (h, f"{h}:*")]  # a Host header may carry the port
    paths: list[str] = []
    loose = []
    for m in route.matches:
        if m.path.kind == "exact":
            paths.append(m.path.value)
        elif m.path.kind == "prefix" and m.path.value not in ("", "/"):
            paths.append(m.path.value + "*")
        elif m.path.kind == "prefix":
            paths = []
            break
        else:
            loose.append(f"the {m.path.kind} path {m.path.value}")
            paths = []
            break
    if paths:
        op["paths"] = list(dict.fromkeys(paths))
    if any(m.headers or m.methods for m in route.matches):
        loose.append("its header and method conditions")
    return op, loose


def _rule(client: DenyClient, to: list[JsonDict]) -> JsonDict:
    rule: JsonDict = {}
    if client.kind == "ip":
        rule["from"] = [{"source": {"remoteIpBlocks": [client.value]}}]
    if to:
        rule["to"] = to
    if client.kind == "header":
        rule["when"] = [{"key": f"request.headers[{client.name}]", "values": [client.value]}]
    return rule


def read(store: Store, res: Resource | None, ctx: RouteContext, route: str, root: str) -> Deny | None:
    """The route's deny rules, from the AuthorizationPolicy named after it."""
    if res is None:
        return None
    policy = store.get(policy_key(res, ctx, route, root))
    spec = (policy or {}).get("spec") or {}
    if spec.get("action") != "DENY":
        return None
    clients: list[DenyClient] = []
    for rule in spec.get("rules") or []:
        if not isinstance(rule, dict):
            continue
        for source in rule.get("from") or []:
            src = (source or {}).get("source") or {}
            for key in ("remoteIpBlocks", "ipBlocks"):
                clients += [DenyClient("ip", str(v)) for v in src.get(key) or []]
        for cond in rule.get("when") or []:
            m = _HEADER_KEY.match(str((cond or {}).get("key") or ""))
            if m:
                clients += [
                    DenyClient("header", str(v), m.group(1).lower()) for v in cond.get("values") or []
                ]
    return Deny(tuple(clients)) if clients else None


def write(
    ws: Workspace, res: Resource, route: Route, ctx: RouteContext, deny: Deny | None, root: str
) -> None:
    """Make the route's AuthorizationPolicy deny exactly ``deny``'s clients (delete it for none)."""
    key = policy_key(res, ctx, route.name, root)
    existing = ws.get(key)
    if deny is None or not deny.clients:
        if existing is not None and is_ours(existing):
            ws.delete(key)
        elif existing is not None:
            ws.edit(key)["spec"]["rules"] = []
        return
    op, loose = _operation(route, ctx)
    if loose:
        ws.warnings.append(
            f"route {route.name}: the deny cannot follow {' and '.join(loose)}; it applies to every "
            "request to the route's hosts" + (" and paths" if "paths" in op else "")
        )
    to = [{"operation": op}] if op else []
    rules = [_rule(c, to) for c in deny.clients]
    if existing is None:
        selector = dict(ctx.gateways[0].selector or ())
        ws.create(
            res,
            {
                "apiVersion": res.api_version,
                "kind": res.kind,
                "metadata": {
                    "name": key.name,
                    "namespace": key.namespace,
                    "labels": {MANAGED_BY_LABEL: MANAGER},
                },
                "spec": {"selector": {"matchLabels": selector}, "action": "DENY", "rules": rules},
            },
        )
        return
    spec = ws.edit(key).setdefault("spec", {})
    old = [r for r in spec.get("rules") or [] if isinstance(r, dict)]
    # Rules already as wanted stay as they are (same objects): the patch holds only what changes.
    spec["rules"] = [next((o for o in old if o == r), r) for r in rules]
    spec["action"] = "DENY"
