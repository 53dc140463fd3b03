"""The app on the real engine and the real sample workspace, driven by keys."""

from __future__ import annotations

import asyncio
import shutil

from conftest import IGNORE, SAMPLE_IR, edit
from tuihelp import built, settle, wait_for
from thinwatch.tui.app import ThinwatchApp
from thinwatch.tui.screens.code import CodeScreen
from thinwatch.tui.screens.inspector import InspectorScreen


def test_edit_inspect_filter_pause_quit(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(SAMPLE_IR, ws, ignore=IGNORE)
    app = ThinwatchApp(ws, jobs=2)
    asyncio.run(drive(app, ws))
    assert app.return_value == 0


async def drive(app: ThinwatchApp, ws) -> None:
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, built(app, 1), 60, "the first build")
        assert app.model.last.ok
        assert len(app.table.shown) == 9

        edit(ws / "core" / "geom.ll", "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay")
        await wait_for(pilot, built(app, 2), 30, "the rebuild after the edit")
        await pilot.pause(0.2)            # one more flush
        rows = app.model.rows
        assert rows["core::geom"].state == "rebuilt"
        assert rows["app::main"].state == "reimported"
        assert rows["app::shapes"].state == "reimported"
        assert rows["core::math"].state == "reused"
        assert "reimported" in str(app.table.get_cell("app::shapes", "state"))
        assert "◐" in str(app.table.get_cell("app::main", "state"))
        assert "●" in str(app.table.get_cell("core::geom", "state"))

        # inspector on app::shapes
        app.table.move_cursor(row=app.table.get_row_index("app::shapes"))
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InspectorScreen) and screen.module == "app::shapes"
        imports = screen.query_one("#ins-imports")
        names = [imports.get_row_at(i)[0] for i in range(imports.row_count)]
        assert "point_manhattan" in names
        why = str(screen.query_one("#ins-why").render())
        assert "point_manhattan" in why

        # the imported body, then the module's optimised IR
        imports.move_cursor(row=names.index("point_manhattan"))
        await pilot.press("b")
        code = app.screen
        assert isinstance(code, CodeScreen)
        await wait_for(pilot, lambda: "define available_externally" in code.query_one("#code").text, 30,
                       "the imported body")
        assert "@point_manhattan" in code.query_one("#code").text
        await pilot.press("escape")
        await pilot.press("o")
        code = app.screen
        await wait_for(pilot, lambda: "define" in code.query_one("#code").text, 30, "the optimised IR")
        assert "@shapes_demo" in code.query_one("#code").text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, InspectorScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InspectorScreen)

        # changed only: the three modules that did work
        await pilot.press("f")
        await pilot.pause()
        assert set(app.table.shown) == {"core::geom", "app::main", "app::shapes"}
        await pilot.press("f")
        await pilot.pause()
        assert len(app.table.shown) == 9

        # pause: an edit builds nothing until resumed
        await pilot.press("p")
        await pilot.pause()
        assert app.session.paused and app.model.watch_state == "paused"
        edit(ws / "core" / "geom.ll", "%d = sub i32 %ax, %ay", "%d = mul i32 %ax, %ay")
        await settle(pilot, 1.0)
        assert app.model.generation == 2
        await pilot.press("p")
        await wait_for(pilot, built(app, 3), 30, "the build after resuming")
        assert app.model.rows["core::geom"].state == "rebuilt"

        # clean: refused with n, done with y; the rebuild re-runs every backend
        cache = ws / ".thinwatch" / "cache"
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert cache.exists()
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, built(app, 4), 30, "the build after cleaning")
        assert app.model.last.ok and app.model.last.backend_jobs == 9

        await pilot.press("q")
        await pilot.pause()
