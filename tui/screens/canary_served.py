"""What the canary view knows about the weights the gateway serves, to tell its own changes from
someone else's (``set-weights`` in another terminal, another console) and to say so.

The view polls the route at its refresh interval. While a run goes, the run itself watches for
outside changes (it holds and says so). Otherwise the view compares each poll with the split it
expects: the one its last run (or one-off abort/promote) left, else the one it first saw. When they
differ, it logs the change once and shows the last run's summary as past: "last run: promoted
14:02; weights changed since to 70/30 (v1/v2)".
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from connectors.canary_evidence import split_text
from connectors.model import Route


def _split(route: Route) -> dict[str, int]:
    return {name: round(pct) for name, pct in route.weight_share().items()}


@dataclass
class ServedWeights:
    expected: dict[str, int] | None = None  # the split the view last saw or its own change left
    since: float = 0.0  # polls fetched before this may predate the view's own change: ignored
    last_run: tuple[str, float] | None = None  # how and when the last run ended
    changed: str = ""  # the split served now, once it differs from what the last run left

    def run_started(self) -> None:
        """A run goes: it watches the route itself."""
        self.expected, self.last_run, self.changed = None, None, ""

    def run_ended(
        self, state: str, when: float, route: Route | None, names: tuple[str, str], weight: int
    ) -> None:
        """The run (or a one-off abort/promote) ended at ``when``, leaving ``weight`` % on the canary
        (a failed run's weights are unknown: the next poll says what they are)."""
        stable, canary = names
        expected = None
        if route is not None and state != "failed":
            expected = {b.name: 0 for b in route.backends} | {stable: 100 - weight, canary: weight}
        self.expected, self.since, self.last_run, self.changed = expected, when, (state, when), ""

    def polled(self, route: Route, fetched_at: float) -> str | None:
        """A line for the log when the served split changed from outside since the view last looked."""
        if fetched_at < self.since:
            return None
        now = _split(route)
        if self.expected is None:
            self.expected = now
            return None
        if now == self.expected:
            return None
        self.expected, self.changed = now, split_text(route)
        return f"weights changed outside the canary view: now {self.changed}"

    def past(self) -> str:
        """``last run: promoted 14:02; weights changed since to 70/30 (v1/v2)``, once they changed."""
        if not self.changed:
            return ""
        if self.last_run is None:
            return f"weights changed to {self.changed}"
        state, when = self.last_run
        at = time.strftime("%H:%M", time.localtime(when))
        return f"last run: {state} {at}; weights changed since to {self.changed}"

    def short(self) -> str:
        """For the heading: ``last run promoted 14:02, weights changed since``."""
        if not self.changed or self.last_run is None:
            return ""
        state, when = self.last_run
        return f"last run {state} {time.strftime('%H:%M', time.localtime(when))}, weights changed since"
