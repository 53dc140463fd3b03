"""At 80x24 the header, the counts and the footer's first keys are in view,
the table keeps room for its rows, and the help fits (it scrolls)."""

from __future__ import annotations

import asyncio

from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from synthetic import MODULES, two_builds
from tuihelp import show, visible_text
from tui.app import ThinwatchApp
from tui.widgets.status import StatusBar

SIZE = (80, 24)
LONG = "/home/someone/src/projects/with/a/rather/long/path/to/their/workspace/sample"


def footer_keys(app) -> set[str]:
    """The keys the current screen's footer shows in full (on screen, and
    covered by nothing, such as the command palette's key)."""
    screen = app.screen

    def whole(key: FooterKey) -> bool:
        r = key.region
        return screen.region.contains_region(r) and all(
            screen.get_widget_at(x, r.y)[0] is key for x in range(r.x, r.right))
    return {k.key_display for k in screen.query_one(Footer).query(FooterKey) if whole(k)}


def test_80x24_shows_header_counts_table_and_footer():
    async def drive():
        app = ThinwatchApp(LONG, start=False)
        async with app.run_test(size=SIZE) as pilot:
            await show(pilot, two_builds())
            screen = app.screen.region
            status = app.query_one(StatusBar)
            header, counts = visible_text(status).splitlines()
            assert "thinwatch" in header and "watching" in header
            assert "build 2 · ok" in counts and "● 1 rebuilt ◐ 2 reimported ○ 6 reused" in counts
            table = visible_text(app.table)
            assert all(m in table for m in MODULES), table
            assert {"?", "q"} <= footer_keys(app), footer_keys(app)

            await pilot.press("question_mark")
            await pilot.pause()
            assert screen.contains_region(app.screen.query_one("#help").region)
            await pilot.press("escape", "enter")
            await pilot.pause()
            assert {"esc", "o", "b", "q"} <= footer_keys(app), footer_keys(app)
    asyncio.run(drive())
