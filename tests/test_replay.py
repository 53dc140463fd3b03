"""A one-shot build replays a unit only while every input its trace names is
as the last one-shot build left it (engine/replay.py): each of these
changes makes the next build a real one, whose outputs equal a clean
build's."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest

from conftest import Outcome, clean_outputs, edit, outputs
from thinwatch.engine import replay
from thinwatch.engine.events import ModuleState
from thinwatch.engine.reporter import Reporter
from thinwatch.engine.scheduler import run_build

HOUR_AGO = 3600


def once(ws: Path, pool, one_shot: bool = True) -> Outcome:
    out = Outcome()
    asyncio.run(run_build(ws, pool, Reporter(out.events.append, 1), one_shot=one_shot))
    assert out.finished.ok
    return out


def replayed(out: Outcome) -> bool:
    return "replay" in out.finished.phases and "thinlink" not in out.finished.phases


def age(ws: Path) -> None:
    """Sources written long ago, as a workspace's usually are: a stamp
    vouches for a file's content only once it is older than the file
    system's timestamps can tell apart."""
    for path in ws.rglob("*.ll"):
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - HOUR_AGO * 10**9))


def states(out: Outcome) -> list[tuple]:
    return sorted((e.module, e.state, tuple(sorted(vars(e).items()))) for e in out.events
                  if isinstance(e, ModuleState))


@pytest.fixture
def traced(ir_ws: Path, pool) -> Path:
    age(ir_ws)
    once(ir_ws, pool)
    return ir_ws


def test_a_no_op_replays_the_last_build_event_for_event(traced, pool):
    real = once(traced, pool, one_shot=False)         # a watch session's build neither replays nor traces
    assert not (traced / ".thinwatch" / replay.FILE).exists()
    traced_again = once(traced, pool)
    assert not replayed(traced_again)
    again = once(traced, pool)
    assert replayed(again)
    assert states(again) == states(real) == states(traced_again)
    assert again.finished.counts == real.finished.counts
    assert again.finished.outputs == real.finished.outputs


def _edit_source(ws: Path) -> None:
    path = ws / "core" / "math.ll"
    st = path.stat()
    edit(path, "%m = mul i32 %x, 16777619", "%m = mul i32 %x, 16777618")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))      # the same mtime, even


def _touch_object(ws: Path) -> None:
    obj = sorted((ws / ".thinwatch" / "objects").glob("*.o"))[0]
    obj.write_bytes(obj.read_bytes()[:-1] + b"\0")


def _delete_object(ws: Path) -> None:
    sorted((ws / ".thinwatch" / "objects").glob("*.o"))[0].unlink()


def _touch_executable(ws: Path) -> None:
    exe = ws / ".thinwatch" / "out" / "sample"
    exe.write_bytes(exe.read_bytes())


def _delete_executable(ws: Path) -> None:
    (ws / ".thinwatch" / "out" / "sample").unlink()


def _change_option(ws: Path) -> None:
    edit(ws / "thinwatch.toml", "opt_level = 2", "opt_level = 1")


def _change_preserved(ws: Path) -> None:
    edit(ws / "thinwatch.toml", 'entry = ["main"]', 'entry = ["main", "point_manhattan"]')


def _lose_cached_object(ws: Path) -> None:
    shutil.rmtree(ws / ".thinwatch" / "cache" / "obj")


def _rewrite_record(ws: Path) -> None:
    state = ws / ".thinwatch" / "state.json"
    data = state.read_bytes()
    state.unlink()
    state.write_bytes(data)


def _damage_trace(ws: Path) -> None:
    (ws / ".thinwatch" / replay.FILE).write_bytes(b"{")


@pytest.mark.parametrize("change", [_edit_source, _touch_object, _delete_object, _touch_executable,
                                    _delete_executable, _change_option, _change_preserved, _lose_cached_object,
                                    _rewrite_record, _damage_trace])
def test_any_change_to_what_the_trace_names_builds_for_real(traced, pool, tmp_path, change):
    assert replayed(once(traced, pool))
    change(traced)
    out = once(traced, pool)
    assert not replayed(out)
    assert outputs(traced) == clean_outputs(traced, pool, tmp_path)
    assert replayed(once(traced, pool))                # and it leaves a trace for the next


def test_other_engine_code_is_not_replayed(traced, pool, monkeypatch):
    assert replayed(once(traced, pool))
    real = replay._engine
    monkeypatch.setattr(replay, "_engine", lambda: real() + [["thin_link.py", [0, 0, 0, 0, 0]]])
    assert not replayed(once(traced, pool))


def test_a_source_its_stamp_cannot_vouch_for_leaves_no_trace(ir_ws, pool):
    # Modified "in the future": its stamp is never old enough to stand for its content.
    path = ir_ws / "core" / "math.ll"
    os.utime(path, (path.stat().st_atime, time.time() + HOUR_AGO))
    once(ir_ws, pool)
    assert not (ir_ws / ".thinwatch" / replay.FILE).exists()
    assert not replayed(once(ir_ws, pool))
