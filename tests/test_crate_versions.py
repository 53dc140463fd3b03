"""Two versions of one registry crate in one link. cargo compiles a
registry crate without incremental state, so rustc names its codegen units
`<crate>.<hash>-cgu.<N>`, the hash standing for the version; two versions'
units must stay two modules, each with its own bitcode."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import orjson

from conftest import build, run_exe
from thinwatch.engine.events import ModuleState

VERSIONS = {
    "1.0.0": "xs.iter().enumerate().map(|(i, x)| x * (i as u64 + 1)).sum()",
    "2.0.0": "xs.iter().rev().fold(7, |acc, x| acc.wrapping_mul(31) ^ x)",
}


def vendor(registry: Path, version: str, body: str) -> None:
    """A crate `dup` in a directory source, as `cargo vendor` leaves one."""
    crate = registry / f"dup-{version}"
    (crate / "src").mkdir(parents=True)
    files = {
        "Cargo.toml": f'[package]\nname = "dup"\nversion = "{version}"\nedition = "2021"\n',
        "src/lib.rs": f"#[inline(never)]\npub fn weigh(xs: &[u64]) -> u64 {{\n    {body}\n}}\n",
    }
    for name, text in files.items():
        (crate / name).write_text(text)
    sums = {name: hashlib.sha256(text.encode()).hexdigest() for name, text in files.items()}
    (crate / ".cargo-checksum.json").write_bytes(orjson.dumps({"files": sums, "package": None}))


def test_two_versions_of_a_registry_crate_are_two_modules_each(tmp_path, pool):
    registry = tmp_path / "registry"
    for version, body in VERSIONS.items():
        vendor(registry, version, body)
    ws = tmp_path / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / ".cargo").mkdir()
    (ws / ".cargo" / "config.toml").write_text(
        f'[source.crates-io]\nreplace-with = "vendored"\n\n[source.vendored]\ndirectory = "{registry}"\n\n'
        "[net]\noffline = true\n")
    (ws / "Cargo.toml").write_text(
        '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
        'old = { package = "dup", version = "1" }\nnew = { package = "dup", version = "2" }\n')
    (ws / "src" / "main.rs").write_text(
        "fn main() {\n    let xs: Vec<u64> = (1..=50).collect();\n"
        '    println!("{} {}", old::weigh(&xs), new::weigh(&xs));\n}\n')
    cargo = subprocess.run(["cargo", "run", "-q", "--release"], cwd=ws, capture_output=True, text=True)
    assert cargo.returncode == 0, cargo.stderr
    assert cargo.stdout == "42925 7663298730712969588\n"

    out = build(ws, pool)
    assert out.finished.ok, out.diagnostics
    dup = [e.module for e in out.events if isinstance(e, ModuleState) and e.crate == "dup" and e.state == "rebuilt"]
    assert len(set(dup)) == len(dup) >= 2
    assert run_exe(Path(out.finished.outputs[0])) == cargo.stdout
