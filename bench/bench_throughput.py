"""Throughput and p99 latency (wrk) through: the native gateway, the same Envoy binary with a
hand-written static config with the same features, and nginx — same backend, one run.

Two feature sets:
  plain  one route, weighted 90/10 over two clusters, no access log
  full   the same plus CORS, JWT (RS256, cached), a (never reached) per-route rate limit with
         x-ratelimit headers, JSON access log. The native gateway serves the limit through ECDS (a
         limiter slot per limited route, its config in a file of its own); the static Envoy has the
         same limit written by hand without ECDS (the route's own LocalRateLimit in its
         typed_per_filter_config).
nginx (Debian nginx-light, a config in a temp dir, foreground) proxies the plain case. The backend
is another nginx answering "ok". With two or more cores the proxies run on core 1 and wrk and the
backend on core 0 (``taskset``), with one Envoy worker / one nginx worker.

    .venv/bin/python bench/bench_throughput.py [--duration 5] [--rounds 6] [--connections 50]

All five targets run at once and are measured in turn, round after round (the median is kept),
the order reversed every other round, so neither load from elsewhere on the machine nor a drift in
the speed this VM gets favours one of them. Beside req/s, each proxy's CPU time per request (from
/proc, proxy processes only) is printed: it is the cost that decides throughput on a saturated core,
and it varies less than req/s here.

Goal: native >= 0.95 x static Envoy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.http_client import http_get
from connectors.native import NativeConnector
from connectors.native.process import find_envoy, free_port
from connectors.native.render_listener import ACCESS_LOG_FIELDS

HOST = "bench.local"
T = "type.googleapis.com/envoy.extensions."
ISSUER = "https://issuer.bench"
AUDIENCE = "bench"
PINNED = (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None


def pin(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if PINNED else []


def pin_pid(pid: int, cpu: int) -> None:
    if PINNED:
        subprocess.run(["taskset", "-a", "-p", "-c", str(cpu), str(pid)], check=True, capture_output=True)


def wait_http(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if http_get(url, headers=headers, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up")
        time.sleep(0.05)


def nginx(tmp: Path, name: str, body: str) -> subprocess.Popen[bytes]:
    d = tmp / name
    d.mkdir()
    temp_paths = "".join(
        f"{k}_temp_path {d}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = d / "nginx.conf"
    conf.write_text(
        f"worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n"
        f"events {{ worker_connections 4096; }}\n"
        f"http {{\naccess_log off;\n{temp_paths}{body}\n}}\n"
    )
    cpu = 0 if name == "backend" else 1
    return subprocess.Popen([*pin(cpu), "nginx", "-e", str(d / "error.log"), "-p", str(d), "-c", str(conf)])


def make_token(tmp: Path) -> tuple[str, str]:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    public.update({"kid": "k", "alg": "RS256"})
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "iat": now, "exp": now + 3600}
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k"})
    return json.dumps({"keys": [public]}), token


def native_config(path: Path, port: int, backend: str, full: bool, jwks: str) -> None:
    lines = [
        "name: bench",
        f"listeners: [{{name: main, address: 127.0.0.1, port: {port}}}]",
        f'backends: [{{name: v1, endpoints: ["{backend}"]}}, {{name: v2, endpoints: ["{backend}"]}}]',
        f"access_log: {'true' if full else 'false'}",
        "routes:",
        "  - name: bench",
        f"    hosts: [{HOST}]",
        "    backends: [{name: v1, weight: 90}, {name: v2, weight: 10}]",
    ]
    if full:
        lines += [
            '    cors: {allow_origins: [{exact: "https://app.example"}], allow_methods: [GET, POST]}',
            "    rate_limit: {requests: 1000000, interval: 1s}",
            "    jwt:",
            "      providers:",
            f"        - {{name: bench, issuer: {ISSUER}, audiences: [{AUDIENCE}], jwks: '{jwks}'}}",
        ]
    path.write_text("\n".join(lines) + "\n")


def static_envoy_config(
    port: int, admin: int, backend: str, full: bool, jwks: str, log: Path
) -> dict[str, Any]:
    """Written by hand, not by the connector's renderer: what an operator would write for this."""
    host, bport = backend.rsplit(":", 1)

    def cluster(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "type": "STATIC",
            "connect_timeout": "1s",
            "load_assignment": {
                "cluster_name": name,
                "endpoints": [
                    {
                        "lb_endpoints": [
                            {
                                "endpoint": {
                                    "address": {"socket_address": {"address": host, "port_value": int(bport)}}
                                }
                            }
                        ]
                    }
                ],
            },
        }

    route: dict[str, Any] = {
        "match": {"prefix": "/"},
        "route": {
            "weighted_clusters": {"clusters": [{"name": "v1", "weight": 90}, {"name": "v2", "weight": 10}]}
        },
    }
    filters: list[dict[str, Any]] = []
    if full:
        filters.append(
            {
                "name": "cors",
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"},
            }
        )
        filters.append(
            {
                "name": "jwt",
                "typed_config": {
                    "@type": T + "filters.http.jwt_authn.v3.JwtAuthentication",
                    "providers": {
                        "bench": {
                            "issuer": ISSUER,
                            "audiences": [AUDIENCE],
                            "local_jwks": {"inline_string": jwks},
                            "jwt_cache_config": {"jwt_cache_size": 100},
                        }
                    },
                    "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "bench"}}],
                },
            }
        )
        # A per-route limit as an operator writes it without ECDS: the filter in the chain, off
        # (like the native gateway's limiter slot), and the route's own LocalRateLimit, bucket
        # included, in its typed_per_filter_config.
        filters.append(
            {
                "name": "ratelimit",
                "disabled": True,
                "typed_config": {
                    "@type": T + "filters.http.local_ratelimit.v3.LocalRateLimit",
                    "stat_prefix": "rl",
                },
            }
        )
        route["typed_per_filter_config"] = {
            "ratelimit": {
                "@type": T + "filters.http.local_ratelimit.v3.LocalRateLimit",
                "stat_prefix": "rl",
                "token_bucket": {"max_tokens": 1000000, "tokens_per_fill": 1000000, "fill_interval": "1s"},
                "filter_enabled": {"default_value": {"numerator": 100, "denominator": "HUNDRED"}},
                "filter_enforced": {"default_value": {"numerator": 100, "denominator": "HUNDRED"}},
                # The feature as the console offers it: clients see x-ratelimit-* headers.
                "enable_x_ratelimit_headers": "DRAFT_VERSION_03",
            },
            "cors": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
                "allow_origin_string_match": [{"exact": "https://app.example"}],
                "allow_methods": "GET,POST",
            },
        }
    filters.append(
        {
            "name": "router",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
        }
    )
    hcm: dict[str, Any] = {
        "@type": T + "filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "main",
        "strip_any_host_port": True,
        "route_config": {"virtual_hosts": [{"name": "bench", "domains": [HOST], "routes": [route]}]},
        "http_filters": filters,
    }
    if full:
        hcm["access_log"] = [
            {
                "name": "file",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                    "path": str(log),
                    # The same line as the native gateway's (its fields), without its probe filter.
                    "log_format": {"json_format": dict(ACCESS_LOG_FIELDS)},
                },
            }
        ]
    return {
        "node": {"id": "static", "cluster": "static"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin}}},
        "static_resources": {
            "listeners": [
                {
                    "name": "main",
                    "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
                    "filter_chains": [
                        {
                            "filters": [
                                {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}
                            ]
                        }
                    ],
                }
            ],
            "clusters": [cluster("v1"), cluster("v2")],
        },
    }


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the processes ``pids`` so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def with_children(pid: int) -> list[int]:
    """``pid`` and its direct children (nginx's master and its worker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [pid, *(int(c) for c in children.read_text().split())] if children.exists() else [pid]


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> tuple[float, float, int]:
    cmd = [*pin(0), "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    p99 = float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return rps, p99, int(bad.group(1)) if bad else 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved runs per target (median kept)")
    parser.add_argument("--connections", type=int, default=50)
    args = parser.parse_args()
    for tool in ("wrk", "nginx"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is required (Debian package {'wrk' if tool == 'wrk' else 'nginx-light'})")
    # label -> (url, headers); every target runs at once and they are measured in turn, round
    # after round, so a burst of load from elsewhere on the machine does not favour one of them.
    targets: dict[str, tuple[str, dict[str, str]]] = {}
    pids: dict[str, list[int]] = {}
    runs: dict[str, list[tuple[float, float, int]]] = {}
    cost: dict[str, list[float]] = {}  # proxy CPU microseconds per request
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        os.environ["GATEWAYCTL_STATE_DIR"] = str(tmp / "xdg")

        def stop(proc: subprocess.Popen[bytes]) -> None:
            proc.terminate()
            proc.wait()

        bport = free_port()
        backend_proc = nginx(
            tmp,
            "backend",
            f"server {{ listen 127.0.0.1:{bport}; keepalive_requests 1000000; "
            'location / { return 200 "ok\\n"; } }',
        )
        stack.callback(stop, backend_proc)
        backend = f"127.0.0.1:{bport}"
        wait_http(f"http://{backend}/")
        jwks, token = make_token(tmp)
        for full in (False, True):
            kind = "full" if full else "plain"
            headers = {"Host": HOST}
            if full:
                headers["Authorization"] = f"Bearer {token}"
            port = free_port()
            config = tmp / f"native-{kind}.yaml"
            native_config(config, port, backend, full, jwks)
            gw = NativeConnector.start(config, tmp / f"state-{kind}", owned=True, concurrency=1)
            stack.callback(gw.close)
            pin_pid(gw.pid or 0, 1)
            targets[f"native ({kind})"] = (f"http://127.0.0.1:{port}/", headers)
            pids[f"native ({kind})"] = [gw.pid or 0]
            port, admin = free_port(), free_port()
            static = tmp / f"static-{kind}.json"
            static.write_text(
                json.dumps(static_envoy_config(port, admin, backend, full, jwks, tmp / "static.log"))
            )
            cmd = [*pin(1), find_envoy(), "-c", str(static), "--disable-hot-restart", "--concurrency", "1"]
            envoy = subprocess.Popen([*cmd, "-l", "error"])
            stack.callback(stop, envoy)
            targets[f"static Envoy ({kind})"] = (f"http://127.0.0.1:{port}/", headers)
            pids[f"static Envoy ({kind})"] = [envoy.pid]  # taskset execs Envoy: the same pid
        nport = free_port()
        proxy = nginx(
            tmp,
            "proxy",
            f"upstream backend {{ server {backend}; keepalive 64; }}\n"
            f"server {{ listen 127.0.0.1:{nport}; keepalive_requests 1000000; "
            "location / { proxy_pass http://backend; "
            'proxy_http_version 1.1; proxy_set_header Connection ""; } }',
        )
        stack.callback(stop, proxy)
        targets["nginx (plain)"] = (f"http://127.0.0.1:{nport}/", {"Host": HOST})
        for label, (url, headers) in targets.items():
            wait_http(url, headers)
            if "full" in label:  # the limit is really there on both sides (x-ratelimit-* headers)
                answer = http_get(url, headers=headers, timeout=5)
                if answer.headers.get("x-ratelimit-limit") != "1000000":
                    raise RuntimeError(f"{label}: no rate limit in effect ({dict(answer.headers)})")
            wrk(url, 1, args.connections, headers)  # warm up
        pids["nginx (plain)"] = with_children(proxy.pid)
        for r in range(args.rounds):
            order = list(targets.items())
            for label, (url, headers) in order if r % 2 == 0 else reversed(order):
                before = cpu_seconds(pids[label])
                result = wrk(url, args.duration, args.connections, headers)
                used = cpu_seconds(pids[label]) - before
                runs.setdefault(label, []).append(result)
                cost.setdefault(label, []).append(1e6 * used / max(1.0, result[0] * args.duration))
                print(
                    f"  round {r + 1} {label:<22} {result[0]:>9.0f} req/s  p99 {result[1]:7.2f} ms"
                    f"  {cost[label][-1]:6.1f} us CPU/req",
                    flush=True,
                )
    med = {
        label: (
            statistics.median(x[0] for x in rs),
            statistics.median(x[1] for x in rs),
            sum(x[2] for x in rs),
        )
        for label, rs in runs.items()
    }
    print()
    us = {label: statistics.median(c) for label, c in cost.items()}
    header = f"{'median of ' + str(args.rounds) + ' runs':<22} {'req/s':>10} {'p99 ms':>8} {'non-2xx':>8}"
    print(header + f" {'CPU us/req':>11}")
    for label, (rps, p99, bad) in med.items():
        print(f"{label:<22} {rps:>10.0f} {p99:>8.2f} {bad:>8} {us[label]:>11.1f}")
    print()
    for kind in ("plain", "full"):
        ratio = med[f"native ({kind})"][0] / med[f"static Envoy ({kind})"][0]
        per_request = us[f"static Envoy ({kind})"] / us[f"native ({kind})"]
        print(
            f"native / static Envoy ({kind}): {ratio:.3f} in req/s, {per_request:.3f} in CPU per request"
            "  (goal >= 0.95)"
        )
    print(f"native / nginx (plain): {med['native (plain)'][0] / med['nginx (plain)'][0]:.3f}")
    pinned = "proxies on CPU 1, wrk and backend on CPU 0" if PINNED else "no"
    print(f"pinned: {pinned}; {args.connections} connections; {args.duration} s per run")


if __name__ == "__main__":
    main()
