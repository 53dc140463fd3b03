"""What real Rust programs use and the bundled sample does not: inline and
module-level assembly, C compiled into an rlib, release profiles that ask
rustc for LTO itself. Each is a small package written here, built by
thinwatch and by plain cargo, and both executables must behave the same."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import orjson
import pytest

from conftest import run_exe, thinwatch


def package(root: Path, files: dict[str, str], name: str = "prog", manifest: str = "") -> Path:
    """A one-package Cargo workspace with a binary `name`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n{manifest}')
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def cargo_run(ws: Path, tmp: Path, name: str = "prog") -> subprocess.CompletedProcess:
    """Plain `cargo build --release`'s executable, run."""
    target = tmp / "cargo-target"
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    env.pop("RUSTFLAGS", None)
    subprocess.run(["cargo", "build", "--release", "--offline", "-q"], cwd=ws, env=env, check=True)
    return subprocess.run([str(target / "release" / name)], capture_output=True, text=True, timeout=30)


def thinwatch_build(ws: Path) -> list[dict]:
    res = thinwatch("build", "--once", "--no-tui", "--json", str(ws))
    events = [orjson.loads(line) for line in res.stdout.splitlines()]
    assert res.returncode == 0, "\n".join(str(e) for e in events if e["reason"] == "diagnostic") + res.stderr
    return events


ASM = """\
use std::arch::{asm, global_asm};

global_asm!(".globl triple_it", "triple_it:", "lea rax, [rdi + rdi*2]", "ret");

extern "C" {
    fn triple_it(x: u64) -> u64;
}

#[inline(never)]
pub fn add_asm(a: u64, b: u64) -> u64 {
    let out: u64;
    unsafe { asm!("lea {0}, [{1} + {2}]", out(reg) out, in(reg) a, in(reg) b) };
    out
}

fn main() {
    let n = std::env::args().count() as u64;
    println!("{} {}", add_asm(40, n + 1), unsafe { triple_it(n + 13) });
}
"""


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the assembly is x86-64's")
@pytest.mark.parametrize("llvm", ["auto", "llvmlite"])
def test_inline_and_module_assembly_compile_in_either_backend_llvm(tmp_path, llvm):
    ws = package(tmp_path / "asm", {"src/main.rs": ASM},
                 manifest=f'\n[package.metadata.thinwatch]\nllvm = "{llvm}"\n')
    thinwatch_build(ws)
    assert run_exe(ws / ".thinwatch" / "out" / "prog") == cargo_run(ws, tmp_path).stdout == "42 42\n"


C_LIBRARY = {
    "Cargo.toml": '[workspace]\nmembers = ["mixer", "app"]\nresolver = "2"\n',
    # What the `cc` crate does, without the registry: compile, archive, and
    # ask rustc to bundle the archive into the rlib.
    "mixer/build.rs": """\
use std::{env, path::PathBuf, process::Command};
fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let obj = out.join("cmix.o");
    assert!(Command::new("cc").args(["-c", "-O2", "-fPIC", "cmix.c", "-o"]).arg(&obj).status().unwrap().success());
    assert!(Command::new("ar").arg("crs").arg(out.join("libcmix.a")).arg(&obj).status().unwrap().success());
    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=cmix");
    println!("cargo:rerun-if-changed=cmix.c");
}
""",
    # It calls back into Rust: the symbol it needs must stay external.
    "mixer/cmix.c": "unsigned long rust_bias(void);\n"
                    "unsigned long c_mix(unsigned long a, unsigned long b) { return (a * 31u) ^ (b + rust_bias()); }\n",
    "mixer/src/lib.rs": """\
extern "C" { fn c_mix(a: u64, b: u64) -> u64; }
#[no_mangle]
pub extern "C" fn rust_bias() -> u64 { 7 }
pub fn mix(a: u64, b: u64) -> u64 { unsafe { c_mix(a, b) } }
""",
    "app/Cargo.toml": '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n'
                      '[dependencies]\nmixer = { path = "../mixer" }\n',
    "app/src/main.rs": 'fn main() { println!("{}", mixer::mix(5, 6)); }\n',
}


def workspace(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "mixer" / "Cargo.toml").write_text('[package]\nname = "mixer"\nversion = "0.1.0"\nedition = "2021"\n')
    return root


def test_c_objects_in_an_rlib_reach_the_link_and_its_key(tmp_path):
    ws = workspace(tmp_path / "c", C_LIBRARY)
    thinwatch_build(ws)
    exe = ws / ".thinwatch" / "out" / "app"
    assert run_exe(exe) == cargo_run(ws, tmp_path, "app").stdout == f"{(5 * 31) ^ (6 + 7)}\n"

    # Only the C changed: the same bitcode, so every backend is reused, and
    # the link must still run again with the new native member.
    (ws / "mixer" / "cmix.c").write_text((ws / "mixer" / "cmix.c").read_text().replace("a * 31u", "a * 37u"))
    events = thinwatch_build(ws)
    counts = next(e["counts"] for e in events if e["reason"] == "build-finished")
    assert counts["reused"] > 0 and counts["rebuilt"] == counts["reimported"] == 0
    assert [e["skipped"] for e in events if e["reason"] == "link-finished"] == [False]
    assert run_exe(exe) == cargo_run(ws, tmp_path, "app").stdout == f"{(5 * 37) ^ (6 + 7)}\n"


# A binary's build script makes a static library of C in its OUT_DIR,
# rewritten where it lies when the C changes, and names it to the linker.
LINKED_C = """\
use std::{env, path::PathBuf, process::Command};
fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let (obj, lib) = (out.join("extra.o"), out.join("libextra.a"));
    assert!(Command::new("cc").args(["-c", "-O2", "-fPIC", "extra.c", "-o"]).arg(&obj).status().unwrap().success());
    let _ = std::fs::remove_file(&lib);
    assert!(Command::new("ar").arg("crs").arg(&lib).arg(&obj).status().unwrap().success());
    NAMED
    println!("cargo:rerun-if-changed=extra.c");
}
"""
NAMINGS = {
    # By path: the archive stands on the link line as it is.
    "path": 'println!("cargo:rustc-link-arg={}", lib.display());',
    # As the `cc` crate names it: `-lextra`, with OUT_DIR searched.
    "search": 'println!("cargo:rustc-link-search=native={}", out.display()); '
              'println!("cargo:rustc-link-lib=static=extra");',
    # Where the driver looks itself: a directory on LIBRARY_PATH (the test's `sys/`).
    "driver": 'let sys = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap()).join("sys"); '
              'std::fs::create_dir_all(&sys).unwrap(); std::fs::copy(&lib, sys.join("libextra.a")).unwrap(); '
              'println!("cargo:rustc-link-lib=static=extra");',
}


def linked_again_after(ws: Path, tmp_path: Path, rewritten: Path, text: str) -> None:
    """The program prints 5; `rewritten` is then given `text`, after which
    it prints 6: the next build must link again, and match cargo's."""
    thinwatch_build(ws)
    exe = ws / ".thinwatch" / "out" / "prog"
    assert run_exe(exe) == "5\n"
    rewritten.write_text(text)
    events = thinwatch_build(ws)
    assert [e["skipped"] for e in events if e["reason"] == "link-finished"] == [False]
    assert run_exe(exe) == cargo_run(ws, tmp_path).stdout == "6\n"


@pytest.mark.parametrize("naming", NAMINGS)
def test_a_library_the_link_reads_where_it_lies_is_in_the_link_key(tmp_path, naming, monkeypatch):
    monkeypatch.setenv("LIBRARY_PATH", str(tmp_path / "arg" / "sys"))
    ws = package(tmp_path / "arg", {
        "build.rs": LINKED_C.replace("NAMED", NAMINGS[naming]),
        "extra.c": "unsigned long extra(void) { return 5; }\n",
        "src/main.rs": 'extern "C" { fn extra() -> u64; }\nfn main() { println!("{}", unsafe { extra() }); }\n'})
    linked_again_after(ws, tmp_path, ws / "extra.c", "unsigned long extra(void) { return 6; }\n")


def test_a_linker_script_an_option_names_is_in_the_link_key(tmp_path):
    """A script handed to the linker through `-Wl,` is read where it lies;
    this one gives a symbol the value the program prints."""
    ws = package(tmp_path / "script", {
        "build.rs": 'fn main() {\n'
                    '    let script = std::env::current_dir().unwrap().join("extra.ld");\n'
                    '    println!("cargo:rustc-link-arg=-Wl,{}", script.display());\n'
                    '    println!("cargo:rerun-if-changed=extra.ld");\n}\n',
        "extra.ld": "extra_value = 5;\n",
        "src/main.rs": 'extern "C" { static extra_value: u8; }\n'
                       'fn main() { println!("{}", std::ptr::addr_of!(extra_value) as usize); }\n'})
    linked_again_after(ws, tmp_path, ws / "extra.ld", "extra_value = 6;\n")


ASSETS = {
    "Cargo.toml": '[workspace]\nmembers = ["assets", "app"]\nresolver = "2"\n',
    "assets/Cargo.toml": '[package]\nname = "assets"\nversion = "0.1.0"\nedition = "2021"\n',
    # `include_bytes!` makes a private constant: the binary imports `blob`
    # and the library keeps it for `checksum`.
    "assets/src/lib.rs": """\
pub fn blob() -> &'static [u8] { include_bytes!("blob.bin") }
#[inline(never)]
pub fn checksum() -> u64 { blob().iter().fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(b as u64)) }
""",
    "app/Cargo.toml": '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n'
                      '[dependencies]\nassets = { path = "../assets" }\n',
    "app/src/main.rs": """\
fn main() {
    let b = assets::blob();
    println!("{} {} {}", b.len(), b[std::env::args().count() * 4099 % b.len()], assets::checksum());
}
""",
}


def test_a_large_constant_an_import_reads_is_in_the_executable_once(tmp_path):
    """A copy of a private constant goes with an import fragment only while
    it is small; bat's embedded assets were in its executable twice."""
    ws = tmp_path / "assets"
    for rel, text in ASSETS.items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text(text)
    blob = b"".join(hashlib.sha256(str(i).encode()).digest() for i in range(2048))     # 64 KiB, no repeats
    (ws / "assets" / "src" / "blob.bin").write_bytes(blob)
    events = thinwatch_build(ws)
    imported = [name for e in events if e["reason"] == "module-state" and e["module"].startswith("app")
                for name, _, _ in e["imports"]]
    assert any("blob" in name for name in imported), imported     # else this test tests nothing
    exe = ws / ".thinwatch" / "out" / "app"
    assert exe.read_bytes().count(blob[1000:1064]) == 1
    assert run_exe(exe) == cargo_run(ws, tmp_path, "app").stdout


DEAD_CODE = {
    "Cargo.toml": '[workspace]\nmembers = ["tools", "app"]\nresolver = "2"\n',
    "tools/Cargo.toml": '[package]\nname = "tools"\nversion = "0.1.0"\nedition = "2021"\n',
    # Two Rust modules, two codegen units: `helper` is referenced from the
    # other module, so no thin link makes it internal, yet nothing the
    # program runs reaches it.
    "tools/src/lib.rs": """\
pub mod a {
    #[inline(never)] pub fn live_one(x: u64) -> u64 { x.rotate_left(7) ^ 0x5a }
    #[inline(never)] pub fn helper_never_reached(x: u64) -> u64 { x.wrapping_mul(0x9e3779b97f4a7c15) >> 7 }
}
pub mod b {
    #[inline(never)] pub fn dead_caller(x: u64) -> u64 { super::a::helper_never_reached(x) + 1 }
}
""",
    "app/Cargo.toml": '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n'
                      '[dependencies]\ntools = { path = "../tools" }\n',
    "app/src/main.rs": 'fn main() { println!("{}", tools::a::live_one(std::env::args().count() as u64)); }\n',
}


def test_the_link_drops_code_the_program_never_reaches_function_by_function(tmp_path):
    """Each function has a section of its own, as lld's LTO and rustc give
    it, so `--gc-sections` drops a dead one beside a live one."""
    ws = tmp_path / "dead"
    for rel, text in DEAD_CODE.items():
        (ws / rel).parent.mkdir(parents=True, exist_ok=True)
        (ws / rel).write_text(text)
    thinwatch_build(ws)
    exe = ws / ".thinwatch" / "out" / "app"
    symbols = subprocess.run(["nm", str(exe)], capture_output=True, text=True, check=True).stdout
    assert "live_one" in symbols and "helper_never_reached" not in symbols
    assert run_exe(exe) == cargo_run(ws, tmp_path, "app").stdout


LTO_PROFILE = """
[profile.release]
lto = true
codegen-units = 1
"""

TWO_MODULES = """\
mod a { #[inline(never)] pub fn f(x: u64) -> u64 { x * 3 + 1 } }
mod b { #[inline(never)] pub fn g(x: u64) -> u64 { x ^ 0x55 } }
fn main() { let n = std::env::args().count() as u64; println!("{}", a::f(n) + b::g(n)); }
"""


@pytest.mark.parametrize("keep", [False, True])
def test_a_profile_asking_rustc_for_lto_is_overridden_and_said(tmp_path, keep):
    setting = "\n[package.metadata.thinwatch]\nkeep_codegen_units = true\n" if keep else ""
    ws = package(tmp_path / "lto", {"src/main.rs": TWO_MODULES}, manifest=LTO_PROFILE + setting)
    events = thinwatch_build(ws)
    said = [e["message"] for e in events if e["reason"] == "diagnostic"]
    assert len(said) == 1 and "profile.release.lto = false (not true)" in said[0]
    assert ("codegen-units = 256" in said[0]) is not keep
    modules = {e["module"] for e in events if e["reason"] == "module-state"}
    # One codegen unit (and the allocator shim's) when kept; rustc's
    # incremental partitioning makes one per Rust module and more.
    assert len(modules) <= 2 if keep else len(modules) > 2
    assert run_exe(ws / ".thinwatch" / "out" / "prog") == cargo_run(ws, tmp_path).stdout == "88\n"


def same_name_package(root: Path) -> Path:
    """A package whose library and binary are both crate `tool`, each in
    several codegen units, the binary calling into every library module."""
    lib = "".join(f"pub mod m{i} {{\n    #[inline(never)] fn helper(x: u64) -> u64 {{ x.wrapping_mul({i + 3}) ^ {i} }}\n"
                  f"    pub fn f{i}(x: u64) -> u64 {{ helper(x) + {i} }}\n}}\n" for i in range(6))
    main = "".join(f"mod b{i} {{ pub fn g(x: u64) -> u64 {{ tool::m{i}::f{i}(x) * 2 }} }}\n" for i in range(6))
    main += ("fn main() { let n = std::env::args().count() as u64; println!(\"{}\", "
             + " + ".join(f"b{i}::g(n)" for i in range(6)) + "); }\n")
    return package(root, {"src/lib.rs": lib, "src/main.rs": main}, name="tool")


def test_early_work_tells_a_library_from_its_packages_binary(tmp_path):
    """Both are crate `tool`: an rlib cargo rewrote replaces the library's
    codegen units in the guess, not the binary's, so every early job is one
    the build needs."""
    from test_watch import Watcher
    ws = same_name_package(tmp_path / "same")
    # Else cargo writes one during the first build, and builds it again.
    subprocess.run(["cargo", "generate-lockfile", "--offline", "-q"], cwd=ws, check=True)
    w = Watcher(ws)
    try:
        assert w.next("build-finished", timeout=120)["ok"]
        for constant in ("wrapping_mul(50)", "wrapping_mul(500)"):
            edit_at = ws / "src" / "lib.rs"
            edit_at.write_text(edit_at.read_text().replace("wrapping_mul(5)", constant, 1)
                               .replace("wrapping_mul(50)", constant, 1))
            done = w.next("build-finished", timeout=120)
            worked = done["counts"].get("rebuilt", 0) + done["counts"].get("reimported", 0)
            assert done["ok"] and worked >= 1
            assert done["backend_jobs"] == worked          # no early job went unused
    finally:
        w.stop()
    assert run_exe(ws / ".thinwatch" / "out" / "tool") == cargo_run(ws, tmp_path, "tool").stdout


def test_the_backends_compile_for_the_cpu_rustc_asks_lld_for(tmp_path, monkeypatch):
    ws = package(tmp_path / "cpu", {"src/main.rs": TWO_MODULES})
    thinwatch_build(ws)

    def cpus() -> set[str]:
        (state,) = (ws / ".thinwatch" / "units").glob("*/state.json")
        return {m["components"]["options"]["cpu"] for m in orjson.loads(state.read_bytes())["modules"].values()}
    assert cpus() == {"x86-64"}            # rustc's default for the host triple, not LLVM's "generic"
    monkeypatch.setenv("CARGO_ENCODED_RUSTFLAGS", "-Ctarget-cpu=haswell")
    events = thinwatch_build(ws)
    assert cpus() == {"haswell"}
    assert next(e["counts"]["reused"] for e in events if e["reason"] == "build-finished") == 0
    assert run_exe(ws / ".thinwatch" / "out" / "prog") == "88\n"


@pytest.mark.parametrize("how", ["config", "environment"])
def test_a_build_for_another_target_is_refused_naming_where_it_is_asked_for(tmp_path, how):
    ws = package(tmp_path / "cross", {"src/main.rs": TWO_MODULES})
    env = dict(os.environ)
    if how == "config":
        (ws / ".cargo").mkdir()
        (ws / ".cargo" / "config.toml").write_text('[build]\ntarget = "i686-unknown-linux-gnu"\n')
    else:
        env["CARGO_BUILD_TARGET"] = "i686-unknown-linux-gnu"
    res = thinwatch("build", "--once", "--no-tui", str(ws), env=env)
    assert res.returncode == 1
    assert "builds for the host only" in res.stdout and "i686-unknown-linux-gnu" in res.stdout
    assert ("build.target in" if how == "config" else "CARGO_BUILD_TARGET") in res.stdout
