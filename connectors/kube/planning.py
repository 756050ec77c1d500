"""Merging an operator's edited routes into the current ones, and checking what the edits ask for.

Only weights, rate limit, CORS, fault injection and deny rules are written by the Kubernetes
connectors; an edited route is compared with the cluster's current route to find which of those it
changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

from ..base import EditKind
from ..errors import NotFound, Problem, ValidationError
from ..model import RateLimit, Route, WeightedBackend
from ..model.buckets import bucket_note, bucket_problems
from ..model.deny import deny_problems
from ..model.fault import fault_problems
from ..model.validate import cors_problems, route_problems, weight_problems
from .modelled import Binding, Edit, Modelled

EditProblems = Callable[[Binding, Route, set[EditKind], str], list[Problem]]
"""What a flavour's objects cannot express of an edited route (binding, route, kinds, field path)."""


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
        after = replace(after, rate_limit=normal_limit(requested.rate_limit))
    if "cors" in kinds:
        after = replace(after, cors=requested.cors)
    if "fault" in kinds:
        after = replace(after, fault=requested.fault)
    if "deny" in kinds:
        after = replace(after, deny=requested.deny)
    return after, kinds, problems


def merge_edits(
    before_model: Modelled,
    requested: dict[str, Route],
    unsupported: dict[EditKind, str],
    edit_problems: EditProblems,
    *,
    restoring: bool = False,
) -> tuple[list[Edit], list[str]]:
    """Each requested route merged onto what the cluster holds now, with the kinds of edit it
    makes; raises ValidationError with every problem (edits the flavour cannot make, as
    ``unsupported`` and ``edit_problems`` say, too). ``restoring`` (undo): a limit put back as it
    was is not held to the burst rule for new edits."""
    problems: list[Problem] = []
    warnings: list[str] = []
    edits: list[Edit] = []
    for name, req in requested.items():
        binding = before_model.bindings.get(name)
        before = before_model.route(name)
        if binding is None or before is None:
            raise NotFound(f"route {name!r} no longer exists (its object was changed meanwhile)")
        after, kinds, notes = merge_edit(before, req)
        problems += notes
        path = f"routes.{name}"
        problems += [Problem(f"{path}.{k}", unsupported[k]) for k in sorted(kinds) if k in unsupported]
        found = model_problems(after, kinds, path) + edit_problems(binding, after, kinds, path)
        if "rate_limit" in kinds and not restoring:
            found += _bucket_problems(before, after, path, {p.path for p in found})
            warnings += [n for n in [bucket_note(name, before.rate_limit, after.rate_limit)] if n]
        problems += found
        warnings += ignored_fields(before, req)
        if kinds:
            edits.append((binding, before, after, kinds))
    if problems:
        raise ValidationError(problems)
    return edits, warnings


def _bucket_problems(before: Route, after: Route, path: str, known: set[str]) -> list[Problem]:
    """A bucket smaller than one fill, unless the flavour already refused that burst."""
    found = bucket_problems(before.rate_limit, after.rate_limit, f"{path}.rate_limit")
    return [p for p in found if p.path not in known]


def normal_limit(limit: RateLimit | None) -> RateLimit | None:
    """A bucket as large as one fill is the same as no separate burst (how every reader shows it)."""
    if limit is not None and limit.burst == limit.requests:
        return replace(limit, burst=None)
    return limit


def differing_fields(got: Route | None, wanted: Route, kinds: set[EditKind]) -> list[str]:
    """The fields of ``kinds`` (down to a rate limit's parts) where ``got`` is not ``wanted``."""
    out: list[str] = []
    for kind in sorted(kinds):
        mine, theirs = (edit_field(got, kind) if got else None), edit_field(wanted, kind)
        if mine == theirs:
            continue
        if kind == "rate_limit" and isinstance(mine, RateLimit) and isinstance(theirs, RateLimit):
            out += [
                f"rate_limit.{f.name}"
                for f in fields(RateLimit)
                if getattr(mine, f.name) != getattr(theirs, f.name)
            ]
        else:
            out.append(kind)
    return out


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
    text = f"this change also affects {', '.join(others)}"
    if not allowed:
        raise ValidationError([Problem(f"routes.{edited[0]}", f"{text}; {ALL_AFFECTED_HINT}")])
    return [f"{text}: they change too, as chosen"]
