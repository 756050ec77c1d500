"""What a Kubernetes plan changes once the workspace's objects are edited: the routes the cluster
will serve differently (each edited route checked to read back as asked), and the smallest write of
every touched object, routes before policies. Each returns its warnings beside its result, for the
plan to show in this order.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..base import RouteChange
from ..errors import Problem, ValidationError
from .modelled import Edit, Modelled
from .ownership import warnings_for
from .patching import ORDER_POLICY, ORDER_ROUTE, ObjectChange, change_for
from .planning import differing_fields, shared_reach
from .resources import Resource
from .store import Workspace


def route_changes(
    before_model: Modelled,
    after_model: Modelled,
    edits: list[Edit],
    route_kind: str,
    affect_shared: bool,
    written: Sequence[str] = (),
) -> tuple[list[RouteChange], list[str]]:
    """Every route the edited objects serve differently; raises ValidationError naming each field
    an edited route does not read back as asked (the ``written`` objects cannot express it). Warns
    of (or, unless ``affect_shared``, refuses) routes changed alongside."""
    changes = []
    for before in before_model.routes:
        after_route = after_model.route(before.name)
        if after_route is not None and after_route != before:
            changes.append(RouteChange(before, after_route))
    for binding, _, wanted, kinds in edits:
        got = after_model.route(binding.route)
        differing = differing_fields(got, wanted, kinds)
        if differing:
            where = ", ".join(written) or f"{route_kind} objects"
            raise ValidationError(
                [
                    Problem(f"routes.{binding.route}.{field}", f"the {where} cannot express this value")
                    for field in differing
                ]
            )
    edited_names = {b.route for b, *_ in edits}
    others = [c.after.name for c in changes if c.after.name not in edited_names]
    return changes, shared_reach(sorted(edited_names), others, affect_shared)


def plan_writes(ws: Workspace, route_resource: Resource | None) -> tuple[list[ObjectChange], list[str]]:
    """The smallest write of every touched object, routes (of ``route_resource``) before policies;
    warns of each object a controller would revert (``ownership``)."""
    writes: list[ObjectChange] = []
    warnings: list[str] = []
    for resource, before_obj, after_obj in ws.changed():
        is_route = route_resource is not None and resource.plural == route_resource.plural
        write = change_for(resource, before_obj, after_obj, ORDER_ROUTE if is_route else ORDER_POLICY)
        if write is not None:
            writes.append(write)
            if before_obj is not None:
                warnings += warnings_for(before_obj)
    writes.sort(key=lambda c: (c.order, c.label))
    return writes, warnings
