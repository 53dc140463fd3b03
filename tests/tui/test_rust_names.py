"""The TUI on the Rust sample speaks Rust: modules by label, the why of an
importer demangled, `/norm` finds the module defining `geometry::norm`, and
`e` hands `$EDITOR` that function's file and line."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil

import pytest

from conftest import IGNORE, ROOT, edit
from tuihelp import built, wait_for
from thinwatch.tui.app import ThinwatchApp
from thinwatch.tui.screens.inspector import InspectorScreen

SAMPLE_RUST = ROOT / "sample_crates" / "rust"
WHY = "imported geometry::norm changed"

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")


def test_rust_modules_read_as_rust(tmp_path, monkeypatch):
    ws = tmp_path / "rs"
    shutil.copytree(SAMPLE_RUST, ws, ignore=IGNORE)
    said = tmp_path / "editor-args"
    editor = tmp_path / "editor"
    editor.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {said}\n')
    editor.chmod(0o755)
    monkeypatch.setenv("EDITOR", str(editor))
    monkeypatch.delenv("VISUAL", raising=False)
    app = ThinwatchApp(ws, jobs=2)
    # The headless driver has no terminal to hand over; the editor still runs.
    app.suspend = contextlib.nullcontext

    async def drive() -> None:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, built(app, 1), 300, "the first build")
            assert app.model.last.ok
            edit(ws / "geometry/src/lib.rs", "distance(ORIGIN, p)", "distance(p, ORIGIN)")
            await wait_for(pilot, built(app, 2), 300, "the build after editing geometry::norm")
            await pilot.pause(0.2)            # one more flush
            assert app.model.last.ok
            rows = app.model.rows

            # Every codegen unit is shown by what it holds, not by rustc's hash.
            for mid, row in rows.items():
                shown = str(app.table.get_cell(mid, "module"))
                assert shown == row.label and shown.startswith(f"{row.crate} · "), (mid, shown)
                assert mid.split("::")[1] not in shown

            # The importer's why, demangled and without the hash.
            importers = [mid for mid, row in rows.items() if WHY in row.why]
            assert importers, {mid: row.why for mid, row in rows.items() if row.why}
            app.table.move_cursor(row=app.table.get_row_index(importers[0]))
            await pilot.press("enter")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, InspectorScreen)
            why = str(screen.query_one("#ins-why").render())
            assert WHY in why and "_ZN" not in why, why
            imports = screen.query_one("#ins-imports")
            assert "geometry::norm" in [str(imports.get_row_at(i)[0]) for i in range(imports.row_count)]
            await pilot.press("escape")
            await pilot.pause()

            # `/norm` selects the module that defines geometry::norm.
            norm = next(name for name, exporter, _ in rows[importers[0]].imports
                        if rows[importers[0]].names.get(name) == "geometry::norm")
            definer = next(exporter for name, exporter, _ in rows[importers[0]].imports if name == norm)
            await pilot.press("slash", "n", "o", "r", "m", "enter")
            await pilot.pause()
            assert app.table.current == definer, (app.table.current, definer)
            assert definer in app.table.shown and importers[0] in app.table.shown

            # `e` opens its file at the function.
            await pilot.press("e")
            await wait_for(pilot, said.exists, 10, "the editor")
            await pilot.press("q")
            await pilot.pause()
    asyncio.run(drive())
    lib = ws / "geometry" / "src" / "lib.rs"
    line = next(n for n, text in enumerate(lib.read_text().splitlines(), 1) if re.search(r"\bfn norm\b", text))
    assert said.read_text().splitlines() == [f"+{line}", str(lib)]
