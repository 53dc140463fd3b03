"""Real Cargo workspaces through thinwatch: real cargo, real rustc bitcode."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest

from conftest import IGNORE, ROOT, build, cargo_release_dir, edit, run_exe, thinwatch, undefined_symbols_of
from thinwatch.engine.frontends.cargo import linkshim
from thinwatch.engine.frontends.cargo import project as cargo_project
from thinwatch.engine.frontends.cargo.config import user_config
from thinwatch.engine.frontends.cargo.cfg_expr import matches

SAMPLE_RUST = ROOT / "sample_crates" / "rust"

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")


@pytest.fixture
def rust_ws(tmp_path) -> Path:
    dest = tmp_path / "rs"
    shutil.copytree(SAMPLE_RUST, dest, ignore=IGNORE)
    return dest


def cargo_output(ws: Path, tmp: Path) -> str:
    """What the binary of plain `cargo build --release` prints."""
    env = dict(os.environ, CARGO_TARGET_DIR=str(tmp / "cargo-target"))
    env.pop("RUSTFLAGS", None)
    subprocess.run(["cargo", "build", "--release", "--offline", "-q"], cwd=ws, env=env, check=True)
    return run_exe(tmp / "cargo-target" / "release" / "app")


def objects(ws: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (ws / ".thinwatch" / "units" / "app" / "objects").glob("*.o")}


@contextmanager
def incremental_state_aside(ws: Path):
    """The cache and the units' state moved aside, so that a build inside is
    a clean one of the same bitcode; put back afterwards, whatever happened."""
    saved = {}
    for name in ("cache", "units"):
        if (ws / ".thinwatch" / name).exists():
            saved[name] = (ws / ".thinwatch" / name).rename(ws / ".thinwatch" / f"{name}.incremental")
    try:
        yield
    finally:
        for name, path in saved.items():
            shutil.rmtree(ws / ".thinwatch" / name, ignore_errors=True)
            path.rename(ws / ".thinwatch" / name)


def clean_objects(ws: Path, pool) -> dict[str, str]:
    """A clean thinwatch build (empty cache) of the same bitcode."""
    with incremental_state_aside(ws):
        assert build(ws, pool).finished.ok
        return objects(ws)


def test_binary_matches_cargo_and_spans_three_crates(rust_ws, tmp_path, pool):
    res = thinwatch("build", "--once", "--no-tui", str(rust_ws))
    assert res.returncode == 0, res.stdout + res.stderr
    got = run_exe(rust_ws / ".thinwatch" / "out" / "app")
    assert got == cargo_output(rust_ws, tmp_path)
    crates = {p.name.split(".")[0] for p in objects_dir(rust_ws).glob("*.o")}
    assert {"app", "geometry", "stats"} <= crates


def objects_dir(ws: Path) -> Path:
    return ws / ".thinwatch" / "units" / "app" / "objects"


def test_a_damaged_nm_memo_is_worked_out_again(tmp_path, monkeypatch):
    """What `nm` said is kept between processes, and read back only if it is
    a list of names: a symbol that is not a string would leave a needed
    symbol unpreserved."""
    (tmp_path / "n.c").write_text('int printf(const char *, ...);\nint f(void) { return printf("x"); }\n')
    obj = tmp_path / "n.o"
    subprocess.run(["cc", "-c", str(tmp_path / "n.c"), "-o", str(obj)], check=True)
    inputs, memo = [(obj, hashlib.sha256(obj.read_bytes()).hexdigest())], tmp_path / "memo.json"
    assert "printf" in cargo_project.undefined_symbols(inputs, memo)
    key = orjson.loads(memo.read_bytes())["key"]
    for kept, expected in ((["kept"], {"kept"}), (7, None), (["printf", 3], None)):
        monkeypatch.setattr(cargo_project, "_undefined_cache", {})     # a new process
        memo.write_bytes(orjson.dumps({"key": key, "symbols": kept}))
        found = cargo_project.undefined_symbols(inputs, memo)
        assert found == expected if expected else "printf" in found


def test_cross_crate_inlining(rust_ws, pool):
    out = build(rust_ws, pool)
    assert out.finished.ok
    inlined = []
    for mid in out.states:
        importer_crate = mid.split("::")[0]
        obj = objects_dir(rust_ws) / (mid.replace("::", ".") + ".o")
        undefined = undefined_symbols_of(obj)
        for name, exporter, _ in out.final(mid).imports:
            if exporter.split("::")[0] != importer_crate and name not in undefined:
                inlined.append((mid, name))
    assert inlined, "no cross-crate import was inlined"


def test_noop_rebuild_reuses_everything(rust_ws, pool):
    assert build(rust_ws, pool).finished.ok
    again = build(rust_ws, pool)
    assert set(again.states.values()) == {"reused"}
    assert again.finished.backend_jobs == 0


def test_a_new_process_replays_a_no_op_and_builds_an_edit(rust_ws, tmp_path, pool):
    def once() -> list[dict]:
        res = thinwatch("build", "--once", "--json", str(rust_ws))
        assert res.returncode == 0, res.stdout + res.stderr
        return [orjson.loads(line) for line in res.stdout.splitlines()]

    def states(events: list[dict]) -> list[dict]:
        return sorted((e for e in events if e["reason"] == "module-state"), key=lambda e: (e["module"], e["state"]))

    def phases(events: list[dict]) -> dict:
        return events[-1]["phases"]

    once()
    # The codegen units cargo just wrote are too new for their stamps to
    # vouch for them: as they are once the build is some seconds old.
    for member in (rust_ws / ".thinwatch" / "links").glob("*/members/*.bc"):
        os.utime(member, (time.time() - 3600, time.time() - 3600))
    traced = once()
    exe = rust_ws / ".thinwatch" / "out" / "app"
    before = exe.stat()
    replayed = once()
    assert "replay" in phases(replayed) and "thinlink" not in phases(replayed)
    assert states(replayed) == states(traced) and {e["state"] for e in states(replayed)} == {"pending", "reused"}
    assert exe.stat().st_mtime_ns == before.st_mtime_ns
    edit(rust_ws / "geometry/src/polygon.rs", "twice.abs() / 2.0", "twice.abs() / 4.0")
    edited = once()
    assert "thinlink" in phases(edited) and {"rebuilt"} <= {e["state"] for e in states(edited)}
    assert run_exe(exe) == cargo_output(rust_ws, tmp_path)


def changed_imports(before, after) -> set[str]:
    """Modules not rebuilt that import a function whose fragment changed."""
    out = set()
    for mid, state in after.states.items():
        if state == "rebuilt":
            continue
        old = {i[0]: i[2] for i in before.final(mid).imports}
        if any(old.get(name) not in (None, h) for name, _, h in after.final(mid).imports):
            out.add(mid)
    return out


def test_library_edit_reimports_exactly_importers(rust_ws, pool):
    first = build(rust_ws, pool)
    edit(rust_ws / "geometry/src/polygon.rs", "twice.abs() / 2.0", "twice.abs() / 2.0 + 1.0")
    second = build(rust_ws, pool)
    assert second.finished.ok
    rebuilt = second.only("rebuilt")
    assert rebuilt and all(m.startswith("geometry::") for m in rebuilt)
    assert second.only("reimported") == changed_imports(first, second)
    assert "area = 22.000" in run_exe(rust_ws / ".thinwatch" / "out" / "app")

    edit(rust_ws / "geometry/src/polygon.rs", "/// Area of a simple polygon (shoelace formula).",
         "/// Area of a simple polygon, by the shoelace formula.")
    third = build(rust_ws, pool)
    assert set(third.states.values()) == {"reused"}
    assert third.finished.backend_jobs == 0


RUST_EDITS = [
    ("geometry/src/polygon.rs", "twice.abs() / 2.0", "twice.abs() / 4.0"),
    ("stats/src/lib.rs", "pub fn round_to", "#[inline(never)]\npub fn round_to"),
    ("geometry/src/polygon.rs", "4.0 * std::f64::consts::PI", "3.0 * std::f64::consts::PI"),
    ("geometry/src/polygon.rs", "/// Perimeter of a closed polygon.\n",
     "/// Perimeter of a closed polygon.\n#[inline(never)]\n"),
    ("app/src/main.rs", "thinwatch sample report", "thinwatch sample report (edited)"),
    ("geometry/src/polygon.rs", "pub fn compactness",
     "pub fn unused_extra(points: &[Point]) -> usize {\n    points.len() * 3\n}\n\npub fn compactness"),
]


def test_incremental_equals_clean_after_each_edit(rust_ws, tmp_path, pool):
    assert build(rust_ws, pool).finished.ok
    for step, (file, old, new) in enumerate(RUST_EDITS):
        edit(rust_ws / file, old, new)
        inc = build(rust_ws, pool)
        assert inc.finished.ok, (step, inc.diagnostics)
        assert objects(rust_ws) == clean_objects(rust_ws, pool), f"step {step}"
    assert run_exe(rust_ws / ".thinwatch" / "out" / "app") == cargo_output(rust_ws, tmp_path)


def test_workspace_tests_pass_through_thinwatch(rust_ws):
    res = thinwatch("test", "--no-tui", str(rust_ws))
    assert res.returncode == 0, res.stdout + res.stderr
    for binary in ("test.geometry.lib.geometry", "test.stats.lib.stats", "test.geometry.test.shapes",
                   "test.stats.test.points", "test.app.bin.app", "cargo test --doc --release"):
        assert f"test {binary}: ok" in res.stdout


def test_rust_compile_error_reports_file_and_line(rust_ws):
    assert thinwatch("build", "--once", "--no-tui", str(rust_ws)).returncode == 0
    edit(rust_ws / "geometry/src/polygon.rs", "twice.abs() / 2.0", "twice.abs() / undefined_name")
    res = thinwatch("build", "--once", "--no-tui", str(rust_ws))
    assert res.returncode == 1
    assert "geometry/src/polygon.rs:" in res.stdout and "undefined_name" in res.stdout
    assert (rust_ws / ".thinwatch" / "out" / "app").exists()


def test_missing_cargo_is_a_clear_error(rust_ws):
    res = thinwatch("build", "--once", "--no-tui", str(rust_ws), env={"PATH": "/nonexistent", "HOME": "/tmp"})
    assert res.returncode == 2
    assert "cargo" in res.stdout and "rustup" in res.stdout


def tree(ws: Path) -> dict[str, str]:
    return {str(p.relative_to(ws)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in ws.rglob("*") if p.is_file() and ".thinwatch" not in p.relative_to(ws).parts}


def test_sources_are_never_written(rust_ws, pool):
    before = tree(rust_ws)
    assert build(rust_ws, pool).finished.ok
    assert thinwatch("test", "--no-tui", str(rust_ws)).returncode == 0
    assert tree(rust_ws) == before
    assert (cargo_release_dir(rust_ws) / "incremental").is_dir()


def test_watch_mode_on_a_cargo_workspace(rust_ws):
    from test_watch import Watcher
    w = Watcher(rust_ws)
    try:
        assert w.next("build-finished", timeout=120)["ok"]
        edit(rust_ws / "geometry/src/polygon.rs", "twice.abs() / 2.0", "twice.abs() / 2.0 + 1.0")
        started = w.next("build-started")
        assert started["trigger"] == ["geometry/src/polygon.rs"]
        done = w.next("build-finished", timeout=120)
        assert done["ok"] and done["counts"]["rebuilt"] >= 1 and done["counts"]["reused"] >= 1
    finally:
        w.stop()
    assert "area = 22.000" in run_exe(rust_ws / ".thinwatch" / "out" / "app")


def test_settings_from_cargo_metadata(rust_ws, pool):
    manifest = rust_ws / "Cargo.toml"
    manifest.write_text(manifest.read_text() + "\n[workspace.metadata.thinwatch]\nopt_level = 1\n")
    out = build(rust_ws, pool)
    assert out.finished.ok
    record = orjson.loads((rust_ws / ".thinwatch/units/app/state.json").read_bytes())
    assert {m["components"]["options"]["opt_level"] for m in record["modules"].values()} == {1}
    manifest.write_text(manifest.read_text().replace("opt_level = 1", "opt_level = 9"))
    res = thinwatch("build", "--once", "--no-tui", str(rust_ws))
    assert res.returncode == 2 and "opt_level" in res.stdout


def test_backends_follow_the_release_profile(rust_ws, pool):
    """Unless the settings name a level, the backends run at the one rustc
    asks lld for (`-plugin-opt=O<n>`): the release profile's opt-level, Cargo's
    default 3 in the sample."""
    def levels() -> set[int]:
        record = orjson.loads((rust_ws / ".thinwatch/units/app/state.json").read_bytes())
        return {m["components"]["options"]["opt_level"] for m in record["modules"].values()}
    assert build(rust_ws, pool).finished.ok
    assert levels() == {3}
    manifest = rust_ws / "Cargo.toml"
    manifest.write_text(manifest.read_text() + "\n[profile.release]\nopt-level = 1\n")
    assert build(rust_ws, pool).finished.ok
    assert levels() == {1}


def test_lost_captures_make_cargo_link_again(rust_ws, pool):
    assert build(rust_ws, pool).finished.ok
    exe = rust_ws / ".thinwatch" / "out" / "app"
    first = hashlib.sha256(exe.read_bytes()).hexdigest()
    shutil.rmtree(rust_ws / ".thinwatch" / "links")          # cargo still thinks `app` is linked
    again = build(rust_ws, pool)
    assert again.finished.ok and again.only("reused") == set(again.states)
    assert hashlib.sha256(exe.read_bytes()).hexdigest() == first


def test_captured_inputs_are_read_again_only_when_their_stamp_cannot_vouch_for_them(rust_ws, pool):
    assert build(rust_ws, pool).finished.ok
    [dest] = (rust_ws / ".thinwatch" / "links").glob("app-*")
    rlibs = sorted((dest / "files").glob("*.rlib"))
    assert rlibs
    hour_ago = time.time_ns() - 3600 * 10**9
    for rlib in rlibs:                    # settled: written long before this build reads them
        os.utime(rlib, ns=(hour_ago, hour_ago))
    whole = linkshim.read_capture(dest)

    opened = []
    real = Path.read_bytes
    def spy(self):
        opened.append(self.name)
        return real(self)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Path, "read_bytes", spy)
        assert linkshim.read_capture(dest).argv == whole.argv
        assert not {r.name for r in rlibs} & set(opened)            # unchanged rlibs: not read
        os.utime(rlibs[0], ns=(hour_ago, hour_ago + 10**9))
        assert linkshim.read_capture(dest).argv == whole.argv
        assert rlibs[0].name in opened                                # a new mtime: read again
        os.utime(rlibs[1], None)
        assert linkshim.read_capture(dest).argv == whole.argv
        opened.clear()
        assert linkshim.read_capture(dest).argv == whole.argv      # the same stamp, but only just written:
        assert rlibs[1].name in opened and rlibs[0].name not in opened   # it could change unseen, so read


def test_links_thinwatch_does_not_own_go_to_the_real_linker(tmp_path, pool):
    """A build script and a proc-macro are linked by cc (and lld's own LTO);
    only the workspace binary is captured, and it uses both."""
    ws = tmp_path / "owned"
    (ws / "mac" / "src").mkdir(parents=True)
    (ws / "bin" / "src").mkdir(parents=True)
    (ws / "Cargo.toml").write_text('[workspace]\nmembers = ["mac", "bin"]\nresolver = "2"\n')
    (ws / "mac" / "Cargo.toml").write_text('[package]\nname = "mac"\nversion = "0.1.0"\nedition = "2021"\n'
                                           '[lib]\nproc-macro = true\n')
    (ws / "mac" / "src" / "lib.rs").write_text(
        'use proc_macro::TokenStream;\n#[proc_macro]\npub fn answer(_: TokenStream) -> TokenStream {\n'
        '    "40 + 2".parse().unwrap()\n}\n')
    (ws / "bin" / "Cargo.toml").write_text('[package]\nname = "bin"\nversion = "0.1.0"\nedition = "2021"\n'
                                           '[dependencies]\nmac = { path = "../mac" }\n')
    (ws / "bin" / "build.rs").write_text('fn main() {\n    println!("cargo:rustc-env=FROM_BUILD_RS=built");\n}\n')
    (ws / "bin" / "src" / "main.rs").write_text(
        'fn main() {\n    println!("{} {}", mac::answer!(), env!("FROM_BUILD_RS"));\n}\n')
    assert build(ws, pool).finished.ok
    assert run_exe(ws / ".thinwatch" / "out" / "bin") == "42 built\n"
    [capture] = (ws / ".thinwatch" / "links").iterdir()
    assert re.fullmatch(r"bin-[0-9a-f]{16}", capture.name)        # cargo's file name for it


def test_a_link_line_in_an_argument_file_fails_with_its_reason(tmp_path):
    """rustc falls back to `@file` when a link line is too long to exec. The
    shim cannot capture such a link: it fails, saying why (cargo shows it),
    instead of handing the binary to lld unseen. A dylib's link still goes
    to the linker, with the file."""
    shim = tmp_path / "linker-shim"
    shim.write_text(linkshim.SHIM)
    shim.chmod(0o755)
    log = tmp_path / "linker.log"
    linker = tmp_path / "linker"
    linker.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {log}\n')
    linker.chmod(0o755)
    env = {**os.environ, "CARGO_PRIMARY_PACKAGE": "1", "CARGO_CRATE_NAME": "big",
           "THINWATCH_CAPTURE": str(tmp_path / "links"), "THINWATCH_LINKER": str(linker)}
    args = tmp_path / "rustcAbCdEf" / "linker-arguments"
    args.parent.mkdir()
    args.write_text(f"-m64\n{tmp_path}/deps/big-1234.big.abc-cgu.0.rcgu.o\n-o\n{tmp_path}/deps/big-1234\n")
    p = subprocess.run([str(shim), f"@{args}"], env=env, capture_output=True, text=True)
    assert p.returncode == 1 and "thinwatch cannot take over" in p.stderr and "big" in p.stderr
    assert not log.exists() and not (tmp_path / "links").exists()
    args.write_text(f"-shared\n-o\n{tmp_path}/deps/libmac-1234.so\n")
    assert subprocess.run([str(shim), f"@{args}"], env=env).returncode == 0
    assert log.read_text() == f"@{args}\n"


def test_the_lock_file_cargo_writes_does_not_cancel_its_build(rust_ws):
    """In a workspace without Cargo.lock, cargo writes one during the first
    build. That build goes on to the end; the lock file is built after it."""
    from test_watch import Watcher
    (rust_ws / "Cargo.lock").unlink()
    w = Watcher(rust_ws)
    try:
        first = w.next("build-finished", timeout=120)
        assert first["ok"] and not first["superseded"]
        assert first["counts"]["rebuilt"] > 0
        after = w.next("build-finished", timeout=120)
        started = [e for e in w.seen if e["reason"] == "build-started" and e["generation"] == after["generation"]]
        assert started[0]["trigger"] == ["Cargo.lock"]
        assert after["ok"] and after["counts"]["rebuilt"] == after["counts"]["reimported"] == 0
    finally:
        w.stop()


def test_early_backends_in_watch_mode_are_sound(rust_ws, pool):
    """In watch mode, backends start while cargo still compiles the crates
    above an edited library, and the executable is linked from their objects
    as soon as they exist. An edit to a generic makes that guess wrong for
    `app` (its own bitcode changes too); the result must still equal a clean
    build of the same bitcode."""
    from test_watch import Watcher
    w = Watcher(rust_ws)

    def of_build(done: dict, reason: str) -> list[dict]:
        return [e for e in w.seen if e["reason"] == reason and e["generation"] == done["generation"]]

    def finished_states(done: dict) -> dict[str, str]:
        return {e["module"]: e["state"] for e in of_build(done, "module-state")
                if e["state"] in ("rebuilt", "reimported", "reused")}
    try:
        assert w.next("build-finished", timeout=120)["ok"]
        lib = rust_ws / "geometry/src/lib.rs"     # one save: a generic app instantiates, and a plain function
        lib.write_text(lib.read_text().replace("if self.first >= self.second", "if self.first > self.second")
                       .replace("let d = a - b;", "let d = b - a;"))
        done = w.next("build-finished", timeout=120)
        assert done["ok"] and done["early_jobs"] >= 1
        assert any(m.startswith("app::") and s == "rebuilt" for m, s in finished_states(done).items())
        # The library's guess is wrong for app. app's own units, handed over
        # when the shim captures its link, then make it right, and whether
        # the early link has every object by then depends on timing (and on
        # the early jobs' limit): the objects are compared below either way.

        edit(rust_ws / "geometry/src/polygon.rs", "twice.abs() / 2.0", "twice.abs() / 2.0 + 1.0")
        done = w.next("build-finished", timeout=120)
        assert done["ok"] and done["early_jobs"] >= 1
        states = finished_states(done)
        changed = {m for m, s in states.items() if s != "reused"}
        assert {m for m, s in states.items() if s == "rebuilt"} <= {m for m in states if m.startswith("geometry::")}
        assert done["backend_jobs"] == len(changed)        # each job ran once, and is reported as work
        assert [e["early"] for e in of_build(done, "link-finished")] == [True]     # this one was right
        # Early jobs are in the task stream (the TUI's timeline), marked as such.
        early_tasks = [e for e in of_build(done, "task-finished") if e["phase"] == "backend" and e["early"]]
        assert len(early_tasks) == done["early_jobs"]
    finally:
        w.stop()
    exe = rust_ws / ".thinwatch" / "out" / "app"
    incremental, linked = objects(rust_ws), hashlib.sha256(exe.read_bytes()).hexdigest()
    assert incremental == clean_objects(rust_ws, pool)        # which links the executable anew
    assert hashlib.sha256(exe.read_bytes()).hexdigest() == linked       # as the early link did
    assert "larger(pair) = 11" in run_exe(exe)


def test_a_top_crate_edit_starts_backends_when_its_link_is_captured(rust_ws, pool):
    """The executable's own crate is the last cargo compiles: its codegen
    units reach early work when the shim has captured its link (it says so on
    a pipe), before cargo exits, and the executable is linked from them. The
    result must equal a clean build's."""
    from test_watch import Watcher
    w = Watcher(rust_ws)
    try:
        assert w.next("build-finished", timeout=120)["ok"]
        edit(rust_ws / "app/src/main.rs", '"thinwatch sample report"', '"thinwatch sample report, again"')
        done = w.next("build-finished", timeout=120)
        assert done["ok"] and done["early_jobs"] >= 1
        assert done["backend_jobs"] == done["early_jobs"]        # no job ran twice, none after cargo
        links = [e for e in w.seen if e["reason"] == "link-finished" and e["generation"] == done["generation"]]
        assert [e["early"] for e in links] == [True]
    finally:
        w.stop()
    exe = rust_ws / ".thinwatch" / "out" / "app"
    incremental, linked = objects(rust_ws), hashlib.sha256(exe.read_bytes()).hexdigest()
    assert incremental == clean_objects(rust_ws, pool)
    assert hashlib.sha256(exe.read_bytes()).hexdigest() == linked
    assert run_exe(exe).startswith("thinwatch sample report, again\n")


@pytest.mark.parametrize("source", ["cargo config", "cargo config cfg table", "CARGO_ENCODED_RUSTFLAGS", "RUSTFLAGS"])
def test_the_users_rustflags_are_kept(rust_ws, pool, monkeypatch, source):
    """thinwatch adds its flags to those the user's cargo would pass, from
    whichever source cargo would take them."""
    edit(rust_ws / "app/src/main.rs", "fn main() {\n", 'fn main() {\n    println!("flag = {}", cfg!(thinwatch_flag));\n')
    for name in ("RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"):
        monkeypatch.delenv(name, raising=False)
    if source == "cargo config":          # in a directory above the workspace, as cargo finds it
        (rust_ws.parent / ".cargo").mkdir()
        (rust_ws.parent / ".cargo/config.toml").write_text('[build]\nrustflags = ["--cfg", "thinwatch_flag"]\n')
    elif source == "cargo config cfg table":
        (rust_ws / ".cargo").mkdir()
        (rust_ws / ".cargo/config.toml").write_text(
            "[target.'cfg(unix)']\nrustflags = ['--cfg', 'thinwatch_flag']\n[target.'cfg(windows)']\nrustflags = ['--cfg', 'x']\n")
    elif source == "CARGO_ENCODED_RUSTFLAGS":
        monkeypatch.setenv(source, "--cfg\x1fthinwatch_flag")
    else:
        monkeypatch.setenv(source, "--cfg thinwatch_flag")
    assert build(rust_ws, pool).finished.ok
    assert "flag = true" in run_exe(rust_ws / ".thinwatch/out/app")


@pytest.mark.parametrize("key, holds", [
    ('cfg(unix)', True), ('cfg(windows)', False), ('cfg( target_os = "linux" )', True),
    ('cfg(target_os="macos")', False), ('cfg(all())', True), ('cfg(any())', False),
    ('cfg(not(any(windows, target_os = "macos")))', True), ('cfg(all(unix, feature = "x"))', False),
    ('cfg(true)', True), ('cfg(not(false))', True), ('cfg(any(windows, unix,))', True),
    ('cfg(unix, windows)', False), ('cfg(not(unix, windows))', False), ('cfg(target_os = linux)', False),
    ('cfg(all(unix)', False), ('cfg(unix) ', True), ('cfg(r#unix)', True), ('cfg(un ix)', False),
])
def test_cfg_expressions(key, holds):
    """Malformed keys (the second half) hold nowhere: cargo reports them."""
    assert matches(key, frozenset({"unix", 'target_os="linux"', "debug_assertions"})) is holds


def test_target_cfg_tables_apply_where_their_expression_holds(tmp_path):
    """As cargo: the holding `cfg` tables' flags join the host triple's and
    replace `build.rustflags`; a holding table's linker is used."""
    (tmp_path / ".cargo").mkdir()
    (tmp_path / ".cargo/config.toml").write_text(
        "[build]\nrustflags = ['-Cdebuginfo=1']\n"
        "[target.'cfg(windows)']\nrustflags = ['--cfg', 'never']\nlinker = 'link.exe'\n"
        "[target.'cfg(all(unix, target_pointer_width = \"64\", not(debug_assertions = \"x\"),))']\n"
        "rustflags = ['--cfg', 'second']\nlinker = 'tools/mycc'\n"
        "[target.'cfg(any(target_os = \"linux\", target_os = \"macos\"))']\nrustflags = ['--cfg', 'first']\n")
    flags, linker = user_config(tmp_path, {"CARGO_HOME": str(tmp_path / "home")})
    assert flags == ["--cfg", "second", "--cfg", "first"]       # in the order of their keys
    assert linker == str(tmp_path / "tools/mycc")
    # Flags from the environment win over every table, but a cfg table's linker still applies.
    flags, linker = user_config(tmp_path, {"CARGO_HOME": str(tmp_path / "home"), "RUSTFLAGS": "-Copt-level=1"})
    assert flags == ["-Copt-level=1"] and linker == str(tmp_path / "tools/mycc")


@pytest.mark.parametrize("source", ["cargo config", "rustflags"])
def test_the_users_linker_links(rust_ws, pool, monkeypatch, source):
    """The executable is linked by the driver the user's cargo would run."""
    tools = rust_ws / "tools"
    tools.mkdir()
    log = rust_ws.parent / "linker.log"
    (tools / "mycc").write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec cc "$@"\n')
    (tools / "mycc").chmod(0o755)
    for name in ("RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"):
        monkeypatch.delenv(name, raising=False)
    if source == "cargo config":          # a relative path: from the directory holding .cargo/
        host = next(line.split(": ")[1] for line in subprocess.run(
            ["rustc", "-vV"], capture_output=True, text=True).stdout.splitlines() if line.startswith("host: "))
        (rust_ws / ".cargo").mkdir()
        (rust_ws / ".cargo/config.toml").write_text(f'[target.{host}]\nlinker = "tools/mycc"\n')
    else:
        monkeypatch.setenv("RUSTFLAGS", f"-C linker={tools / 'mycc'}")
    assert build(rust_ws, pool).finished.ok
    assert str(rust_ws / ".thinwatch/out/.app.tmp") in log.read_text()
    assert run_exe(rust_ws / ".thinwatch/out/app")


def test_cc_does_not_choose_the_linker_of_a_rust_executable(rust_ws, pool, monkeypatch):
    """rustc links with `cc` whatever $CC says; so does thinwatch."""
    log = rust_ws.parent / "cc.log"
    fake = rust_ws.parent / "fakecc"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec cc "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("CC", str(fake))
    assert build(rust_ws, pool).finished.ok
    assert not log.exists()
    assert run_exe(rust_ws / ".thinwatch/out/app")
