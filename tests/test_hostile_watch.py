"""Watch mode against changes no editor makes: whole directories renamed,
swapped or replaced under a running watch. Each must start a build, and the
executable must then be what a clean build of the new tree gives."""

from __future__ import annotations

import shutil

from conftest import clean_outputs, outputs, run_exe
from test_watch import watcher  # noqa: F401  (a fixture)


def test_a_crate_directory_swapped_or_renamed_starts_a_build(ir_ws, watcher, pool, tmp_path):  # noqa: F811
    other = tmp_path / "other-core"
    shutil.copytree(ir_ws / "core", other)
    geom = other / "geom.ll"
    geom.write_text(geom.read_text().replace("%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay"))
    w = watcher(ir_ws)
    assert w.next("build-finished")["ok"]
    exe = ir_ws / ".thinwatch" / "out" / "sample"
    first = run_exe(exe)

    # Swapped for another tree (as `git checkout`, a backup restore or a
    # build script might), then swapped back: each is one directory event.
    for expect_first in (False, True):
        (ir_ws / "core").rename(ir_ws / "core.swapped")
        other.rename(ir_ws / "core")
        (ir_ws / "core.swapped").rename(other)
        done = w.next("build-finished", timeout=30)
        while done["superseded"]:
            done = w.next("build-finished", timeout=30)
        assert done["ok"]
        assert (run_exe(exe) == first) is expect_first
        assert outputs(ir_ws) == clean_outputs(ir_ws, pool, tmp_path)

    (ir_ws / "core").rename(ir_ws / "kernel")           # the manifest's crate is gone: say so
    done = w.next("build-finished", timeout=30)
    assert not done["ok"]
