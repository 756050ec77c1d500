"""Merging an operator's edited route into the current one, and checking what the edit asks for.

Only weights, rate limit, CORS, fault injection and deny rules are written by the Kubernetes
connectors; an edited route is compared with the cluster's current route to find which of those it
changes.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..base import EditKind
from ..errors import Problem, ValidationError
from ..model import Route, WeightedBackend
from ..model.deny import deny_problems
from ..model.fault import fault_problems
from ..model.validate import cors_problems, route_problems, weight_problems


def edit_field(route: Route, kind: EditKind) -> Any:
    if kind == "weights":
        return tuple((b.name, b.weight) for b in route.backends)
    return getattr(route, kind)


def edit_kinds(before: Route, requested: Route) -> set[EditKind]:
    kinds: set[EditKind] = set()
    if {b.name: b.weight for b in before.backends} != {b.name: b.weight for b in requested.backends}:
        kinds.add("weights")
    if before.rate_limit != requested.rate_limit:
        kinds.add("rate_limit")
    if before.cors != requested.cors:
        kinds.add("cors")
    if before.fault != requested.fault:
        kinds.add("fault")
    if before.deny != requested.deny:
        kinds.add("deny")
    return kinds


def merge_edit(before: Route, requested: Route) -> tuple[Route, set[EditKind], list[Problem]]:
    """The current route with the requested weights, rate limit, CORS, fault and deny rules."""
    kinds = edit_kinds(before, requested)
    problems: list[Problem] = []
    after = before
    if "weights" in kinds:
        have = [b.name for b in before.backends]
        asked = {b.name: b.weight for b in requested.backends}
        unknown = [n for n in asked if n not in have]
        if unknown:
            problems.append(
                Problem(
                    f"routes.{before.name}.backends",
                    f"backends cannot be added or removed here, only weighted: {', '.join(unknown)} "
                    f"{'is' if len(unknown) == 1 else 'are'} not on the route (it has {', '.join(have)})",
                )
            )
        after = replace(
            after,
            backends=tuple(WeightedBackend(b.name, asked.get(b.name, b.weight)) for b in before.backends),
        )
    if "rate_limit" in kinds:
        after = replace(after, rate_limit=requested.rate_limit)
    if "cors" in kinds:
        after = replace(after, cors=requested.cors)
    if "fault" in kinds:
        after = replace(after, fault=requested.fault)
    if "deny" in kinds:
        after = replace(after, deny=requested.deny)
    return after, kinds, problems


def model_problems(after: Route, kinds: set[EditKind], path: str) -> list[Problem]:
    out: list[Problem] = []
    if "weights" in kinds:
        out += weight_problems(after, path)
    if "cors" in kinds and after.cors is not None:
        out += cors_problems(after.cors, f"{path}.cors")
    if "fault" in kinds and after.fault is not None:
        out += fault_problems(after.fault, f"{path}.fault")
    if "deny" in kinds and after.deny is not None:
        out += deny_problems(after.deny, f"{path}.deny")
    if "rate_limit" in kinds and after.rate_limit is not None:
        probe = Route(name="probe", backends=(WeightedBackend("probe", 100),), rate_limit=after.rate_limit)
        out += [
            Problem(path + p.path.removeprefix("probe"), p.message)
            for p in route_problems(probe, "probe")
            if p.path.startswith("probe.rate_limit")
        ]
    return out


_IGNORED = ("hosts", "matches", "jwt", "timeout", "retries", "circuit_breaker", "mirror", "headers")


def ignored_fields(before: Route, requested: Route) -> list[str]:
    differing = [k for k in _IGNORED if getattr(before, k) != getattr(requested, k)]
    if not differing:
        return []
    return [
        f"route {before.name}: {', '.join(differing)} differ from the cluster's and are left as they are "
        "(only weights, rate limit, CORS, faults and deny rules are written)"
    ]


ALL_AFFECTED_HINT = "plan it again choosing to change them all (--all-affected)"


def shared_reach(edited: list[str], others: list[str], allowed: bool) -> list[str]:
    """Refuse an edit of ``edited`` that also changes ``others`` (routes or workloads, described),
    unless the operator ``allowed`` it; then it is a warning naming them all."""
    if not others:
        return []
    text = f"this change also affects {', '.join(others)} (they share an object it edits)"
    if not allowed:
        raise ValidationError([Problem(f"routes.{edited[0]}", f"{text}; {ALL_AFFECTED_HINT}")])
    return [f"{text}: they change too, as chosen"]
