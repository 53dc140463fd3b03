"""Engine core on the sample IR workspace: output, inlining, reuse, soundness."""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import llvmlite.binding as llvm
import orjson
import pytest

from conftest import (Outcome, build, clean_outputs, edit, outputs, run_exe, thinwatch, undefined_symbols_of)
from thinwatch.engine import llvm_env
from thinwatch.engine.build import Memory
from thinwatch.engine.emission import FORMAT as EMIT_FORMAT
from thinwatch.engine.cache import Cache
from thinwatch.engine.events import LinkFinished
from thinwatch.engine.fragment import Fragment
from thinwatch.engine.reporter import Reporter
from thinwatch.engine.scheduler import run_build

EXPECTED = """sum = 25
pipeline = 54
table[3] = 7
edges = 21
point = (3, 4)
manhattan = 7
clamp = 10
counter = 4
mix = 0x89afad46
checksum = 0xbee04710
crunch = 0x8e441d35
"""


def reference_build(ws: Path, out: Path) -> Path:
    """Every module compiled on its own (no cross-module optimisation), cc-linked."""
    triple = llvm_env.facts().host_triple
    header = f'target triple = "{triple}"\ntarget datalayout = "{llvm_env.datalayout(triple)}"\n'
    objs = []
    for i, path in enumerate(sorted(ws.rglob("*.ll"))):
        mod = llvm.parse_assembly(header + path.read_text(), llvm.create_context())
        llvm_env.optimize(mod, triple, 2)
        obj = out / f"{i}.o"
        obj.write_bytes(llvm_env.emit_object(mod, triple, 2))
        objs.append(str(obj))
    exe = out / "reference"
    subprocess.run(["cc", "-o", str(exe), *objs], check=True)
    return exe


def test_sample_prints_same_as_separate_compilation(ir_ws, tmp_path):
    res = thinwatch("build", "--once", "--no-tui", str(ir_ws))
    assert res.returncode == 0, res.stdout + res.stderr
    got = run_exe(ir_ws / ".thinwatch" / "out" / "sample")
    assert got == run_exe(reference_build(ir_ws, tmp_path)) == EXPECTED


def test_imported_callee_is_inlined(ir_ws, pool):
    assert build(ir_ws, pool).finished.ok
    main_obj = ir_ws / ".thinwatch" / "objects" / "app.main.o"
    # Separately compiled, main calls these; after import they are inlined away.
    for fn in ("point_manhattan", "sum_of_squares", "table_get", "report_int"):
        assert fn not in undefined_symbols_of(main_obj), fn
    # noinline is respected: mix_hash is not imported, so the call stays.
    assert "mix_hash" in undefined_symbols_of(main_obj)
    assert "printf" in undefined_symbols_of(main_obj)


def test_noop_rebuild_reuses_everything(ir_ws, pool):
    first = build(ir_ws, pool)
    assert first.finished.ok and first.finished.backend_jobs == 9
    again = build(ir_ws, pool)
    assert set(again.states.values()) == {"reused"}
    assert again.finished.backend_jobs == 0
    assert again.finished.counts["reused"] == 9


def test_new_driver_or_linker_relinks(ir_ws, pool, tmp_path, monkeypatch):
    """After a compiler or binutils upgrade a clean build links a different
    executable: the last one is not kept, though every object is."""
    tools = tmp_path / "tools"
    tools.mkdir()

    def install(name: str, version: str) -> None:
        path = tools / name
        path.write_text(f'#!/bin/sh\n# {version}\nexec {shutil.which(name)} "$@"\n')
        path.chmod(0o755)
    install("cc", "1")
    install("ld", "1")
    monkeypatch.setenv("CC", str(tools / "cc"))
    manifest = ir_ws / "thinwatch.toml"
    manifest.write_text(manifest.read_text().replace("libs = []", f'libs = ["-B{tools}/"]'))

    def linked() -> list[bool]:
        return [not e.skipped for e in build(ir_ws, pool).events if isinstance(e, LinkFinished)]
    assert linked() == [True]
    assert linked() == [False]
    install("ld", "2.0")
    assert linked() == [True]
    assert linked() == [False]
    install("cc", "2.0")
    assert linked() == [True]


def importers_of(outcome, fn: str) -> set[str]:
    return {m for m in outcome.states if any(i[0] == fn for i in outcome.final(m).imports)}


def test_edit_imported_function_reimports_exactly_its_importers(ir_ws, pool):
    first = build(ir_ws, pool)
    importers = importers_of(first, "point_manhattan")
    assert importers == {"app::main", "app::shapes"}
    edit(ir_ws / "core/geom.ll", "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay")
    second = build(ir_ws, pool)
    assert second.only("rebuilt") == {"core::geom"}
    assert second.only("reimported") == importers
    assert second.only("reused") == set(second.states) - importers - {"core::geom"}
    assert any("imported core::geom::point_manhattan changed" in w
               for w in second.final("app::shapes").why)


def test_edit_function_nobody_imports_reruns_only_its_module(ir_ws, pool):
    build(ir_ws, pool)
    edit(ir_ws / "core/stats.ll", "define i32 @crunch(i32 %seed) {\nentry:\n",
         "define i32 @crunch(i32 %seed) {\nentry:\n  %unused = add i32 %seed, 1\n")
    edit(ir_ws / "core/stats.ll", "xor i32", "or i32")
    second = build(ir_ws, pool)
    assert second.only("rebuilt") == {"core::stats"}
    assert second.only("reimported") == set()
    assert second.finished.backend_jobs == 1


def test_adding_unrelated_function_keeps_importers(ir_ws, pool):
    build(ir_ws, pool)
    geom = ir_ws / "core/geom.ll"
    geom.write_text(geom.read_text().replace(
        "; geom.c:6", "define i32 @point_unused(i32 %a) {\nentry:\n  %r = mul i32 %a, 7\n  ret i32 %r\n}\n\n; geom.c:6", 1))
    second = build(ir_ws, pool)
    assert second.only("rebuilt") == {"core::geom"}
    assert second.only("reimported") == set()


def test_comment_only_edit_reruns_nothing(ir_ws, pool):
    build(ir_ws, pool)
    edit(ir_ws / "core/math.ll", "; Private helper.", "; Private helper, squared.")
    second = build(ir_ws, pool)
    assert set(second.states.values()) == {"reused"}


SOUNDNESS_EDITS = [
    # (file, old, new): bodies, signatures, linkage, constants, added/removed functions
    ("core/geom.ll", "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay"),
    ("core/math.ll", "%r = mul i32 %x, %x", "%r = mul i32 %x, 3"),
    ("core/table.ll", "i32 2, i32 3, i32 5", "i32 2, i32 4, i32 5"),
    ("core/report.ll", 'c"%s = %d\\0A\\00"', 'c"%s : %d\\0A\\00"'),
    ("core/math.ll", "define internal i32 @square", "define i32 @square"),
    ("core/counter.ll", "@counter = internal global i32 0", "@counter = internal global i32 100"),
    ("app/pipeline.ll", "%r = call i32 @clamp(i32 %sum, i32 0, i32 100)",
     "%r = call i32 @clamp(i32 %sum, i32 0, i32 50)"),
    ("core/math.ll", "define i32 @saturate_add(i32 %a, i32 %b) {\nentry:\n  %s = add i32 %a, %b",
     "define i32 @saturate_add(i32 %a, i32 %b) {\nentry:\n  %s = mul i32 %a, %b"),
    ("core/math.ll", "define linkonce_odr i32 @clamp", "define weak_odr i32 @clamp"),
    ("core/geom.ll", "define void @point_init", "define void @point_reset(ptr %p) {\nentry:\n  ret void\n}\n\ndefine void @point_init"),
    ("core/geom.ll", "define void @point_reset(ptr %p) {\nentry:\n  ret void\n}\n\n", ""),
    ("core/math.ll", "define i32 @mix_hash(i32 %h, i32 %v) #0", "define i32 @mix_hash(i32 %h, i32 %v) #1"),
]


def test_incremental_equals_clean_after_every_edit(ir_ws, pool, tmp_path):
    math = ir_ws / "core/math.ll"
    math.write_text(math.read_text() + "\nattributes #1 = { nounwind }\n")
    assert build(ir_ws, pool).finished.ok
    for step, (file, old, new) in enumerate(SOUNDNESS_EDITS):
        edit(ir_ws / file, old, new)
        inc = build(ir_ws, pool)
        assert inc.finished.ok, (step, inc.diagnostics)
        assert outputs(ir_ws) == clean_outputs(ir_ws, pool, tmp_path), f"step {step}: {file}"
    # Modules come and go: a new module, then it is removed again.
    extra = ir_ws / "core/extra.ll"
    extra.write_text("define i32 @extra_one() {\n  ret i32 1\n}\n")
    inc = build(ir_ws, pool)
    assert inc.states["core::extra"] == "rebuilt"
    assert outputs(ir_ws) == clean_outputs(ir_ws, pool, tmp_path)
    extra.unlink()
    inc = build(ir_ws, pool)
    assert inc.states["core::extra"] == "removed"
    assert outputs(ir_ws) == clean_outputs(ir_ws, pool, tmp_path)


def test_outputs_identical_across_job_counts(ir_ws, tmp_path):
    other = tmp_path / "other"
    import shutil
    shutil.copytree(ir_ws, other)
    assert thinwatch("build", "--once", "--no-tui", "-j", "1", str(ir_ws)).returncode == 0
    assert thinwatch("build", "--once", "--no-tui", "-j", "4", str(other)).returncode == 0
    assert outputs(ir_ws) == outputs(other)


def test_cached_fragments_read_back_as_written(ir_ws, pool):
    """The cache keeps fragments as orjson writes a `Fragment`; entries of
    other fields would be misread, so changing them needs a new EMIT_FORMAT."""
    assert build(ir_ws, pool).finished.ok
    cache = Cache(ir_ws / ".thinwatch" / "cache")
    entries = [cache.get("frag", p.name) for p in (cache.root / "frag").glob("*/*")]
    stored = [frag for blob in entries for frag in orjson.loads(blob).values()]
    assert stored and EMIT_FORMAT == 7
    for frag in stored:
        assert list(frag) == ["define", "name", "consts", "decls", "types", "attrs", "mds",
                              "hash", "promote", "deps", "callees"]
        assert orjson.dumps(Fragment(**frag)) == orjson.dumps(frag)


def test_malformed_module_fails_alone(ir_ws, pool):
    assert build(ir_ws, pool).finished.ok
    exe = ir_ws / ".thinwatch" / "out" / "sample"
    good_exe = exe.read_bytes()
    stats = ir_ws / "core/stats.ll"
    good = stats.read_text()
    lines = good.splitlines()
    bad_line = next(i for i, line in enumerate(lines) if "xor i32" in line)
    lines[bad_line] = lines[bad_line].replace("xor i32", "xor i32 i32")
    stats.write_text("\n".join(lines) + "\n")
    edit(ir_ws / "core/geom.ll", "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay")

    res = thinwatch("build", "--once", "--no-tui", "--json", str(ir_ws))
    assert res.returncode == 1
    events = [orjson.loads(line) for line in res.stdout.splitlines()]
    diags = [e for e in events if e["reason"] == "diagnostic"]
    assert len(diags) == 1 and diags[0]["file"] == "core/stats.ll" and diags[0]["line"] == bad_line + 1
    final = {e["module"]: e["state"] for e in events if e["reason"] == "module-state"}
    assert final["core::stats"] == "failed"
    assert final["core::geom"] == "rebuilt"
    assert exe.read_bytes() == good_exe          # last good executable kept
    human = thinwatch("build", "--once", "--no-tui", str(ir_ws))
    assert f"core/stats.ll:{bad_line + 1}" in human.stdout

    stats.write_text(good)
    res = thinwatch("build", "--once", "--no-tui", str(ir_ws))
    assert res.returncode == 0, res.stdout
    assert "manhattan = 1" in run_exe(exe) or "manhattan =" in run_exe(exe)


def test_json_lines_only_on_stdout(ir_ws):
    res = thinwatch("build", "--once", "--json", str(ir_ws))
    assert res.returncode == 0
    events = [orjson.loads(line) for line in res.stdout.splitlines()]
    assert all("reason" in e for e in events)
    assert events[-1]["reason"] == "build-finished"
    assert events[-1]["counts"]["rebuilt"] == 9


def test_config_errors_exit_2(tmp_path):
    res = thinwatch("build", "--once", "--no-tui", str(tmp_path))
    # refused before anything is made there, as a lock or a build directory that cannot be used
    assert res.returncode == 2 and "neither a thinwatch.toml" in res.stderr and "nor a Cargo.toml" in res.stderr
    (tmp_path / "thinwatch.toml").write_text("[crates\n")
    res = thinwatch("build", "--once", "--no-tui", str(tmp_path))
    assert res.returncode == 2 and "thinwatch.toml" in res.stdout + res.stderr


def test_a_diagnostic_says_its_level_once():
    from thinwatch.engine.events import Diagnostic
    rustc = Diagnostic(1, "warning", "warning: unused variable: `x`\n --> src/a.rs:3:9", file="src/a.rs", line=3, col=9)
    assert "".join(rustc.parts()) == "src/a.rs:3:9: warning: unused variable: `x`\n --> src/a.rs:3:9"
    coded = Diagnostic(1, "error", "error[E0463]: can't find crate for `std`", file="src/lib.rs", line=1)
    assert "".join(coded.parts()) == "src/lib.rs:1: error[E0463]: can't find crate for `std`"
    ours = Diagnostic(1, "error", "cargo failed: could not compile `x`")
    assert ours.parts() == ("error: ", "cargo failed: could not compile `x`")


def test_a_misspelt_command_is_named(ir_ws):
    """`thinwatch DIR` means `thinwatch watch DIR`, so a misspelt command
    followed by a workspace is said to be one (not "unrecognized DIR")."""
    for argv in (["biuld", str(ir_ws)], ["-j", "2", "biuld", str(ir_ws)]):
        res = thinwatch(*argv)
        assert res.returncode == 2 and "unknown command 'biuld'" in res.stderr, res.stderr
    res = thinwatch("build", "--once", str(ir_ws), "extra")
    assert res.returncode == 2 and "unrecognized arguments: extra" in res.stderr


def test_unknown_target_fails_before_any_module(ir_ws):
    edit(ir_ws / "thinwatch.toml", "[build]\n", '[build]\ntarget = "bogus-none-nothing"\n')
    res = thinwatch("build", "--json", str(ir_ws))
    events = [orjson.loads(line) for line in res.stdout.splitlines()]
    assert res.returncode == 2
    assert any(e["reason"] == "diagnostic" and "unknown target 'bogus-none-nothing'" in e["message"] for e in events)
    assert not any(e["reason"] == "module-state" for e in events)


def test_a_reverted_edit_says_which_build_its_reused_objects_come_from(ir_ws, pool):
    """After an edit and its revert every object is an older build's again:
    the modules say so, rather than an empty why."""
    memory = Memory()

    def build_with_memory(generation: int) -> Outcome:
        out = Outcome()
        asyncio.run(run_build(ir_ws, pool, Reporter(out.events.append, generation), memory=memory))
        return out

    build_with_memory(1)
    source = ir_ws / "core/geom.ll"
    original = source.read_text()
    edit(source, "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay")
    assert build_with_memory(2).only("rebuilt") == {"core::geom"}
    source.write_text(original)
    third = build_with_memory(3)
    assert third.only("reused") == set(third.states)
    assert third.final("core::geom").why == ["key equals build 1's"]
    assert third.final("app::shapes").why == ["key equals build 1's"]
    assert third.final("core::stats").why == []          # its object was the last build's too
    # A new process knows no build numbers, but still says so.
    source.write_text(original.replace("%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay"))
    assert build(ir_ws, pool).final("core::geom").why == ["key equals an earlier build's"]


def test_a_session_keeps_the_fragments_of_its_last_links_only(ir_ws, pool, tmp_path):
    """A session's next build takes the fragments it imports from memory, by
    emission key; an edited module's old ones are dropped, and the edit
    still reaches its importers as in a clean build."""
    memory = Memory()

    def session_build(generation: int) -> None:
        out = Outcome()
        asyncio.run(run_build(ir_ws, pool, Reporter(out.events.append, generation), memory=memory))
        assert out.finished.ok

    session_build(1)
    first = set(memory.fragments)
    edit(ir_ws / "core/geom.ll", "%d = add i32 %ax, %ay", "%d = sub i32 %ax, %ay")
    session_build(2)
    live = {em.key for link in memory.links.values() for em in link.emitted.values()}
    assert first and set(memory.fragments) <= live and set(memory.fragments) != first
    assert outputs(ir_ws) == clean_outputs(ir_ws, pool, tmp_path)


def test_a_build_cancelled_while_its_emitting_process_ends_lets_the_cache_go(ir_ws, pool, monkeypatch):
    """A watch session's cold build superseded as it ended kept the cache's
    lock (exclusive after its prune): the next build waited in its `open`
    for good, and the session did not end on SIGINT."""
    from thinwatch.engine.ahead import Ahead

    async def cancelled(self):
        raise asyncio.CancelledError
    monkeypatch.setattr(Ahead, "close", cancelled)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(run_build(ir_ws, pool, Reporter(lambda ev: None, 1)))
    fd = os.open(ir_ws / ".thinwatch" / "cache" / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)
