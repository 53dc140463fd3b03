"""Which LLVM compiles the backend jobs: the Rust toolchain's release libLLVM
when it is there (it is on these machines), llvmlite's otherwise. Both give
sound builds, and an object compiled by one is never reused for the other."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import orjson
import pytest

from conftest import build, clean_outputs, edit, outputs, run_exe, thinwatch
from engine import llvm_env, native_llvm
from engine.frontends import ir as workspace


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
