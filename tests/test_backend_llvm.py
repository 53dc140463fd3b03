"""Which LLVM compiles the backend jobs: the Rust toolchain's release libLLVM
when it is there (it is on these machines), llvmlite's otherwise. Both give
sound builds, and an object compiled by one is never reused for the other."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from conftest import IGNORE, ROOT, build, clean_outputs, edit, outputs, run_exe, thinwatch
from thinwatch.engine import backend, llvm_env, native_llvm
from thinwatch.engine.errors import TaskFailed
from thinwatch.engine.frontends import ir as workspace
from thinwatch.engine.reporter import Reporter
from thinwatch.engine.scheduler import run_build


def use_llvm(ws: Path, value: str) -> None:
    edit(ws / "thinwatch.toml", "[build]\n", f'[build]\nllvm = "{value}"\n')


def toolchain_llvm_major() -> int | None:
    """The LLVM major version of the `rustc` on PATH, as it reports it."""
    if shutil.which("rustc") is None:
        return None
    out = subprocess.run(["rustc", "-vV"], capture_output=True, text=True).stdout
    m = re.search(r"^LLVM version: (\d+)", out, re.M)
    return int(m.group(1)) if m else None


def test_auto_picks_the_toolchain_libllvm_of_llvmlites_major_version(ir_ws):
    codegen = native_llvm.choose(workspace.load(ir_ws).llvm, ir_ws)
    if toolchain_llvm_major() != llvm_env.binding().llvm_version_info[0]:
        assert codegen.library == "" and codegen.pipeline == "default"     # llvmlite, as documented
        return
    assert "libLLVM" in Path(codegen.library).name
    assert codegen.identity.startswith(f"LLVM {llvm_env.binding().llvm_version_info[0]}.")
    assert codegen.pipeline == "thinlto"


def test_switching_llvm_reruns_every_backend_and_switching_back_reuses(ir_ws, pool, tmp_path):
    if not native_llvm.choose(workspace.load(ir_ws).llvm, ir_ws).library:
        pytest.skip("no release libLLVM of llvmlite's major version to switch from")
    assert build(ir_ws, pool).finished.ok
    native, native_stdout = outputs(ir_ws), run_exe(ir_ws / ".thinwatch/out/sample")

    use_llvm(ir_ws, "llvmlite")
    switched = build(ir_ws, pool)
    assert switched.finished.ok
    assert set(switched.states.values()) == {"reimported"}
    assert all("options changed" in switched.final(m).why for m in switched.states)
    assert outputs(ir_ws) == clean_outputs(ir_ws, pool, tmp_path)
    assert run_exe(ir_ws / ".thinwatch/out/sample") == native_stdout

    edit(ir_ws / "thinwatch.toml", 'llvm = "llvmlite"\n', "")
    back = build(ir_ws, pool)
    assert set(back.states.values()) == {"reused"}
    assert outputs(ir_ws) == native


def test_an_unusable_llvm_library_is_a_configuration_error(ir_ws):
    (ir_ws / "not-llvm.so").write_text("not a library\n")
    use_llvm(ir_ws, "not-llvm.so")
    res = thinwatch("build", "--once", "--no-tui", str(ir_ws))
    assert res.returncode == 2
    assert "cannot load" in res.stdout + res.stderr and "not-llvm.so" in res.stdout + res.stderr


def test_an_llvm_library_changed_on_disk_fails_the_build_instead_of_being_mislabelled(ir_ws, pool, tmp_path):
    # Processes keep the library they loaded first from a path; an object
    # compiled by it must never be stored under the key of the file that
    # replaced it.
    toolchain = native_llvm.choose("auto", ir_ws)
    if not toolchain.library:
        pytest.skip("no release libLLVM of llvmlite's major version to copy")
    lib = tmp_path / "libLLVM-copy.so"
    shutil.copy(toolchain.library, lib)
    use_llvm(ir_ws, str(lib))
    assert build(ir_ws, pool).finished.ok
    before = outputs(ir_ws)

    st = lib.stat()
    os.utime(lib, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))      # as a rebuild in place would
    changed = build(ir_ws, pool)
    assert not changed.finished.ok
    assert any("changed on disk" in d.message and str(lib) in d.message for d in changed.diagnostics)
    assert outputs(ir_ws) == before


def test_the_output_names_the_llvm_that_compiled_the_backends(ir_ws):
    label = native_llvm.choose("auto", ir_ws).label
    human = thinwatch("build", "--once", "--no-tui", str(ir_ws))
    assert human.returncode == 0, human.stderr
    assert human.stdout.count(f"backends compiled by {label}\n") == 1
    lines = thinwatch("build", "--once", "--json", str(ir_ws)).stdout.splitlines()
    finished = [orjson.loads(line) for line in lines if b"build-finished" in line.encode()]
    assert finished[-1]["backend_llvm"] == label


def test_the_toolchain_is_asked_again_when_what_picks_it_changes(tmp_path, monkeypatch):
    """A session compiles with the LLVM a clean build would use: after a
    `rust-toolchain.toml`, `RUSTUP_TOOLCHAIN` or `rustup default` change, the
    next build asks rustc for its sysroot again; with nothing changed, not."""
    asked = []

    def find(cwd: str) -> str:
        lib = tmp_path / f"libLLVM-{len(asked)}.so"
        lib.write_bytes(b"")
        asked.append(cwd)
        return str(lib)
    monkeypatch.setattr(native_llvm, "_find_toolchain_library", find)
    monkeypatch.setattr(native_llvm, "_toolchains", {})
    home = tmp_path / "rustup"
    home.mkdir()
    settings = home / "settings.toml"
    settings.write_text('default_toolchain = "stable"\n')
    monkeypatch.setenv("RUSTUP_HOME", str(home))
    monkeypatch.delenv("RUSTUP_TOOLCHAIN", raising=False)
    ws = tmp_path / "ws"
    ws.mkdir()
    settled = time.time() - 60

    def settle(path: Path) -> None:
        os.utime(path, (settled, settled))
    settle(settings)

    def library() -> str:
        return native_llvm._toolchain_library(str(ws))
    first = library()
    assert library() == first and len(asked) == 1
    pin = ws / "rust-toolchain.toml"
    pin.write_text('[toolchain]\nchannel = "1.94"\n')
    settle(pin)
    second = library()
    assert second != first and library() == second and len(asked) == 2
    monkeypatch.setenv("RUSTUP_TOOLCHAIN", "beta")
    library()
    assert len(asked) == 3
    settings.write_text('default_toolchain = "nightly"\n')
    settle(settings)
    library()
    assert library() and len(asked) == 4
    Path(library()).unlink()                  # `rustup update` removed it
    library()
    assert len(asked) == 5
    pin.write_text('[toolchain]\nchannel = "1.93"\n')     # just now: may change again unseen
    library()
    library()
    assert len(asked) == 7


def _symbols(obj: bytes, tmp: Path) -> list[tuple[str, ...]]:
    """An object's symbols as `readelf` shows them, but where they sit:
    name, size, type, binding, visibility, and whether it is undefined."""
    path = tmp / "symbols.o"
    path.write_bytes(obj)
    rows = []
    for line in subprocess.run(["readelf", "-sW", str(path)], capture_output=True, text=True, check=True).stdout.splitlines():
        cols = line.split()
        if len(cols) == 8 and cols[0][:-1].isdigit():
            rows.append((cols[7], cols[2], cols[3], cols[4], cols[5], cols[6] == "UND"))
    return sorted(rows)


def _code(obj: bytes, tmp: Path) -> str:
    path = tmp / "code.o"
    path.write_bytes(obj)
    listing = subprocess.run(["objdump", "-d", str(path)], capture_output=True, text=True, check=True).stdout
    return listing.replace(str(path), "")


@pytest.mark.parametrize("sample", ["ir", "rust"])
def test_a_plan_applied_to_the_bitcode_gives_what_the_text_path_gives(sample, pool, tmp_path):
    """The toolchain's LLVM applies each module's plan to its parsed bitcode
    and links its fragments in; the text path prints the module, rewrites
    and merges the text and parses it again. Every module must come out with
    the same code, the same symbols (names, sizes, kinds, bindings,
    visibilities) and the same imports, and only a function to make a
    declaration (which the C API cannot do) may send a module to the text
    path."""
    if sample == "rust" and shutil.which("cargo") is None:
        pytest.fail("cargo is not installed: the Rust sample cannot be built")
    ws = tmp_path / "ws"
    shutil.copytree(ROOT / "sample_crates" / sample, ws, ignore=IGNORE)
    builds = []
    assert asyncio.run(run_build(ws, pool, Reporter(lambda e: None, 1), on_build=builds.append)).ok
    b = builds[0]
    if not b.backend_opts.library:
        pytest.fail("no release libLLVM of llvmlite's major version: these machines have one")

    async def both(module: str):
        em, plan, emitted = b.inputs[module]
        bitcode, fragments = await b.bitcode(em), await b.fragments(plan, emitted)
        args = (module, bitcode, plan.backend_plan(), fragments, b.backend_opts)
        return backend.planned_in_bitcode(*args), backend.planned_in_text(*args)

    compared = 0
    for module in sorted(b.inputs):
        linked, printed = asyncio.run(both(module))
        assert linked is not None, module
        assert linked["imported"] == printed["imported"], module
        assert _symbols(linked["object"], tmp_path) == _symbols(printed["object"], tmp_path), module
        assert _code(linked["object"], tmp_path) == _code(printed["object"], tmp_path), module
        compared += 1
    assert compared == len(b.inputs) > 5


def test_a_function_to_make_a_declaration_takes_the_text_path(ir_ws, pool):
    """No C API call drops a function's body: a plan that makes a non-ODR
    copy a declaration is carried out in text, whatever the LLVM."""
    builds = []
    assert asyncio.run(run_build(ir_ws, pool, Reporter(lambda e: None, 1), on_build=builds.append)).ok
    b = builds[0]
    module = next(m for m, (_, plan, _) in sorted(b.inputs.items())
                  if any(name == "clamp" for name, _ in plan.resolution))
    em, _, _ = b.inputs[module]
    bitcode = asyncio.run(b.bitcode(em))
    plan = {"promote": [], "internalize": [], "resolution": [["clamp", "declare"]]}
    assert backend.planned_in_bitcode(module, bitcode, plan, [], b.backend_opts) is None
    assert backend.run_backend(module, bitcode, plan, [], b.backend_opts)["object"] == \
        backend.planned_in_text(module, bitcode, plan, [], b.backend_opts)["object"]


def test_fragments_that_do_not_link_fail_the_module_with_the_linkers_reason(ir_ws):
    """LLVM's default handler of a link error ends the process; the module
    fails with the linker's message instead, and the process compiles on."""
    codegen = native_llvm.choose("auto", ir_ws)
    if not codegen.library:
        pytest.fail("no release libLLVM of llvmlite's major version: these machines have one")
    llvm = llvm_env.binding()
    triple = llvm_env.facts().host_triple
    own = llvm.parse_assembly(f'target triple = "{triple}"\ndefine i32 @f() {{\n  ret i32 0\n}}\n')
    clash = "define i32 @f() {\n  ret i32 1\n}\n"
    args = (codegen.library, codegen.stamp, codegen.identity, own.as_bitcode(),
            {"promote": [], "internalize": [], "resolution": []}, {})
    with pytest.raises(TaskFailed, match="do not link.*'f'"):
        native_llvm.compile_planned(*args, clash, ["f"], triple, "", 2, "thinlto", False)
    obj, _, imported = native_llvm.compile_planned(*args, "", [], triple, "", 2, "thinlto", False)
    assert obj and imported == []
