"""A program that prints a lot (the `run` command, test binaries) cannot push
the build and link lines out of the log's view: its output has a pane of its
own, showing the latest build's programs."""

from __future__ import annotations

import asyncio

from synthetic import WS, chatty_run, two_builds
from tuihelp import show, visible_text
from tui.app import ThinwatchApp
from tui.widgets.log_panel import LogPanel
from tui.widgets.output_panel import OutputPanel


def test_build_and_link_lines_stay_in_view_when_the_program_prints_a_lot():
    async def drive():
        app = ThinwatchApp(WS, start=False)
        async with app.run_test(size=(160, 45)) as pilot:
            await show(pilot, two_builds())
            assert not app.query_one(OutputPanel).display
            await show(pilot, [chatty_run(2, 5000)])
            log = " ".join(visible_text(app.query_one(LogPanel)).split())     # wrapped lines joined
            assert "link /ws/sample/.thinwatch/out/sample" in log and "build 2 ok" in log
            assert "run sample: exit 0 (5000 lines of output)" in log
            assert "step" not in log
            output = app.query_one(OutputPanel)
            assert output.display and "step 4999: ok" in visible_text(output)
    asyncio.run(drive())


def test_the_output_pane_shows_the_latest_builds_programs():
    async def drive():
        app = ThinwatchApp(WS, start=False)
        async with app.run_test(size=(160, 45)) as pilot:
            await show(pilot, two_builds() + [chatty_run(1, 3)])
            await show(pilot, [chatty_run(2, 2)])
            assert [line.text for line in app.model.output] == ["run sample: exit 0", "step 0: ok", "step 1: ok"]
            assert app.query_one(OutputPanel).border_title == "output of build 2"
    asyncio.run(drive())
