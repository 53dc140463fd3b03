"""`thinwatch run` and `thinwatch test --watch` in the terminal UI, on real
Cargo workspaces: the program's lines come as it prints them and a change
restarts it; libtest's summary is in the test program's log line."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from conftest import edit
from test_cargo_loops import SERVER
from test_cargo_tests import workspace
from tuihelp import visible_text, wait_for
from thinwatch.engine.frontends.cargo.run import program
from thinwatch.engine.frontends.cargo.select import Selection
from thinwatch.tui.app import ThinwatchApp
from thinwatch.tui.widgets.log_panel import LogPanel
from thinwatch.tui.widgets.output_panel import OutputPanel
from thinwatch.tui.widgets.status import StatusBar

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")


def test_run_shows_the_programs_lines_as_they_come_and_restarts_it_after_an_edit(tmp_path):
    ws = workspace(tmp_path / "ws", {"srv": {"src/main.rs": SERVER}})
    exe, selection = program(ws, Selection())            # as `thinwatch run` chooses it
    app = ThinwatchApp(ws, jobs=2, options=selection, run=[str(exe), "a"])

    async def drive():
        async with app.run_test(size=(120, 40)) as pilot:
            output, status = app.query_one(OutputPanel), app.query_one(StatusBar)
            await wait_for(pilot, lambda: "version 1" in visible_text(output), 120, "the program's first line")
            # The program runs on (it never ends): its line came live.
            assert 'args ["a"]' in visible_text(output)
            assert "running srv" in visible_text(status)
            edit(ws / "srv/src/main.rs", "version 1", "version 2")
            await wait_for(pilot, lambda: "srv stopped by a change" in visible_text(status), 30, "the stop")
            await wait_for(pilot, lambda: "version 2" in visible_text(output), 120, "the new program's line")
            assert "version 1" not in visible_text(output)       # the new build's program replaced it
            assert "running srv" in visible_text(status)
            assert "srv stopped by a change" in visible_text(app.query_one(LogPanel))
            await pilot.press("q")
    asyncio.run(drive())
    assert app.return_value == 0


def test_test_watch_shows_libtests_summary_in_the_log(tmp_path):
    lib = ("pub fn answer() -> i32 { 42 }\n#[cfg(test)]\nmod t {\n"
           "    #[test] fn answer_is_42() { assert_eq!(super::answer(), 42); }\n    #[test] fn other() {}\n}\n")
    ws = workspace(tmp_path / "ws", {"calc": {"src/lib.rs": lib}})
    app = ThinwatchApp(ws, jobs=2, tests=True, options=Selection(), test_args=["answer"])

    def logged() -> str:
        return " ".join(visible_text(app.query_one(LogPanel)).split())      # wrapped lines joined

    async def drive():
        async with app.run_test(size=(160, 40)) as pilot:
            # Awaited whole: a long line is laid out again as the panes settle.
            summary = ("test test.calc.lib.calc: exit 0 · test result: ok. 1 passed; 0 failed; 0 ignored; "
                       "0 measured; 1 filtered out")
            await wait_for(pilot, lambda: summary in logged(), 120, "the tests' summary")
            # The pane holds the harness's output (the doc-tests' may have scrolled it out of view).
            assert any("1 passed" in line.text for line in app.model.output)
            edit(ws / "calc/src/lib.rs", "42 }", "41 }")
            await wait_for(pilot, lambda: "test result: FAILED. 0 passed; 1 failed" in logged(), 120,
                           "the failing tests' summary")
            await pilot.press("q")
    asyncio.run(drive())
