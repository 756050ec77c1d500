"""Light, steady demo traffic through the gateway so the console has something to show.

A few requests per second spread over every demo route, sent as a handful of users (``x-user-id``)
so per-client triage has data; the JWT route mostly gets valid tokens; the CORS route gets
preflights from an allowed and a refused origin; and every ``burst_every`` seconds one noisy client
fires a burst at the rate-limited route, larger than its bucket, so some requests get 429.

Bounded: one thread, one connection pool, a short timeout per request, at most ``rate`` requests
per second plus the bursts; ``stop()`` ends it within about one request timeout.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ..http_client import http_client
from .config import ALLOWED_ORIGIN, RATE_LIMIT_BURST, REFUSED_ORIGIN, ROUTES, DemoRoute, route

USERS = ("alice", "bob", "carol", "dave", "erin")
NOISY_USER = "crawler-7"

TokenSource = Callable[[str], str]


@dataclass
class TrafficStats:
    """What the generator sent and what came back (status 0 = no response)."""

    sent: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    by_route: Counter[str] = field(default_factory=Counter)
    bursts: int = 0

    def copy(self) -> TrafficStats:
        return TrafficStats(self.sent, Counter(self.by_status), Counter(self.by_route), self.bursts)


class TrafficGenerator:
    def __init__(
        self,
        base_url: str,
        *,
        token: TokenSource | None = None,
        rate: float = 4.0,
        burst_every: float = 15.0,
        burst_size: int = 2 * RATE_LIMIT_BURST,
        timeout: float = 2.0,
        seed: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.rate = rate
        self.burst_every = burst_every
        self.burst_size = burst_size
        self._token = token
        self._timeout = timeout
        self._random = random.Random(seed)
        self._stats = TrafficStats()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._tokens: dict[str, tuple[float, str]] = {}

    @property
    def stats(self) -> TrafficStats:
        with self._lock:
            return self._stats.copy()

    def start(self) -> TrafficGenerator:
        self._thread = threading.Thread(target=self._run, name="demo-traffic", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        with http_client(self.base_url, timeout=self._timeout, limits=limits) as client:
            # The first burst comes soon, so the limit shows within seconds of starting.
            next_burst = time.monotonic() + min(3.0, self.burst_every)
            interval = 1.0 / self.rate if self.rate > 0 else 1.0
            while not self._stopping.is_set():
                if self.burst_size and time.monotonic() >= next_burst:
                    self._burst(client)
                    next_burst = time.monotonic() + self.burst_every
                if self.rate > 0:
                    self._one(client, self._random.choice(ROUTES))
                # Jitter keeps the charts from looking like a metronome.
                self._stopping.wait(interval * self._random.uniform(0.5, 1.5))

    def _burst(self, client: httpx.Client) -> None:
        target = route("api-limited")
        for _ in range(self.burst_size):
            if self._stopping.is_set():
                return
            self._send(client, target, "GET", {"x-user-id": NOISY_USER})
        with self._lock:
            self._stats.bursts += 1

    def _one(self, client: httpx.Client, target: DemoRoute) -> None:
        user = self._random.choice(USERS)
        headers = {"x-user-id": user}
        method = "GET"
        roll = self._random.random()
        if target.name == "api-jwt":
            if roll < 0.85 and self._token is not None:
                headers["authorization"] = f"Bearer {self._user_token(user)}"
            elif roll < 0.95:
                pass  # no token: 401
            else:
                headers["authorization"] = "Bearer not-a-jwt"
        elif target.name == "api-cors":
            headers["origin"] = ALLOWED_ORIGIN if roll < 0.8 else REFUSED_ORIGIN
            if roll < 0.4 or roll >= 0.9:
                method = "OPTIONS"
                headers["access-control-request-method"] = "POST"
        elif target.name == "shop" and roll < 0.2:
            method = "POST"
        self._send(client, target, method, headers)

    def _user_token(self, user: str) -> str:
        # Signing costs ~1 ms; reuse a user's token for 10 minutes (tokens live an hour).
        minted, token = self._tokens.get(user, (-1.0, ""))
        if (minted < 0 or time.monotonic() - minted > 600) and self._token is not None:
            minted, token = time.monotonic(), self._token(user)
            self._tokens[user] = (minted, token)
        return token

    def _send(self, client: httpx.Client, target: DemoRoute, method: str, headers: dict[str, str]) -> None:
        headers = {"host": target.host, **headers}
        try:
            status = client.request(method, target.path, headers=headers).status_code
        except httpx.HTTPError:
            status = 0  # the gateway restarting or a backend gone: keep going, count it
        with self._lock:
            self._stats.sent += 1
            self._stats.by_status[status] += 1
            self._stats.by_route[target.name] += 1
