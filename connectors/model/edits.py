"""Pure edits of a route: weights, rate limit, CORS, fault injection. Each returns a new Route;
validation is separate."""

from __future__ import annotations

from dataclasses import replace

from ..errors import NotFound, Problem, ValidationError
from .types import Cors, Fault, RateLimit, Route, WeightedBackend

PRESETS: dict[str, tuple[int, int]] = {
    "0/100": (0, 100),
    "10/90": (10, 90),
    "50/50": (50, 50),
    "90/10": (90, 10),
    "100/0": (100, 0),
}


def set_weights(route: Route, weights: dict[str, int]) -> Route:
    """Set the named backends' weights; backends not named keep theirs. Unknown names are refused."""
    known = {b.name for b in route.backends}
    unknown = [n for n in weights if n not in known]
    if unknown:
        raise ValidationError(
            [
                Problem(
                    f"{route.name}.backends",
                    f"route has no backend {n!r} (it has: {', '.join(sorted(known))})",
                )
                for n in unknown
            ]
        )
    return replace(
        route, backends=tuple(WeightedBackend(b.name, weights.get(b.name, b.weight)) for b in route.backends)
    )


def shift_weight(route: Route, backend: str, delta: int) -> Route:
    """Move ``delta`` percentage points to ``backend`` from the others (percent mode), keeping the sum
    at 100 and every weight within 0..100. With two backends this is the canary step."""
    names = [b.name for b in route.backends]
    if backend not in names:
        raise NotFound(f"route {route.name!r} has no backend {backend!r}")
    weights = {b.name: b.weight for b in route.backends}
    target = max(0, min(100, weights[backend] + delta))
    delta = target - weights[backend]
    weights[backend] = target
    others = [n for n in names if n != backend]
    # Take from (or give to) the others in order, so the sum stays exactly 100.
    remaining = -delta
    for name in others if remaining < 0 else reversed(others):
        if remaining == 0:
            break
        new = max(0, min(100, weights[name] + remaining))
        remaining -= new - weights[name]
        weights[name] = new
    return set_weights(route, weights)


def apply_preset(route: Route, preset: str) -> Route:
    """``"90/10"`` on a two-backend route: first backend 90, second 10."""
    if preset not in PRESETS:
        raise ValidationError([Problem("preset", f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")])
    if len(route.backends) != 2:
        raise ValidationError(
            [Problem(f"{route.name}.backends", "presets apply to routes with exactly two backends")]
        )
    a, b = PRESETS[preset]
    return set_weights(route, {route.backends[0].name: a, route.backends[1].name: b})


def set_rate_limit(route: Route, limit: RateLimit | None) -> Route:
    return replace(route, rate_limit=limit)


def set_cors(route: Route, cors: Cors | None) -> Route:
    return replace(route, cors=cors)


def set_fault(route: Route, fault: Fault | None) -> Route:
    """The route injecting ``fault`` (None: no fault); see ``fault.edited_fault`` to change a part."""
    return replace(route, fault=fault)
