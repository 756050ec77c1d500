"""What a plan changes in Envoy, resource by resource (never whole-file diffs: a gateway may have
10,000 routes), and which warnings an operator should read before applying."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..base import NativeChange
from ..model import Backend, Gateway, Route
from ..model.buckets import bucket_note
from ..model.diff import json_diff
from . import listener_paths
from .names import cluster_name
from .render import Layout, listener_routes
from .render_deny import has_deny
from .render_fault import has_fault
from .render_limits import has_bucket, has_limiter, refills, summary
from .render_listener import PATH_HANDLING, has_cors, jwt_providers, jwt_requirement, listener
from .render_routes import cluster, cluster_backends, route_entries


def changed_route_names(old: Gateway, new: Gateway) -> list[str]:
    before = {r.name: r for r in old.routes}
    after = {r.name: r for r in new.routes}
    names = [r.name for r in new.routes if before.get(r.name) is not r and before.get(r.name) != r]
    names += [n for n in before if n not in after]
    if old.backends != new.backends:
        changed = {b.name for b in old.backends} ^ {b.name for b in new.backends}
        changed |= {b.name for b in set(old.backends) ^ set(new.backends)}
        names += [r.name for r in new.routes if r.name not in names and set(cluster_backends(r)) & changed]
    return names


def _clusters(route: Route | None, backends: dict[str, Backend]) -> dict[str, dict[str, Any]]:
    if route is None:
        return {}
    return {
        cluster_name(route.name, n): cluster(route, backends[n])
        for n in cluster_backends(route)
        if n in backends
    }


def route_resources(route: Route | None, backends: dict[str, Backend]) -> dict[str, Any]:
    """The Envoy objects behind one route, by label: RDS entries, clusters, its limiter (ECDS) and JWT."""
    if route is None:
        return {}
    out: dict[str, Any] = {f"routes/{route.name} (RDS)": list(route_entries(route))}
    for name, c in _clusters(route, backends).items():
        out[f"clusters/{name} (CDS)"] = c
    limiter = summary(route)
    if limiter is not None:
        out[f"rate_limit/{route.name} (ECDS)"] = limiter
    req = jwt_requirement(route)
    if req is not None:
        out[f"listeners/jwt/{route.name} (LDS)"] = {"requirement": req, "providers": jwt_providers(route)}
    return out


def native_changes(
    old: Gateway, new: Gateway, names: Sequence[str], layout: Layout, upgraded: Sequence[str] = ()
) -> list[NativeChange]:
    """The Envoy objects a plan changes; ``upgraded``: listeners an older version wrote, which the
    change rewrites with this version's path handling (listener_paths)."""
    before = {r.name: r for r in old.routes}
    after = {r.name: r for r in new.routes}
    old_b = {b.name: b for b in old.backends}
    new_b = {b.name: b for b in new.backends}
    out: list[NativeChange] = []
    for name in names:
        a = route_resources(before.get(name), old_b)
        b = route_resources(after.get(name), new_b)
        for label in dict.fromkeys([*a, *b]):
            if a.get(label) != b.get(label):
                out.append(NativeChange(label, json_diff(a.get(label), b.get(label), label)))
    for lname in cors_filter_flips(old, new, names):
        label = f"listeners/{lname}/cors filter (LDS)"
        now = has_cors(listener_routes(new, lname))  # a flip: it was the opposite before
        out.append(NativeChange(label, json_diff({"cors_filter": not now}, {"cors_filter": now}, label)))
    for lname, (had, has) in limiter_slot_changes(old, new, names).items():
        label = f"listeners/{lname}/rate limiters (LDS)"
        out.append(NativeChange(label, json_diff({"limiters": had}, {"limiters": has}, label)))
    for lname in deny_filter_flips(old, new, names):
        label = f"listeners/{lname}/rbac filter (LDS)"
        now = has_deny(listener_routes(new, lname))
        out.append(NativeChange(label, json_diff({"rbac_filter": not now}, {"rbac_filter": now}, label)))
    for lname in filter_flips(old, new, names, has_fault):
        label = f"listeners/{lname}/fault filter (LDS)"
        now = has_fault(listener_routes(new, lname))
        out.append(NativeChange(label, json_diff({"fault_filter": not now}, {"fault_filter": now}, label)))
    served = listener_paths.served(layout) if upgraded else {}
    for lname in upgraded:
        label = f"listeners/{lname}/path handling (LDS)"
        was = served[lname].hcm_fields() if lname in served else None
        out.append(NativeChange(label, json_diff(was, PATH_HANDLING.hcm_fields(), label)))
    if old.listeners != new.listeners:
        olds = {x.name: x for x in old.listeners}
        news = {x.name: x for x in new.listeners}
        for lname in dict.fromkeys([*olds, *news]):
            if olds.get(lname) == news.get(lname):
                continue
            label = f"listeners/{lname} (LDS)"

            def shape(gw: Gateway, lname: str, table: dict[str, Any]) -> dict[str, Any] | None:
                lst = table.get(lname)
                if lst is None:
                    return None
                res = listener(lst, listener_routes(gw, lname), layout.rds(lname), None, ())
                res["filter_chains"] = "…"  # the filters are shown per route above
                return res

            out.append(
                NativeChange(label, json_diff(shape(old, lname, olds), shape(new, lname, news), label))
            )
    return out


def warnings(
    old: Gateway, new: Gateway, names: Sequence[str], rds_only: bool, upgraded: Sequence[str] = ()
) -> list[str]:
    out = bucket_warnings(old, new, names, rds_only, upgraded)
    before = {r.name: r for r in old.routes}
    after = {r.name: r for r in new.routes}
    for name in names:
        r = after.get(name)
        was = before.get(name)
        note = bucket_note(name, was.rate_limit if was else None, r.rate_limit if r else None)
        if note:
            out.append(note)
        if r is not None and r.backends and all(b.weight == 0 for b in r.backends):
            out.append(f"route {name}: every backend has weight 0, requests will fail with 503")
    return out


def _some(names: Sequence[str], at_most: int = 8) -> str:
    shown = ", ".join(names[:at_most])
    return shown + (f" and {len(names) - at_most} more" if len(names) > at_most else "")


def bucket_warnings(
    old: Gateway, new: Gateway, names: Sequence[str], rds_only: bool, upgraded: Sequence[str] = ()
) -> list[str]:
    """Exactly which rate-limit buckets start full again. A listener rewrite rebuilds every
    limiter (and drains the listener); otherwise only the routes whose limiter file changed."""
    limited = [r.name for r in new.routes if has_bucket(r)]
    if not rds_only:
        why = listener_reasons(old, new, names, upgraded)
        head = "this change rewrites the listener" + (f" ({why})" if why else "")
        if not limited:
            return [f"{head}: Envoy closes keep-alive connections within about 1 s"]
        return [
            f"{head}: every rate-limit bucket starts full again ({_some(limited)}); Envoy closes "
            "keep-alive connections within about 1 s (keep-alive connections keep their old buckets "
            "until they close)"
        ]
    before = {r.name: r for r in old.routes}
    after = {r.name: r for r in new.routes}
    refilled = [n for n in names if refills(before.get(n), after.get(n))]
    if not refilled:
        return []
    others = (
        "every other route's bucket is kept" if len(limited) > len(refilled) else "no other route has one"
    )
    return [
        f"rate limit of route {_some(refilled)}: its bucket starts full again; {others}, "
        "and no connection is dropped (the limit is its own ECDS resource: the listener is not rewritten)"
    ]


def listener_reasons(old: Gateway, new: Gateway, names: Sequence[str], upgraded: Sequence[str] = ()) -> str:
    """Why the listener is rewritten, when it is one of the filters that come and go, or once after
    an upgrade (``upgraded``: listeners an older version wrote, which did not normalise paths)."""
    out: list[str] = [
        f"listener {lname} does not normalise request paths (written by an older gatewayctl-tui): "
        f"it now does ({PATH_HANDLING.describe()}), so /x/../limited meets the route for /limited"
        for lname in upgraded
    ]
    for had, has in limiter_slot_changes(old, new, names).values():
        out += [f"{n} gains a rate limiter" for n in has if n not in had]
        out += [f"{n} loses its rate limiter" for n in had if n not in has]
    for lname in cors_filter_flips(old, new, names):
        now = has_cors(listener_routes(new, lname))
        out.append(f"the CORS filter is {'added to' if now else 'removed from'} {lname}")
    for lname in deny_filter_flips(old, new, names):
        now = has_deny(listener_routes(new, lname))
        out.append(f"the deny (RBAC) filter is {'added to' if now else 'removed from'} {lname}")
    return "; ".join(dict.fromkeys(out))


def limiter_slot_changes(
    old: Gateway, new: Gateway, names: Sequence[str] | None = None
) -> dict[str, tuple[list[str], list[str]]]:
    """Listeners whose limiter slots change (a route gains its first limit or loses it): the
    limited routes before and after, by listener."""
    before = {r.name: r for r in old.routes}
    after = {r.name: r for r in new.routes}
    candidates = names if names is not None else dict.fromkeys([*before, *after])

    def slot(route: Route | None) -> bool:
        return route is not None and has_limiter(route)

    if all(slot(before.get(n)) == slot(after.get(n)) for n in candidates):
        return {}
    out: dict[str, tuple[list[str], list[str]]] = {}
    for x in new.listeners:
        was = [r.name for r in listener_routes(old, x.name) if has_limiter(r)]
        now = [r.name for r in listener_routes(new, x.name) if has_limiter(r)]
        if was != now:
            out[x.name] = (was, now)
    return out


def lds_relevant(route: Route | None) -> Any:
    """The parts of a route that live in the listener (so changing them rewrites LDS)."""
    if route is None:
        return None
    return (has_limiter(route), jwt_requirement(route), jwt_providers(route), route.listener)


def cors_filter_flips(old: Gateway, new: Gateway, names: Sequence[str] | None = None) -> list[str]:
    """Listeners that gain or lose the CORS filter (present while one of their routes has a policy);
    ``names``: the routes that differ, when known."""
    before = {r.name: r for r in old.routes}
    after = {r.name: r for r in new.routes}

    def cors_of(route: Route | None) -> bool:
        return route is not None and route.cors is not None

    candidates = names if names is not None else dict.fromkeys([*before, *after])
    if all(cors_of(before.get(n)) == cors_of(after.get(n)) for n in candidates):
        return []  # no route gained or lost a policy: no listener can have flipped
    return [
        x.name
        for x in new.listeners
        if has_cors(listener_routes(old, x.name)) != has_cors(listener_routes(new, x.name))
    ]


def touches_listener(old: Gateway, new: Gateway, names: Sequence[str] | None = None) -> bool:
    """Whether going from ``old`` to ``new`` changes the listeners (LDS); ``names``: the routes
    that differ, when known."""
    if old.listeners != new.listeners or old.access_log != new.access_log:
        return True
    before = {r.name: r for r in old.routes}
    after = {r.name: r for r in new.routes}
    for name in names if names is not None else dict.fromkeys([*before, *after]):
        b, a = before.get(name), after.get(name)
        if b is a:
            continue
        if lds_relevant(b) != lds_relevant(a):
            return True
    return (
        bool(cors_filter_flips(old, new, names))
        or bool(deny_filter_flips(old, new, names))
        or bool(filter_flips(old, new, names, has_fault))
    )


def deny_filter_flips(old: Gateway, new: Gateway, names: Sequence[str] | None = None) -> list[str]:
    """Listeners that gain or lose the RBAC filter (present while one of their routes denies someone)."""
    return filter_flips(old, new, names, has_deny)


def filter_flips(
    old: Gateway, new: Gateway, names: Sequence[str] | None, present: Callable[[Sequence[Route]], bool]
) -> list[str]:
    """Listeners that gain or lose a filter that is there while ``present`` says so of their routes."""
    before = {r.name: r for r in old.routes}
    after = {r.name: r for r in new.routes}
    candidates = names if names is not None else dict.fromkeys([*before, *after])
    if all(present(_one(before.get(n))) == present(_one(after.get(n))) for n in candidates):
        return []
    return [
        x.name
        for x in new.listeners
        if present(listener_routes(old, x.name)) != present(listener_routes(new, x.name))
    ]


def _one(route: Route | None) -> list[Route]:
    return [route] if route is not None else []
