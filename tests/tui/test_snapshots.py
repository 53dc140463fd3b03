"""SVG snapshots of the main screen, the inspector and the help screen,
fed from a fixed list of synthetic events (no engine: nothing varies).
Update with `pytest tests/tui/test_snapshots.py --snapshot-update`."""

from __future__ import annotations

from synthetic import WS, two_builds
from tui.app import ThinwatchApp

SIZE = (130, 36)


def fed_app() -> ThinwatchApp:
    return ThinwatchApp(WS, start=False)


async def feed(pilot) -> None:
    pilot.app.feed(two_builds())
    pilot.app.flush()
    await pilot.pause()


def test_main_screen(snap_compare):
    assert snap_compare(fed_app(), terminal_size=SIZE, run_before=feed)


def test_main_screen_changed_only_by_state(snap_compare):
    async def before(pilot):
        await feed(pilot)
        await pilot.press("f", "s")
        await pilot.pause()
    assert snap_compare(fed_app(), terminal_size=SIZE, run_before=before)


def test_inspector(snap_compare):
    async def before(pilot):
        await feed(pilot)
        table = pilot.app.table
        table.move_cursor(row=table.get_row_index("app::shapes"))
        await pilot.press("enter")
        await pilot.pause()
    assert snap_compare(fed_app(), terminal_size=SIZE, run_before=before)


def test_help(snap_compare):
    async def before(pilot):
        await feed(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
    assert snap_compare(fed_app(), terminal_size=SIZE, run_before=before)
