"""Writing a gateway model into a running Envoy.

Only the files that change are pushed, in an order that never leaves a route without its
cluster or a listener without its limiter's config: clusters (old ones kept), routes files of new
listeners, limiter files (ECDS; a served limiter's edit is swapped alone, a new one's file is
written before the listener names it), listeners, routes, then the clusters and limiter files
nothing uses any more. Each push is waited for; on a rejection every file pushed so far is put
back, so what is on disk is what Envoy serves.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from ..errors import ChangeRejected, GatewayError
from ..http_client import http_client, plain_http_context
from ..model import Gateway, Route
from ..paths import private_dir
from . import changes, listener_paths, xds
from .names import LIMIT_FILE_GLOB, LIMIT_FILTER_PREFIX, PROBE_HEADER, PROBE_HOST
from .render import (
    Layout,
    body_of,
    clusters_body,
    clusters_json,
    file_text,
    listeners_body,
    render,
    route_config_body,
    with_probe,
    without_probe,
)
from .render_limits import has_limiter, limiter_body
from .state import GatewayState

# (file, its text before the push or None if it did not exist, subscription)
Pushed = list[tuple[Path, str | None, xds.Subscription]]
_SLOT = re.compile(r'"name":"' + re.escape(LIMIT_FILTER_PREFIX) + r'([A-Za-z0-9_-]+)"')


class Deployer:
    """Pushes models into one gateway's Envoy. ``state`` is shared with the connector: the
    version counter, the probe token and the listeners' addresses live there."""

    def __init__(self, layout: Layout, pusher: xds.Pusher, state: GatewayState, state_dir: Path) -> None:
        self.layout = layout
        self.pusher = pusher
        self.state = state
        self.state_dir = state_dir
        self._probe_client = http_client(timeout=1.0, verify=plain_http_context())  # listeners: plain HTTP

    def close(self) -> None:
        self._probe_client.close()

    @property
    def http(self) -> httpx.Client:
        """The client that asks listeners (kept open: making one costs milliseconds)."""
        return self._probe_client

    def next_version(self) -> str:
        self.state.xds_version += 1
        return str(self.state.xds_version)

    def _access_log(self, gw: Gateway) -> Path | None:
        return Path(self.state.access_log) if gw.access_log and self.state.access_log else None

    def write_all(self, gw: Gateway) -> None:
        """Every file for ``gw``, before Envoy starts (it reads them at start)."""
        private_dir(self.layout.xds_dir)
        rendered = render(gw, self.layout, self._access_log(gw), self.state.access_log_headers)
        version = self.next_version()
        xds.atomic_write(self.layout.cds, file_text(version, rendered.cds))
        for path, body in rendered.rds.items():
            xds.atomic_write(path, file_text(version, with_probe(body, version, self.state.probe_token)))
        for path, body in rendered.limits.items():  # before the listener that names them
            xds.atomic_write(path, file_text(version, body))
        for path in self.layout.xds_dir.glob(LIMIT_FILE_GLOB):
            if path not in rendered.limits:
                path.unlink(missing_ok=True)
        xds.atomic_write(self.layout.lds, file_text(version, rendered.lds))

    def files_to_push(
        self, served: Gateway | None, new: Gateway, names: Sequence[str] | None = None
    ) -> tuple[bool, bool, list[str]]:
        """(clusters change, listeners change, listeners whose routes change) from ``served`` to
        ``new``; everything when what is served is not known here."""
        if served is None:
            return True, True, [x.name for x in new.listeners]
        if served.listeners != new.listeners:
            return True, True, [x.name for x in new.listeners]
        names = changes.changed_route_names(served, new) if names is None else names
        before = {r.name: r for r in served.routes}
        after = {r.name: r for r in new.routes}
        cds = served.backends != new.backends or any(
            _clusters_of(before.get(n), served) != _clusters_of(after.get(n), new) for n in names
        )
        lds = served.access_log != new.access_log or changes.touches_listener(served, new, names)
        # A listener an older version wrote (no path normalisation) goes with the first change.
        lds = lds or bool(listener_paths.outdated(self.layout))
        affected: set[str | None] = set()
        for n in names:
            for r in (before.get(n), after.get(n)):
                if r is not None:
                    affected.add(r.listener)
        rds = [x.name for x in new.listeners if None in affected or x.name in affected]
        return cds, lds, rds

    def push(
        self, served: Gateway | None, new: Gateway, names: Sequence[str] | None = None
    ) -> tuple[str, Pushed]:
        """Push the files that change, in an order that never leaves a route without its cluster;
        on a rejection put every file pushed so far back as it was.

        Long: the six numbered steps are one ordering invariant (clusters, new routes files, limiter
        files, listeners, routes, unused clusters); read in one place, the order is checkable."""
        pushed: Pushed = []
        version = str(self.state.xds_version)
        token = self.state.probe_token

        def push(path: Path, body: str, sub: xds.Subscription, listener: str | None = None) -> None:
            nonlocal version
            previous = _read(path)
            old_body = body_of(previous) if previous is not None else None
            if old_body is not None and (without_probe(old_body) if listener else old_body) == body:
                return
            version = self.next_version()
            pushed.append((path, previous, sub))
            if sub is xds.UNWATCHED:
                xds.atomic_write(path, file_text(version, body))
            elif listener is None:
                self.pusher.push(path, file_text(version, body), sub, version)
            else:
                text = file_text(version, with_probe(body, version, token))
                self.pusher.push(path, text, sub, version, self.probe(listener))

        cds, lds, rds = self.files_to_push(served, new, names)
        old_listeners = set(self.state.listeners) if served is None else {x.name for x in served.listeners}
        try:
            if cds:
                # 1. clusters: the new ones added, the old ones kept while routes may still use them
                push(self.layout.cds, clusters_body(new, extra=(served,) if served else ()), xds.CDS)
            # 2. routes of new listeners must exist before the listener that reads them
            for lst in new.listeners:
                path = self.layout.rds(lst.name)
                if lst.name not in old_listeners or not path.exists():
                    v = self.next_version()
                    body = route_config_body(new, lst.name)
                    xds.atomic_write(path, file_text(v, with_probe(body, v, token)))
            # 3. limiter files: a served one's edit is all Envoy needs (no listener rewrite)
            limited = self.limited_routes(served, new, names)
            watched = self.served_limiters()
            for route in limited:
                sub = xds.limit(route.name) if route.name in watched else xds.UNWATCHED
                push(self.layout.limit(route.name), limiter_body(route), sub)
            # 4. listeners (limiter slots, JWT providers), then 5. routes
            if lds:
                push(
                    self.layout.lds,
                    listeners_body(new, self.layout, self._access_log(new), self.state.access_log_headers),
                    xds.LDS,
                )
            for lst in new.listeners:
                if lst.name in old_listeners and lst.name in rds:
                    push(
                        self.layout.rds(lst.name),
                        route_config_body(new, lst.name),
                        xds.rds(lst.name),
                        lst.name,
                    )
            # 6. clusters nothing routes to any more
            if cds:
                push(self.layout.cds, clusters_body(new), xds.CDS)
        except (ChangeRejected, GatewayError) as exc:
            self.roll_back(pushed)
            if isinstance(exc, ChangeRejected):
                raise ChangeRejected(
                    f"{exc} — nothing was changed; the previous config is still serving"
                ) from exc
            raise
        for name in old_listeners - {x.name for x in new.listeners}:
            self.layout.rds(name).unlink(missing_ok=True)
        self.remove_unused_limiters(new, None if served is None else names)
        return f"v{version}", pushed

    def limited_routes(
        self, served: Gateway | None, new: Gateway, names: Sequence[str] | None
    ) -> list[Route]:
        """The routes of ``new`` with a limiter whose file may change (all of them when what is
        served is not known here)."""
        if served is None or names is None:
            return [r for r in new.routes if has_limiter(r)]
        after = {r.name: r for r in new.routes}
        return [r for r in (after.get(n) for n in names) if r is not None and has_limiter(r)]

    def served_limiters(self) -> set[str]:
        """The routes whose limiter the listeners on disk (what Envoy serves) name."""
        text = _read(self.layout.lds) or ""
        return set(_SLOT.findall(text))

    def remove_unused_limiters(self, new: Gateway, names: Sequence[str] | None) -> None:
        """Limiter files no listener names any more (after the listeners that named them went):
        those of the routes ``names`` that lost their limit, or any when they are not known."""
        after = {r.name: r for r in new.routes}
        if names is not None:
            for n in names:
                if n not in after or not has_limiter(after[n]):
                    self.layout.limit(n).unlink(missing_ok=True)
            return
        keep = {self.layout.limit(r.name) for r in new.routes if has_limiter(r)}
        for path in self.layout.xds_dir.glob(LIMIT_FILE_GLOB):
            if path not in keep:
                path.unlink(missing_ok=True)

    def probe(self, listener: str) -> Callable[[], str | None]:
        """Asks the listener which routes version it serves (see render.with_probe)."""
        address = self.state.listeners.get(listener, "")
        host, _, port = address.rpartition(":")
        host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
        url = f"http://{host}:{port}/"
        headers = {"host": PROBE_HOST, PROBE_HEADER: self.state.probe_token}

        def probe() -> str | None:
            try:
                response = self._probe_client.get(url, headers=headers)
            except httpx.HTTPError:
                return None
            return response.text if response.status_code == 200 else None

        return probe

    def roll_back(self, pushed: Pushed) -> None:
        for path, previous, sub in reversed(pushed):
            if previous is None:  # the file is new: Envoy never read it, take it away
                path.unlink(missing_ok=True)
                continue
            if sub is xds.UNWATCHED:  # Envoy does not read it: put the text back
                xds.atomic_write(path, previous)
                continue
            body = body_of(previous) or "[]"
            version = self.next_version()
            listener = (
                path.name.removeprefix("rds-").removesuffix(".json") if path.name.startswith("rds-") else None
            )
            text = file_text(
                version,
                with_probe(without_probe(body), version, self.state.probe_token) if listener else body,
            )
            try:
                self.pusher.push(path, text, sub, version, self.probe(listener) if listener else None)
            except GatewayError:
                # Envoy keeps serving the last accepted config anyway; make the file match it.
                xds.atomic_write(path, text)
        self.state.write(self.state_dir)


def _clusters_of(route: Route | None, gw: Gateway) -> object:
    return clusters_json(route, gw.backends) if route is not None else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
