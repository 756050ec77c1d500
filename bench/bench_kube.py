"""Kubernetes connectors at scale, against the API emulator (real HTTP, upstream CRD schemas).

Seeds N VirtualServices (Istio) and N HTTPRoutes (Envoy Gateway) in one namespace, then measures:

* list + model: time of ``list_routes()`` (median of a few rounds) and the requests it makes;
* requests per edit, split into plan (reads), apply (writes) and verify (reading the written
  objects back), for a weight shift, a new rate limit and a CORS change. Goal: one write per
  touched object and no reads beyond the plan's; verification reads after the writes. No
  controller runs in the emulator, so verification reads each object once (``--verify-wait 0``).

    .venv/bin/python bench/bench_kube.py [--objects 2000] [--rounds 3] [--verify-wait 0]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.change import Change
from connectors.kube import open_cluster
from connectors.kube.connector import KubeConnector
from connectors.model import Cors, RateLimit, Route, StringMatch
from connectors.model.edits import set_cors, set_rate_limit, set_weights
from tests.kube_emulator import KubeEmulator, RequestRecord

NAMESPACE = "bench"


def virtual_service(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": f"svc-{i:05d}", "namespace": NAMESPACE, "labels": {"team": f"t{i % 20}"}},
        "spec": {
            "hosts": [f"svc-{i:05d}"],
            "http": [
                {
                    "match": [{"uri": {"prefix": f"/api/{i}"}}],
                    "route": [
                        {"destination": {"host": f"svc-{i:05d}", "subset": "v1"}, "weight": 90},
                        {"destination": {"host": f"svc-{i:05d}", "subset": "v2"}, "weight": 10},
                    ],
                    "timeout": "5s",
                }
            ],
        },
    }


def http_route(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": f"route-{i:05d}", "namespace": NAMESPACE},
        "spec": {
            "parentRefs": [{"name": "eg"}],
            "hostnames": [f"r{i}.example.com"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [
                        {"name": f"svc-{i:05d}-v1", "port": 8080, "weight": 9},
                        {"name": f"svc-{i:05d}-v2", "port": 8080, "weight": 1},
                    ],
                }
            ],
        },
    }


def by_method(requests: list[RequestRecord]) -> str:
    counts = Counter(r.method for r in requests)
    return ", ".join(f"{n} {m}" for m, n in sorted(counts.items())) or "none"


def requests_by_method(emu: KubeEmulator) -> str:
    return by_method(emu.requests())


def measure_list(emu: KubeEmulator, connector: KubeConnector, rounds: int) -> tuple[float, int, str]:
    times = []
    for _ in range(rounds):
        emu.reset_log()
        started = time.perf_counter()
        routes = connector.list_routes()
        times.append(time.perf_counter() - started)
    return statistics.median(times), len(routes), requests_by_method(emu)


def measure_edit(
    emu: KubeEmulator, connector: KubeConnector, edit: Callable[[Route], Route], name: str
) -> str:
    connector.list_routes()  # the operator has the routes on screen
    route = connector.get_route(name)
    emu.reset_log()
    started = time.perf_counter()
    plan = connector.plan([edit(route)])
    planned = time.perf_counter() - started
    plan_requests = requests_by_method(emu)

    # apply() writes, then verifies: note where verification starts to report the two apart.
    verify_started: dict[str, Any] = {}
    real_verify = connector.verify

    def verify(plan: Any) -> Any:
        verify_started.update(at=time.perf_counter(), requests=len(emu.requests()))
        return real_verify(plan)

    connector.verify = verify  # type: ignore[method-assign]
    emu.reset_log()
    started = time.perf_counter()
    try:
        result = Change(connector).apply(plan)
    finally:
        del connector.verify
    done = time.perf_counter()
    assert result.verification.ok, result.verification.details
    requests = emu.requests()
    split = verify_started["requests"]
    return (
        f"{len(plan.native_changes)} object(s); plan {planned * 1000:.0f} ms [{plan_requests}], "
        f"apply {(verify_started['at'] - started) * 1000:.0f} ms [{by_method(requests[:split])}], "
        f"verify {(done - verify_started['at']) * 1000:.0f} ms [{by_method(requests[split:])}]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--verify-wait", type=float, default=0.0, help="seconds a verification waits for a controller"
    )
    args = parser.parse_args()
    os.environ["GATEWAYCTL_STATE_DIR"] = tempfile.mkdtemp(prefix="bench-kube-state-")
    with KubeEmulator(crds=("istio", "gateway-api", "envoy-gateway"), namespaces=(NAMESPACE,)) as emu:
        started = time.perf_counter()
        emu.load_manifests(
            [virtual_service(i) for i in range(args.objects)], namespace=NAMESPACE, validate=False
        )
        emu.load_manifests([http_route(i) for i in range(args.objects)], namespace=NAMESPACE, validate=False)
        seeded = time.perf_counter() - started
        print(f"seeded {args.objects} VirtualServices + {args.objects} HTTPRoutes in {seeded:.1f} s")
        kubeconfig = emu.write_kubeconfig(Path(tempfile.mkdtemp(prefix="bench-kube-")) / "kubeconfig")

        cors = Cors(allow_origins=(StringMatch("exact", "https://app.example.com"),), allow_methods=("GET",))
        for flavour, first in (("istio", "svc-00000-0"), ("envoygateway", "route-00000-0")):
            emu.reset_log()
            started = time.perf_counter()
            connector = open_cluster(
                namespace=NAMESPACE, kubeconfig=str(kubeconfig), flavour=flavour, verify_wait=args.verify_wait
            )
            assert isinstance(connector, KubeConnector)
            opened = time.perf_counter() - started
            print(f"\n{flavour}: connect + discovery {opened * 1000:.0f} ms [{requests_by_method(emu)}]")
            seconds, count, reqs = measure_list(emu, connector, args.rounds)
            print(f"  list + model {count} routes: {seconds * 1000:.0f} ms median of {args.rounds} [{reqs}]")
            shares = [b.name for b in connector.get_route(first).backends]
            even = 50 if flavour == "istio" else 1
            edits: list[tuple[str, Callable[[Route], Route]]] = [
                ("weight edit", partial(set_weights, weights={shares[0]: even, shares[1]: even})),
                ("new rate limit", partial(set_rate_limit, limit=RateLimit(100, 1.0))),
                ("CORS edit", partial(set_cors, cors=cors)),
            ]
            for label, edit in edits:
                print(f"  {label + ':':16} {measure_edit(emu, connector, edit, first)}")
            connector.close()


if __name__ == "__main__":
    main()
