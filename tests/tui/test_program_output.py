"""A program that prints a lot (the `run` command, test binaries) cannot push
the build and link lines out of the log's view: its output has a pane of its
own, showing the latest build's programs, a running one's lines as they
come; the status line says what runs, and that a change stopped it."""

from __future__ import annotations

import asyncio

from synthetic import WS, chatty_run, two_builds
from tuihelp import show, visible_text
from thinwatch.engine.events import ProgramEnded, ProgramFinished, ProgramOutput, ProgramStarted
from thinwatch.tui.app import ThinwatchApp
from thinwatch.tui.widgets.log_panel import LogPanel
from thinwatch.tui.widgets.output_panel import OutputPanel
from thinwatch.tui.widgets.status import StatusBar


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


def test_a_running_programs_lines_show_as_they_come_and_once():
    async def drive():
        app = ThinwatchApp(WS, start=False)
        async with app.run_test(size=(160, 45)) as pilot:
            await show(pilot, two_builds() + [ProgramStarted(2, "run", "sample", "sample"),
                                              ProgramOutput(2, "run", "sample", "step 0: ok")])
            assert "step 0: ok" in visible_text(app.query_one(OutputPanel))
            assert "running sample" in visible_text(app.query_one(StatusBar))
            await show(pilot, [ProgramOutput(2, "run", "sample", "step 1: ok"),
                               ProgramFinished(2, "run", "sample", 0, "step 0: ok\nstep 1: ok\n"),
                               ProgramEnded(2, "run", "sample", stopped=False)])
            assert [line.text for line in app.model.output] == ["step 0: ok", "step 1: ok", "run sample: exit 0"]
            assert "running" not in visible_text(app.query_one(StatusBar))
    asyncio.run(drive())


def test_the_status_line_says_testing_then_that_a_change_stopped_the_tests():
    async def drive():
        app = ThinwatchApp(WS, start=False)
        async with app.run_test(size=(160, 45)) as pilot:
            await show(pilot, two_builds() + [ProgramStarted(2, "test", "the tests", "tests")])
            assert "testing" in visible_text(app.query_one(StatusBar))
            await show(pilot, [ProgramEnded(2, "test", "the tests", stopped=True)])
            assert "tests stopped by a change" in visible_text(app.query_one(StatusBar))
            assert "tests stopped by a change" in visible_text(app.query_one(LogPanel))
    asyncio.run(drive())
