"""What real Rust programs use and the bundled sample does not: inline and
module-level assembly, C compiled into an rlib, release profiles that ask
rustc for LTO itself. Each is a small package written here, built by
thinwatch and by plain cargo, and both executables must behave the same."""

from __future__ import annotations

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
