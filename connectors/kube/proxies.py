"""Verify on the data plane: ask each gateway pod's Envoy what it holds for the changed routes.

Controllers can report Accepted while generating nothing, and istiod can fail to push an edit, so after
an apply the connector reads each gateway proxy's ``/config_dump`` through the API server's pod proxy
(``GET /api/v1/namespaces/<ns>/pods/<pod>:<admin port>/proxy/config_dump``; Istio's admin port is
15000, Envoy Gateway's 19000) and says per pod and route:

* ``has it``: the route's traffic split is the one written, and so are its rate limit, CORS and
  fault (those the change touched; ``proxy_policies``);
* ``not yet``: the proxy still holds what the route had before the change;
* ``different``: it holds neither (or not the route at all);
* ``unreachable``: the pod proxy answered with an error.

It asks again (0.2 s, doubling to 1 s) until every pod has it or the deadline (``proxy_wait``) passes;
then the change is "not converged", with the deadline. Which pods: the ones the route's Gateways select
(Istio), or the proxies Envoy Gateway runs for the route's parent Gateways. Mesh routes (sidecars) and
other Gateway API implementations are not checked, and the report says so. ``proxy_status`` answers the
same question at any time (one round, no "before"), for drift between the objects and the proxies.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, Protocol

from ..errors import GatewayError, PermissionDenied
from .client import KubeClient
from .gateway_logs import PodSet, find_pods
from .proxy_policies import Aspect, changed_kinds, policy_aspects
from .proxy_views import RouteView, same
from .resources import JsonDict

if TYPE_CHECKING:
    from ..base import Plan
    from ..model import Route
    from .modelled import Binding
    from .store import Store

ISTIO_ADMIN_PORT = 15000
ENVOY_GATEWAY_ADMIN_PORT = 19000
DEFAULT_PROXY_WAIT_S = 30.0
FIRST_POLL_S = 0.2
MAX_POLL_S = 1.0

State = Literal["has it", "not yet", "different", "unreachable"]


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    port: int

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/pods/{self.name}:{self.port}/proxy/config_dump"


@dataclass(frozen=True)
class Check:
    """One route, how to read it from a dump, and the pods that should hold it."""

    route: str
    view: RouteView
    pods: tuple[Pod, ...]


@dataclass(frozen=True)
class PodResult:
    pod: Pod
    route: str
    state: State
    detail: str

    def line(self) -> str:
        return f"proxy {self.pod.label} ({self.route}): {self.state}" + (
            f" — {self.detail}" if self.detail else ""
        )


@dataclass
class ProxyReport:
    """What the proxies hold; ``ok`` unless pods were asked and did not all get the change in time."""

    results: list[PodResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    deadline_s: float = 0.0
    waited_s: float = 0.0
    subject: str = "the change"

    @property
    def checked(self) -> bool:
        return bool(self.results)

    @property
    def converged(self) -> bool:
        return self.checked and all(r.state == "has it" for r in self.results)

    @property
    def ok(self) -> bool:
        return not self.checked or self.converged

    def lines(self) -> list[str]:
        out = list(self.notes)
        if not self.checked:
            return out
        pods = {r.pod for r in self.results}
        holding = {r.pod for r in self.results} - {r.pod for r in self.results if r.state != "has it"}
        if self.converged:
            took = f" ({self.waited_s:.1f} s)" if self.deadline_s else ""
            out.append(f"proxies: all {len(pods)} gateway pods hold {self.subject}{took}")
        elif self.deadline_s:
            out.append(
                f"proxies: NOT converged by the {self.deadline_s:g} s deadline: "
                f"{len(holding)} of {len(pods)} gateway pods hold {self.subject}"
            )
        else:
            out.append(f"proxies: {len(holding)} of {len(pods)} gateway pods hold {self.subject}")
        return out + [r.line() for r in self.results]


def judge(view: RouteView, dump: JsonDict) -> tuple[State, str]:
    entries = view.find(dump)
    if not entries:
        return "different", f"{view.describe} is not in its config"
    # Each mismatch, and whether it is what the route held before the change ("not yet").
    mismatches: list[tuple[str, bool]] = []
    wrong = [s for s in (view.served(e) for e in entries) if not same(s, view.want)]
    if wrong:
        old = view.before is not None and all(same(s, view.before) for s in wrong)
        mismatches.append((f"holds {view.show(wrong[0])}, expected {view.show(view.want)}", old))
    for aspect in view.aspects:
        got = aspect.held(entries, dump)
        if got != aspect.want:
            mismatches.append((f"{aspect.name}: holds {got}, expected {aspect.want}", got == aspect.before))
    if not mismatches:
        held = [f"; {a.name} {a.want}" for a in view.aspects if a.want != "none"]
        return "has it", view.show(view.want) + "".join(held)
    return "not yet" if all(old for _, old in mismatches) else "different", "; ".join(
        t for t, _ in mismatches
    )


def _ask(client: KubeClient, pod: Pod) -> JsonDict:
    return client.raw("GET", pod.path, verb="get")


def _round(client: KubeClient, checks: Sequence[Check]) -> tuple[list[PodResult], str | None]:
    """Ask every pod once; the second value is set when the caller may not ask at all."""
    results: list[PodResult] = []
    dumps: dict[Pod, JsonDict | str] = {}
    for check in checks:
        for pod in check.pods:
            if pod not in dumps:
                try:
                    dumps[pod] = _ask(client, pod)
                except PermissionDenied as exc:
                    return [], f"proxies: cannot ask them ({exc}; reading needs get on pods/proxy)"
                except GatewayError as exc:
                    dumps[pod] = str(exc)
            dump = dumps[pod]
            if isinstance(dump, str):
                results.append(PodResult(pod, check.route, "unreachable", dump))
            else:
                results.append(PodResult(pod, check.route, *judge(check.view, dump)))
    return results, None


def converge(
    client: KubeClient,
    checks: Sequence[Check],
    *,
    wait: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ProxyReport:
    """Ask the pods until every one holds every checked route or ``wait`` seconds have passed."""
    start = clock()
    deadline = start + max(0.0, wait)
    report = ProxyReport(deadline_s=wait)
    interval = FIRST_POLL_S
    while True:
        results, refused = _round(client, checks)
        if refused is not None:
            report.notes.append(refused)
            return report
        report.results = results
        report.waited_s = clock() - start
        if report.converged or clock() >= deadline or not results:
            return report
        sleep(min(interval, max(0.0, deadline - clock())))
        interval = min(interval * 2, MAX_POLL_S)


# -- which pods, which views ----------------------------------------------------------------------------
ViewFor = Callable[[JsonDict, int, JsonDict | None], RouteView | None]


class ProxiedConnector(Protocol):
    """What the proxy checks need of a Kubernetes connector; each flavour says where its proxies run."""

    @property
    def kind(self) -> str: ...

    client: KubeClient
    proxy_wait: float

    def bindings_for(self, routes: Sequence[str]) -> dict[str, Binding]: ...

    def current_store(self) -> Store: ...

    def get_route(self, name: str) -> Route: ...

    def proxy_admin(self) -> tuple[int, ViewFor] | None:
        """The proxies' admin port and how to read a route off their config_dump; None: unknown."""
        ...

    def proxy_pod_sets(self, binding: Binding, obj: JsonDict) -> list[list[PodSet]] | str:
        """Where the route's proxies run, or why they are not looked for."""
        ...


def build_checks(
    connector: ProxiedConnector,
    routes: Sequence[str],
    current: Callable[[Binding], JsonDict | None],
    before: Callable[[Binding], JsonDict | None],
    aspects: Callable[[str], tuple[Aspect, ...]] = lambda route: (),
) -> tuple[list[Check], list[str]]:
    """A check per route whose proxies can be found, comparing its split and ``aspects(route)``;
    notes for the routes that cannot be checked."""
    flavour = connector.proxy_admin()
    if flavour is None:
        return [], [
            f"proxies: not checked (the admin port of a {connector.kind} implementation's proxies is unknown)"
        ]
    port, view_for = flavour
    bindings = connector.bindings_for(routes)
    checks: list[Check] = []
    notes: list[str] = []
    for route in routes:
        binding = bindings.get(route)
        obj = current(binding) if binding is not None else None
        view = (
            view_for(obj, binding.index, before(binding)) if binding is not None and obj is not None else None
        )
        if binding is None or obj is None or view is None:
            notes.append(f"proxies: {route}: not checked (its object was not found after the change)")
            continue
        sets = connector.proxy_pod_sets(binding, obj)
        if isinstance(sets, str):
            notes.append(f"proxies: {route}: {sets}")
            continue
        found = find_pods(connector.client, sets)
        if not found:
            where = "; ".join(s.describe() for group in sets for s in group)
            notes.append(f"proxies: {route}: no running gateway pods ({where}); not checked")
            continue
        pods = tuple(Pod(str(p["metadata"]["namespace"]), str(p["metadata"]["name"]), port) for _, p in found)
        checks.append(Check(route, replace(view, aspects=aspects(route)), pods))
    return checks, notes


def check_after_apply(connector: ProxiedConnector, plan: Plan) -> ProxyReport:
    """After ``plan`` was applied and read back: do the gateway proxies hold its new traffic splits,
    rate limits, CORS and faults? Routes the plan changed in none of those are not asked about."""
    touched = {
        c.after.name: (c, changed_kinds(c.before, c.after))
        for c in plan.changes
        if c.before.backends != c.after.backends or changed_kinds(c.before, c.after)
    }
    if not touched:
        return ProxyReport()
    changes = list(getattr(plan.payload, "changes", ()))
    store = connector.current_store()

    def before(binding: Binding) -> JsonDict | None:
        return next((c.before for c in changes if c.key == binding.source), store.get(binding.source))

    def aspects(route: str) -> tuple[Aspect, ...]:
        change, kinds = touched[route]
        return policy_aspects(change.after, change.before, kinds)

    try:
        checks, notes = build_checks(connector, list(touched), lambda b: store.get(b.source), before, aspects)
        report = converge(connector.client, checks, wait=connector.proxy_wait)
    except GatewayError as exc:
        return ProxyReport(notes=[f"proxies: not checked ({exc})"])
    report.notes[:0] = notes
    return report


def drift(connector: ProxiedConnector, route: str) -> ProxyReport:
    """One round: does every gateway proxy hold ``route`` as its objects say now (no "before")?"""
    model = connector.get_route(route)  # NotFound for an unknown route
    store = connector.current_store()
    try:
        checks, notes = build_checks(
            connector,
            [route],
            lambda b: store.get(b.source),
            lambda b: None,
            lambda name: policy_aspects(model, None),
        )
        report = converge(connector.client, checks, wait=0.0)
    except GatewayError as exc:
        return ProxyReport(notes=[f"proxies: not checked ({exc})"], subject="the route as its objects say")
    report.notes[:0] = notes
    report.subject = "the route as its objects say"
    return report
