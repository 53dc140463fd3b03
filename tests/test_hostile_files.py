"""Hostile workspaces, files side (issue 15): what a checkout or a user may
leave where thinwatch keeps its state. thinwatch writes only inside its own
build directory, never through a link, fixes the modes of what it owns, and
leaves nothing behind in $TMPDIR."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import threading
import time
from pathlib import Path

from conftest import build, edit, thinwatch
from thinwatch.engine.builddir import private_dir
from test_watch import Watcher, _descendants


def tree(path: Path) -> dict[str, bytes | None]:
    """Every file below `path` with its content (None for a directory)."""
    return {str(p.relative_to(path)): None if p.is_dir() else p.read_bytes() for p in sorted(path.rglob("*"))}


def test_lock_as_a_link_is_refused_and_nothing_is_written_through_it(ir_ws, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's file\n")
    dangling = tmp_path / "created-through-the-link"
    (ir_ws / ".thinwatch").mkdir()
    for target in (victim, dangling):
        (ir_ws / ".thinwatch/lock").unlink(missing_ok=True)
        (ir_ws / ".thinwatch/lock").symlink_to(target)
        res = thinwatch("build", "--once", "--no-tui", str(ir_ws))
        assert res.returncode == 2, res.stderr
        assert f"{ir_ws.resolve() / '.thinwatch/lock'} is a symbolic link" in res.stderr and "Traceback" not in res.stderr
    assert victim.read_text() == "the user's file\n"
    assert not dangling.exists()


def test_build_dir_as_a_link_is_refused_by_build_and_clean(ir_ws, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "cache").mkdir(parents=True)
    (elsewhere / "cache/precious").write_text("not thinwatch's\n")
    (ir_ws / ".thinwatch").symlink_to(elsewhere)
    before = tree(elsewhere)
    for command in ("build", "clean"):
        res = thinwatch(command, str(ir_ws), *(["--once", "--no-tui"] if command == "build" else []))
        assert res.returncode == 2, (command, res.stderr)
        assert f"{ir_ws.resolve() / '.thinwatch'} is a symbolic link" in res.stderr
        assert tree(elsewhere) == before


def test_a_link_inside_the_build_dir_is_refused_and_one_in_the_cache_replaced(ir_ws, pool, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (ir_ws / ".thinwatch/cache").mkdir(parents=True)
    (ir_ws / ".thinwatch/cache/obj").symlink_to(elsewhere)      # where only thinwatch has business
    out = build(ir_ws, pool)
    assert out.finished.ok, [d.message for d in out.diagnostics]
    assert not (ir_ws / ".thinwatch/cache/obj").is_symlink() and any((ir_ws / ".thinwatch/cache/obj").iterdir())
    (ir_ws / ".thinwatch/out").rename(tmp_path / "out")
    (ir_ws / ".thinwatch/out").symlink_to(elsewhere)            # maybe deliberate: the user decides
    res = thinwatch("build", "--once", "--no-tui", str(ir_ws))
    assert res.returncode == 2 and f"{ir_ws.resolve() / '.thinwatch/out'} is a symbolic link" in res.stderr
    assert list(elsewhere.iterdir()) == []


def test_modes_of_a_pre_existing_build_dir_are_fixed(ir_ws, pool):
    build_dir = ir_ws / ".thinwatch"
    (build_dir / "cache/obj").mkdir(parents=True)
    for path in (build_dir, build_dir / "cache", build_dir / "cache/obj"):
        path.chmod(0o777)
    assert build(ir_ws, pool).finished.ok
    for path in (build_dir, build_dir / "cache", build_dir / "cache/obj"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    build_dir.chmod(0o755)
    res = thinwatch("build", "--once", "--no-tui", str(ir_ws))     # the lock's path fixes it too
    assert res.returncode == 0 and stat.S_IMODE(build_dir.stat().st_mode) == 0o700


def test_strays_in_the_cache_do_not_break_pruning(ir_ws, pool, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "old").write_text("pruning must not reach here\n")
    os.utime(elsewhere / "old", (0, 0))                # older than any max age
    cache = ir_ws / ".thinwatch/cache"
    (cache / "obj/ab/stray-dir").mkdir(parents=True)
    (cache / "NOTES.txt").write_text("a note\n")
    (cache / ".DS_Store").write_bytes(b"\0")
    (cache / "obj/.DS_Store").write_bytes(b"\0")
    (cache / "dangling").symlink_to(tmp_path / "nothing")
    (cache / "linked").symlink_to(elsewhere)
    (cache / "obj/zz").symlink_to(elsewhere)
    out = build(ir_ws, pool)                           # writes entries, so it prunes
    assert out.finished.ok, [d.message for d in out.diagnostics]
    assert (elsewhere / "old").exists() and (cache / "NOTES.txt").exists()
    assert set(build(ir_ws, pool).states.values()) == {"reused"}


def test_build_dir_as_a_file_is_a_clear_error(ir_ws):
    (ir_ws / ".thinwatch").write_text("someone's notes\n")
    for command in ("build", "clean"):
        res = thinwatch(command, str(ir_ws))
        assert res.returncode == 2, res.stderr
        assert f"{ir_ws.resolve() / '.thinwatch'} is not a directory" in res.stderr and "Traceback" not in res.stderr
    assert (ir_ws / ".thinwatch").read_text() == "someone's notes\n"


def test_a_run_leaves_nothing_in_tmpdir(ir_ws, tmp_path):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    res = thinwatch("build", "--once", "--no-tui", str(ir_ws), env={**os.environ, "TMPDIR": str(tmp)})
    assert res.returncode == 0, res.stderr
    assert list(tmp.rglob("*")) == []


def _driver_files(tmp: Path) -> set[Path]:
    return {p for p in tmp.rglob("cc*") if p.is_file()}


def _driver(w: Watcher) -> int | None:
    """The pid of the C driver the watcher runs, if any."""
    for pid in _descendants(w.proc.pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if os.path.basename(argv[0]) == b"cc":
            return pid
    return None


def _ended(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _feed(fifo: Path, done: threading.Event) -> None:
    """Give every linker that opens the FIFO a junk object, so it fails and ends."""
    while not done.is_set():
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as e:
            assert e.errno == errno.ENXIO          # no reader now
            time.sleep(0.02)
            continue
        try:
            os.write(fd, b"not an object")
        except OSError:
            pass
        os.close(fd)


def _until(condition, what: str, w: Watcher):
    deadline = time.monotonic() + 60
    while not (found := condition()):
        assert time.monotonic() < deadline, f"{what}: {b''.join(w.stderr).decode()[-2000:]}"
        time.sleep(0.02)
    return found


def test_a_cancelled_link_leaves_no_driver_files(ir_ws, tmp_path, monkeypatch):
    # The link reads an input nobody writes yet (a FIFO), so it is still
    # running when an edit cancels it, as a long link is.
    fifo = tmp_path / "blocking.o"
    os.mkfifo(fifo)
    edit(ir_ws / "thinwatch.toml", "libs = []", f'libs = ["{fifo}"]')
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    w = Watcher(ir_ws)
    done = threading.Event()
    try:
        first = _until(lambda: _driver_files(tmp), "no link started", w)
        driver = _until(lambda: _driver(w), "no C driver", w)
        edit(ir_ws / "core/geom.ll", "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay")
        _until(lambda: _ended(driver), "the link was not cancelled", w)
        # The killed driver's linker still waits for its input: let it, and
        # every later link, fail and end.
        threading.Thread(target=_feed, args=(fifo, done), daemon=True).start()
        w.next("build-finished", superseded=True)
        assert not any(p.exists() for p in first)
    finally:
        w.stop()
        done.set()
    assert list(tmp.rglob("*")) == []


def test_removing_the_build_dir_under_a_watch_does_not_free_the_workspace(ir_ws):
    w = Watcher(ir_ws)
    try:
        w.next("build-finished", ok=True)
        shutil.rmtree(ir_ws / ".thinwatch")
        res = thinwatch("build", "--once", "--no-tui", str(ir_ws))
        assert res.returncode == 2 and "another thinwatch is using" in res.stderr, res.stderr
        edit(ir_ws / "core/geom.ll", "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay")
        w.next("build-finished", ok=True)                 # and the watch builds on, in a new build dir
        assert (ir_ws / ".thinwatch/out/sample").exists()
    finally:
        w.stop()


def test_writers_racing_to_replace_a_link_in_the_cache_all_succeed(tmp_path):
    """Cache writes run in threads: several may find the same planted link
    at once. The first replaces it; the others must take its directory, not
    fail a module with 'Is a directory' (seen in CI)."""
    errors = []
    for trial in range(500):
        (tmp_path / str(trial)).mkdir()
        link = tmp_path / str(trial) / "obj"
        link.symlink_to(tmp_path)
        start = threading.Barrier(8)

        def write() -> None:
            start.wait()
            try:
                private_dir(link)
            except OSError as e:
                errors.append(e)
        threads = [threading.Thread(target=write) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert link.is_dir() and not link.is_symlink()
    assert errors == []
