"""What an on-call operator could not read or trust, cold in tmux against ``./dev demo`` (issue 11,
"Keys that cannot hurt" and "Findable and fitting"), at 160x45 and 100x30, on the in-memory gateway:

- dialogs (quit, discard) show their whole text, wrapped, with both answers;
- the weight bar names every backend, even a 1 % one, abbreviating long names to fit;
- after a successful apply the diff offers Done and Undo, never Apply again;
- the rate-limit mode shows which option is chosen without colour (NO_COLOR);
- a ``-`` typed into a weight field says, under the field, that a weight is 0..100.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from textual.containers import ScrollableContainer
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, RadioSet

from connectors.model import Cors, Route, StringMatch, WeightedBackend
from tests.test_tui_support import StaticConnector, sample_routes
from tests.waiting import wait_until_ui
from tui.app import ConsoleApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.diff import DiffScreen
from tui.screens.edit_cors import CorsEditor
from tui.screens.edit_rate_limit import RateLimitEditor
from tui.screens.routes import RoutesScreen
from tui.widgets.weight_bar import WeightBar, bar_texts, distinct_cores, percent_text, split_cells

SIZES = [pytest.param((160, 45), id="160x45"), pytest.param((100, 30), id="100x30")]
DEMO = "the demo gateway demo (Envoy listening on http://127.0.0.1:10000)"
BORDERS = "█▀▄▔▁▊▎▐▌"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAYCTL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("GATEWAYCTL_STATE_DIR", str(tmp_path / "state"))


def flat(text: str) -> str:
    """Words as read across wrapped lines: borders dropped, whitespace collapsed."""
    return " ".join(re.sub(f"[{BORDERS}]", " ", text).split())


def screen_rows(app: ConsoleApp) -> list[str]:
    """The terminal's rows as text, blank rows kept (``visible_text`` leaves them out), so a
    widget's region picks its own text."""
    svg = app.export_screenshot()
    rows = [""] * app.size.height
    pattern = r'<text[^>]*? x="([\d.]+)"[^>]*?textLength="([\d.]+)"[^>]*?-line-(\d+)\)">([^<]*)</text>'
    for x, length, line, raw in re.findall(pattern, svg):
        text = html.unescape(raw).replace("\xa0", " ")
        if text.strip("\n") and float(length) > 0 and int(line) < len(rows):
            column = round(float(x) / (float(length) / len(text)))
            row = rows[int(line)].ljust(column)
            rows[int(line)] = row[:column] + text + row[column + len(text) :]
    return rows


def region_text(app: ConsoleApp, widget: Widget, region: Region | None = None) -> str:
    """The text on screen inside ``widget``'s region (what the operator reads there)."""
    region = region or widget.region
    return "\n".join(line[region.x : region.right] for line in screen_rows(app)[region.y : region.bottom])


async def _open_form(pilot: Pilot[None], key: str, route: str) -> Widget:
    app = pilot.app
    assert isinstance(app, ConsoleApp)
    await wait_until_ui(pilot, lambda: app.routes_loaded, what="the routes")
    await pilot.press("slash", *f"^{route}$", "enter", key)
    await wait_until_ui(pilot, lambda: not isinstance(app.screen, RoutesScreen), what="the form")
    return app.screen


# -- 3. dialogs fit and wrap --------------------------------------------------------------------


async def _details_read_through(pilot: Pilot[None], app: ConsoleApp, details: ScrollableContainer) -> str:
    """Every line of the details as the operator reads them, scrolling page by page when they are
    longer than the dialog (each line once, in order)."""
    seen: dict[int, str] = {}
    for y in range(0, max(1, details.virtual_size.height), max(1, details.scrollable_content_region.height)):
        details.scroll_to(y=y, animate=False)
        await pilot.pause()
        top = round(details.scroll_y)
        for i, line in enumerate(region_text(app, details, details.scrollable_content_region).splitlines()):
            seen.setdefault(top + i, line)
    details.scroll_home(animate=False)
    return "\n".join(seen[i] for i in sorted(seen))


async def _whole_dialog(pilot: Pilot[None], app: ConsoleApp, texts: list[str]) -> None:
    await wait_until_ui(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the question")
    await pilot.pause()
    dialog = app.screen.query_one("#dialog")
    details = dialog.query_one("#details", ScrollableContainer)
    shown = flat(region_text(app, dialog) + "\n" + await _details_read_through(pilot, app, details))
    for text in texts:
        assert flat(text) in shown, f"cut off: {text!r}\nshown: {shown}"
    assert dialog.region.bottom <= app.size.height, "the dialog is taller than the terminal"


@pytest.mark.parametrize("size", SIZES)
async def test_the_quit_question_shows_its_whole_text(size: tuple[int, int]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()), stops_on_quit=DEMO)
    async with app.run_test(size=size) as pilot:
        await _open_form(pilot, "w", "shop")
        await pilot.press("5", "0", "ctrl+q")
        costs = app.quit_costs()
        assert len(costs) == 2
        await _whole_dialog(pilot, app, ["Quit gatewayctl?", *costs, "Stay (n/esc)", "Quit (y)"])


@pytest.mark.parametrize("size", SIZES)
async def test_the_discard_question_of_a_long_cors_edit_shows_its_whole_text(size: tuple[int, int]) -> None:
    origins = tuple(StringMatch("exact", f"https://team-{i:02d}.shop.example.com") for i in range(24))
    route = Route("api-cors", (WeightedBackend("v1", 100),), cors=Cors(origins, ("GET", "POST")))
    app = ConsoleApp(StaticConnector((*sample_routes(), route)), stops_on_quit=DEMO)
    async with app.run_test(size=size) as pilot:
        form = await _open_form(pilot, "c", "api-cors")
        assert isinstance(form, CorsEditor)
        form.query_one("#methods", Input).value = "GET, POST, PUT"
        await pilot.pause()
        summary = str(form.summary(form.candidate))
        await pilot.press("escape")
        await _whole_dialog(
            pilot, app, ["Discard your edit?", summary, "https://team-23.shop.example.com", "Discard (y)"]
        )


# -- 5. the weight bar names every backend -------------------------------------------------------


def _bar_text(app: ConsoleApp) -> str:
    return region_text(app, app.screen.query_one("#bar", WeightBar))


@pytest.mark.parametrize("size", SIZES)
async def test_the_weight_bar_names_a_one_percent_backend(size: tuple[int, int]) -> None:
    route = Route("shop", (WeightedBackend("v1", 99), WeightedBackend("v2", 1)))
    app = ConsoleApp(StaticConnector((route, *sample_routes()[1:])))
    async with app.run_test(size=size) as pilot:
        await _open_form(pilot, "w", "shop")
        await pilot.pause()
        bar = _bar_text(app)
        assert "v1 99%" in bar and "v2 1%" in bar, bar


@pytest.mark.parametrize("size", SIZES)
async def test_the_weight_bar_names_three_backends_with_long_names(size: tuple[int, int]) -> None:
    names = ("checkout-stable-eu-west", "checkout-canary-eu-west", "checkout-shadow-eu-west")
    route = Route("checkout", tuple(WeightedBackend(n, w) for n, w in zip(names, (97, 2, 1), strict=True)))
    app = ConsoleApp(StaticConnector((route, *sample_routes()[1:])))
    async with app.run_test(size=size) as pilot:
        await _open_form(pilot, "w", "checkout")
        await pilot.pause()
        bar = _bar_text(app)
        for name, pct in zip(names, ("97%", "2%", "1%"), strict=True):
            shown = re.search(rf"(\S+) {pct}", bar)
            assert shown, f"{name} {pct} not in {bar!r}"
            label = shown.group(1).lstrip("▸←").rstrip("…")
            named = [n for n in names if label in n]
            assert named == [name] and len(label) >= 3, f"{label!r} does not name {name}: {bar!r}"


def test_bar_labels_name_thin_backends_on_a_neighbour_by_their_distinct_part() -> None:
    assert distinct_cores(["checkout-stable-eu", "checkout-canary-eu"]) == ["stable", "canary"]
    assert distinct_cores(["v1", "v2"]) == ["v1", "v2"]

    def bar(weights: list[tuple[str, int]], width: int) -> str:
        shares = [float(w) for _, w in weights]
        pcts = [percent_text(share, sum(shares)) for share in shares]
        return "".join(bar_texts([n for n, _ in weights], pcts, split_cells(shares, width), None))

    assert bar([("v1", 99), ("v2", 1)], 40).split() == ["v1", "99%", "v2", "1%", "→"]
    assert bar([("v1", 1), ("v2", 99)], 40).split() == ["←", "v1", "1%", "v2", "99%"]
    assert bar([("v1", 90), ("v2", 10)], 80).split() == ["v1", "90%", "v2", "10%"], "both fit inside"
    shown = bar([("checkout-stable-eu", 97), ("checkout-canary-eu", 2), ("checkout-shadow-eu", 1)], 40)
    assert shown.split() == ["stable", "97%", "canary", "2%", "→", "shadow", "1%", "→"]


# -- 6. after a successful apply: Done and Undo, no Apply ----------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_after_a_successful_apply_the_diff_offers_done_and_undo_not_apply(
    size: tuple[int, int],
) -> None:
    connector = StaticConnector(sample_routes())
    app = ConsoleApp(connector)
    async with app.run_test(size=size) as pilot:
        await _open_form(pilot, "w", "shop")
        await pilot.press("p", "ctrl+s")  # 90/10 → 50/50
        await wait_until_ui(pilot, lambda: isinstance(app.screen, DiffScreen), what="the diff")
        diff = app.screen
        assert isinstance(diff, DiffScreen)
        await pilot.press("a")
        await wait_until_ui(pilot, lambda: diff.state == "done", what="the apply")
        await pilot.pause()
        buttons = flat(region_text(app, diff.query_one("#buttons")))
        assert "Apply" not in buttons and "Done" in buttons and "Undo (u)" in buttons, buttons
        version = connector.version
        await pilot.press("a")  # nothing to apply again
        await pilot.pause()
        assert connector.version == version and app.screen is diff

        await pilot.press("u")  # the undo, through its own diff
        await wait_until_ui(pilot, lambda: app.screen is not diff and isinstance(app.screen, DiffScreen))
        undo = app.screen
        assert isinstance(undo, DiffScreen) and "undo" in flat(region_text(app, undo.query_one("#dialog")))
        await pilot.press("a")
        await wait_until_ui(pilot, lambda: undo.state == "done", what="the undo")
        assert [b.weight for b in connector.get_route("shop").backends] == [90, 10]
        await pilot.pause()
        assert "Apply" not in flat(region_text(app, undo.query_one("#buttons")))
        await pilot.press("escape")
        await wait_until_ui(pilot, lambda: app.screen is diff)
        await pilot.pause()
        assert "Undo" not in flat(region_text(app, diff.query_one("#buttons"))), "undone already"


# -- 7. the rate-limit mode without colour -------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_the_chosen_rate_limit_mode_shows_without_colour(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = ConsoleApp(StaticConnector(sample_routes()))
    assert app.no_color
    async with app.run_test(size=size) as pilot:
        form = await _open_form(pilot, "r", "api")
        assert isinstance(form, RateLimitEditor)
        modes = form.query_one("#mode", RadioSet)

        def marked() -> list[str]:
            lines = region_text(app, modes).splitlines()
            return [line for line in lines if "●" in line or "◉" in line]

        await pilot.pause()
        assert len(marked()) == 1 and "Enforced" in marked()[0], region_text(app, modes)
        modes.focus()
        await pilot.press("down", "enter")  # the option under Enforced: Shadow
        await wait_until_ui(pilot, lambda: form.mode == "shadow", what="Shadow chosen")
        await pilot.pause()
        assert len(marked()) == 1 and "Shadow" in marked()[0], region_text(app, modes)


# -- 9. a '-' in a weight field -----------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
async def test_a_minus_in_a_weight_field_says_weights_are_0_to_100(size: tuple[int, int]) -> None:
    app = ConsoleApp(StaticConnector(sample_routes()))
    async with app.run_test(size=size) as pilot:
        form = await _open_form(pilot, "w", "shop")
        v1, v2 = form.query_one("#weight-0", Input), form.query_one("#weight-1", Input)
        v2.focus()
        await pilot.pause()
        await pilot.press("minus")
        await pilot.pause()
        assert (v1.value, v2.value) == ("90", "10"), "not typed, and no shortcut moved weight"
        error = flat(region_text(app, form.query_one("#error-weight-1")))
        assert "v2 weight must be 0..100" in error and "'-'" in error, error
        await pilot.press("2", "0", "minus")  # after digits too: refused, said again
        await pilot.pause()
        assert (v1.value, v2.value) == ("80", "20")
        assert "v2 weight must be 0..100" in flat(region_text(app, form.query_one("#error-weight-1")))
        await pilot.press("backspace", "5")
        await pilot.pause()
        assert v2.value == "25" and not form.query_one("#error-weight-1").display
