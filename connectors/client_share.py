"""How much of a route's recent traffic a client address is, before that address is denied.

Behind a load balancer or a proxy — or on localhost, as in the demo — every request has the same
source address: denying it blocks everyone. From the gateway's access log (native: its file;
clusters: the gateway pods' logs, when the connector offers them) over the last ``RECENT_S``
seconds: requests per address, which logged header clients sent from each, and who got the 429s.
An address is *everyone* when it sent at least ``EVERYONE_PCT`` % of the route's requests, or when
it is one loopback or private address that several header clients (``x-user-id``...) share.

``recent_traffic()`` blocks (file or API reads); the rest is pure. Header values are counted, never
shown: a credential-like value is only ever named masked (``metrics.clients.client_label``).
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .errors import GatewayError
from .metrics.access_log import LogRecord, parse_lines
from .metrics.clients import is_secret
from .metrics.pod_logs import route_matches
from .metrics_contract import Measured
from .model import Deny, DenyClient

RECENT_S = 300.0
EVERYONE_PCT = 90.0
IDENTIFIES_PCT = 80.0
"""A header value that got this share of an address's 429s names the client behind it."""
MAX_READ = 8 << 20
"""Bytes read back from the end of a local access log (tens of thousands of requests)."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
ByHeader = dict[str, Counter[str]]  # header -> value -> requests


@dataclass(frozen=True)
class RouteTraffic:
    """A route's requests over the last ``window_s`` seconds, by client address; ``origin`` says
    where they were read (``the access log``), ``problem`` why they could not be (then empty)."""

    route: str
    window_s: float
    origin: str
    addresses: Counter[str] = field(default_factory=Counter)
    headers: dict[str, ByHeader] = field(default_factory=dict)  # address -> its header clients
    refused: dict[str, ByHeader] = field(default_factory=dict)  # address -> who got its 429s
    problem: str = ""

    @property
    def total(self) -> int:
        return sum(self.addresses.values())

    def covered(self, network: Network) -> int:
        """Requests from addresses in ``network``."""
        return sum(n for a, n in self.addresses.items() if _address_in(a, network))

    def sharers(self, address: str) -> tuple[str, int]:
        """The logged header with the most distinct values from ``address``, and how many."""
        found = [(h, len(values)) for h, values in self.headers.get(address, {}).items()]
        return max(found, key=lambda x: (x[1], x[0]), default=("", 0))

    def everyone(self, client: DenyClient) -> str | None:
        """Why denying ``client`` would block (nearly) everyone on the route; None when it would not,
        or when there is nothing to go by (a header client, no recent requests)."""
        network = _network(client)
        total = self.total
        if network is None or total == 0:
            return None
        n = self.covered(network)
        pct = 100.0 * n / total
        shown = label(network)
        where = f"{self.route}'s requests in the last {_minutes(self.window_s)}"
        if pct >= EVERYONE_PCT:
            share = f"{pct:.0f}% of {where} ({n:,} of {total:,})"
            return f"{shown} is the source of {share}: denying it blocks everyone"
        if network.num_addresses == 1 and _shared_kind(network):
            header, k = self.sharers(str(network.network_address))
            if k >= 2:
                return (
                    f"{shown} is {_shared_kind(network)} address that {k} different {header} clients "
                    f"share ({pct:.0f}% of {where}): denying it blocks them all"
                )
        return None

    def identifying(self, address: str) -> str | None:
        """``x-user-id=crawler-7``: the one logged header value that got (nearly) all of
        ``address``'s 429s on the route, to deny instead of the address; None when none does or it
        is a credential (never put in a form whole)."""
        best: tuple[float, str] | None = None
        for header, values in self.refused.get(address, {}).items():
            value, n = values.most_common(1)[0]
            share = 100.0 * n / sum(values.values())
            if share >= IDENTIFIES_PCT and not is_secret(header, value) and (best is None or share > best[0]):
                best = (share, f"{header}={value}")
        return best[1] if best is not None else None


def every_client_note(traffic: RouteTraffic, address: str, headers: Sequence[str] = ()) -> str | None:
    """When ``address`` (a route's top client by source) sent at least ``EVERYONE_PCT`` % of the
    route's requests it is every client, and naming it names nobody: say so, and which logged header
    to group by instead (the one with the most values from it, else the first of ``headers``)."""
    total = traffic.total
    if total == 0:
        return None
    pct = 100.0 * traffic.addresses.get(address, 0) / total
    if pct < EVERYONE_PCT:
        return None
    hint = traffic.sharers(address)[0] or next(iter(headers), "")
    return (
        f"{address} sent {pct:.0f}% of {traffic.route}'s requests: it is every client "
        f"(a load balancer or localhost)" + (f"; try --by {hint}" if hint else "")
    )


def deny_warnings(traffic: RouteTraffic, before: Deny | None, after: Deny | None) -> list[str]:
    """The plan's warnings for the address clients ``after`` adds that would block everyone."""
    had = set(before.clients) if before is not None else set()
    added = [c for c in (after.clients if after is not None else ()) if c not in had]
    return [w for c in added if (w := traffic.everyone(c))]


def recent_traffic(connector: Measured, route: str, window_s: float = RECENT_S) -> RouteTraffic:
    """The route's requests over the last ``window_s`` seconds from the gateway's access log."""
    hooks = connector.metrics_hooks()
    since = time.time() - window_s
    if hooks.access_log_path is not None:
        origin = "the access log"
        try:
            lines = _tail(hooks.access_log_path)
        except OSError as exc:
            problem = f"{hooks.access_log_path}: {exc.strerror or exc}"
            return RouteTraffic(route, window_s, origin, problem=problem)
    elif hooks.log_lines is not None:
        origin = "the gateway pods' logs"
        try:
            lines = hooks.log_lines(window_s)
        except GatewayError as exc:  # no pods, no rights: the deny goes on without the check
            return RouteTraffic(route, window_s, origin, problem=str(exc))
    else:
        problem = "this gateway offers no access log to read clients from"
        return RouteTraffic(route, window_s, "", problem=problem)
    return tally(route, window_s, origin, parse_lines(lines), since)


def tally(
    route: str, window_s: float, origin: str, records: Iterable[LogRecord], since: float
) -> RouteTraffic:
    """The records of ``route`` from ``since`` on, by client address."""
    addresses: Counter[str] = Counter()
    headers: dict[str, ByHeader] = {}
    refused: dict[str, ByHeader] = {}
    for r in records:
        if not r.client or not route_matches(r.route, route) or (r.time is not None and r.time < since):
            continue
        addresses[r.client] += 1
        for h, v in r.headers.items():
            headers.setdefault(r.client, {}).setdefault(h, Counter())[v] += 1
            if r.rate_limited:
                refused.setdefault(r.client, {}).setdefault(h, Counter())[v] += 1
    return RouteTraffic(route, window_s, origin, addresses, headers, refused)


def label(network: Network) -> str:
    """``127.0.0.1`` for one address, else the block."""
    return str(network.network_address) if network.num_addresses == 1 else str(network)


def _network(client: DenyClient) -> Network | None:
    if client.kind != "ip":
        return None
    try:
        return ipaddress.ip_network(client.value, strict=False)
    except ValueError:
        return None


def _address_in(address: str, network: Network) -> bool:
    try:
        return ipaddress.ip_address(address) in network
    except ValueError:
        return False


def _shared_kind(network: Network) -> str:
    """``a loopback`` / ``a private`` for the addresses a proxy or this machine sends from."""
    address = network.network_address
    return "a loopback" if address.is_loopback else "a private" if address.is_private else ""


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g}m" if seconds >= 60 else f"{seconds:g}s"


def _tail(path: Path) -> list[str]:
    """The lines of the last ``MAX_READ`` bytes (the first, likely cut, dropped when not at 0)."""
    if not path.exists():
        return []  # Envoy creates it on the first request: nothing logged yet
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        start = max(0, size - MAX_READ)
        fh.seek(start)
        lines = fh.read().decode("utf-8", "replace").splitlines()
    return lines[1:] if start else lines
