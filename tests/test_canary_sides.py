"""The canary view's side panels never show figures they do not have: with no metrics snapshot (Envoy
gone, the source failing) req/s and errors read "—", not a 0.0 that looks measured (cold test)."""

from __future__ import annotations

from connectors.canary_views import side_by_side
from tui.widgets.canary_sides import side_text


def test_without_a_snapshot_the_sides_show_no_figures() -> None:
    stable, canary = side_by_side("shop", "v1", "v2", 10, None)
    for role, view in (("stable", stable), ("canary", canary)):
        text = side_text(role, view).plain
        assert "req/s now       —" in text and "errors now    —" in text, text
        assert "0.0" not in text.replace("declared   90.0%", "").replace("declared   10.0%", ""), text
