"""What a native gateway's model must satisfy beyond the model's own rules, and validating a
change without re-checking 10,000 unchanged routes."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

from ..errors import Problem, ValidationError
from ..model import Gateway, Route, gateway_problems, route_problems
from ..model.bounds import duration_problem
from ..model.buckets import bucket_problems
from ..paths import gateways_dir
from .names import PROBE_HOST
from .render_deny import status_problems

# A gateway's name names its state directory: like a route name, never a path.
_GATEWAY_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")

_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


def native_problems(gw: Gateway) -> list[Problem]:
    """What Envoy needs beyond the model's own rules."""
    out = gateway_name_problems(gw.name, "name")
    for i, b in enumerate(gw.backends):
        if reason := duration_problem(b.connect_timeout):
            out.append(Problem(f"backends[{i}].connect_timeout", reason))
        for j, e in enumerate(b.endpoints):
            if not e.host or any(c.isspace() or not c.isprintable() for c in e.host):
                out.append(
                    Problem(f"backends[{i}].endpoints[{j}]", "the host must not be empty or hold spaces")
                )
    for i, lst in enumerate(gw.listeners):
        if not _FILE_NAME.match(lst.name):
            out.append(
                Problem(
                    f"listeners[{i}].name", f"{lst.name!r} is not a valid name (letters, digits, - and _)"
                )
            )
        try:
            ipaddress.ip_address(lst.address)
        except ValueError:
            out.append(Problem(f"listeners[{i}].address", f"{lst.address!r} is not an IP address"))
    for i, r in enumerate(gw.routes):
        out += reserved_host(r, i) + status_problems(r, i)
    return out


def gateway_name_problems(name: str, field: str) -> list[Problem]:
    if _GATEWAY_NAME.match(name):
        return []
    shown = repr(name if len(name) <= 40 else name[:37] + "...")
    return [
        Problem(field, f"{shown} is not a valid gateway name (letters, digits, - and _, up to 63 characters)")
    ]


def state_dir_for(name: str) -> Path:
    """The state directory of the gateway called ``name``: always a folder of ``gateways_dir()``."""
    problems = gateway_name_problems(name, "--name")
    if problems:
        raise ValidationError(problems)
    root = gateways_dir()
    path = root / name
    if path.resolve().parent != root.resolve():  # a symlinked name cannot lead elsewhere either
        raise ValidationError([Problem("--name", f"{name!r} leads outside {root}")])
    return path


def beyond_loopback(old: Gateway | None, new: Gateway) -> tuple[str, ...]:
    """Plan warnings for listeners that now accept connections from other machines."""
    before = {(x.name, x.address) for x in old.listeners} if old is not None else set()
    out = []
    for lst in new.listeners:
        if (lst.name, lst.address) in before:
            continue
        try:
            loopback = ipaddress.ip_address(lst.address).is_loopback
        except ValueError:
            continue
        if not loopback:
            out.append(
                f"listener {lst.name} listens beyond loopback ({lst.address}:{lst.port}): "
                "other machines can reach it"
            )
    return tuple(out)


def reserved_host(route: Route, index: int) -> list[Problem]:
    return [
        Problem(f"routes[{index}].hosts[{j}]", f"{PROBE_HOST} is reserved for the connector's own checks")
        for j, h in enumerate(route.hosts)
        if h == PROBE_HOST
    ]


def validate(gw: Gateway) -> None:
    problems = gateway_problems_all(gw)
    if problems:
        raise ValidationError(problems)


def gateway_problems_all(gw: Gateway) -> list[Problem]:
    """Every problem of the model and of what Envoy will be given."""
    return gateway_problems(gw) + native_problems(gw)


def validate_change(old: Gateway, new: Gateway) -> None:
    """Validate ``new`` knowing ``old`` was valid: only the routes that changed are checked again
    when listeners and backends are the same (10,000 routes take ~60 ms to check in full)."""
    if (old.name, old.listeners, old.backends) != (new.name, new.listeners, new.backends):
        validate(new)
        return
    before = {r.name: r for r in old.routes}
    backend_names = {b.name for b in new.backends}
    listener_names = {x.name for x in new.listeners}
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for i, r in enumerate(new.routes):
        if first.setdefault(r.name, i) < i:
            problems.append(Problem(f"routes[{i}].name", f"duplicate name {r.name!r}"))
        if before.get(r.name) is not r:
            problems += route_problems(r, f"routes[{i}]", backend_names, listener_names)
            problems += reserved_host(r, i) + status_problems(r, i)
    if problems:
        raise ValidationError(problems)


def limit_edit_problems(old: Gateway, new: Gateway) -> list[Problem]:
    """Limits whose edited numbers give a bucket smaller than one fill (``model.buckets``)."""
    before = {r.name: r.rate_limit for r in old.routes}
    return [
        p
        for r in new.routes
        if r.rate_limit is not None and before.get(r.name) != r.rate_limit
        for p in bucket_problems(before.get(r.name), r.rate_limit, f"routes.{r.name}.rate_limit")
    ]
