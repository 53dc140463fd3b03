"""Keys on real workspaces: `c` is the clean of `thinwatch clean`, `e` finds
a Cargo module's source file, and Ctrl-C quits as in every watcher."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from conftest import IGNORE, ROOT, SAMPLE_IR
from tuihelp import built, wait_for
from thinwatch.tui.app import ThinwatchApp

SAMPLE_RUST = ROOT / "sample_crates" / "rust"


def test_c_cleans_what_thinwatch_clean_cleans(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(SAMPLE_IR, ws, ignore=IGNORE)
    app = ThinwatchApp(ws, jobs=2)
    build_dir = ws / ".thinwatch"
    planted = [build_dir / name / "planted" for name in ("cache", "objects", "units", "links")]

    async def drive() -> None:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, built(app, 1), 60, "the first build")
            for path in planted:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text("left by an earlier build")
            await pilot.press("c")
            await pilot.pause()
            await pilot.press("y")
            await wait_for(pilot, built(app, 2), 60, "the build after cleaning")
            assert app.model.last.ok and app.model.last.backend_jobs == 9
            await pilot.press("q")
            await pilot.pause()
    asyncio.run(drive())
    assert [p for p in planted if p.exists()] == []
    assert (build_dir / "out" / "sample").is_file()       # executables stay, as with `thinwatch clean`


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")
def test_e_opens_a_cargo_modules_source_file(tmp_path):
    ws = tmp_path / "rs"
    shutil.copytree(SAMPLE_RUST, ws, ignore=IGNORE)
    app = ThinwatchApp(ws, jobs=2)
    opened = []
    app.open_in_editor = lambda path, line=None: opened.append(path)

    async def drive() -> None:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, built(app, 1), 300, "the first build")
            assert app.model.last.ok
            for module in sorted(app.model.rows):
                app.table.move_cursor(row=app.table.get_row_index(module))
                await pilot.press("e")
                await pilot.pause()
            await pilot.press("q")
            await pilot.pause()
    asyncio.run(drive())
    crates = {path.relative_to(ws).parts[0] for path in opened}
    assert crates == {"app", "geometry", "stats"}, opened
    assert all(path.suffix == ".rs" and path.relative_to(ws).parts[1] == "src" for path in opened), opened


def test_ctrl_c_quits(tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(SAMPLE_IR, ws, ignore=IGNORE)
    app = ThinwatchApp(ws, jobs=2)

    async def drive() -> None:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, built(app, 1), 60, "the first build")
            await pilot.press("ctrl+c")
            await pilot.pause()
            assert not app.is_running
    asyncio.run(drive())
