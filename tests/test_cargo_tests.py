"""`thinwatch test` gives cargo test's verdict, and every executable cargo
links gets its own unit, named as cargo names it: real cargo, small
throwaway workspaces."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest

from conftest import build, cargo_release_dir, run_exe, thinwatch

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")


def workspace(root: Path, packages: dict[str, dict[str, str]]) -> Path:
    """A workspace of packages, each given as {path: text}; a package's
    Cargo.toml gets its [package] table added."""
    members = ", ".join(f'"{name}"' for name in packages)
    (root / "Cargo.toml").parent.mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(f'[workspace]\nmembers = [{members}]\nresolver = "2"\n')
    for name, files in packages.items():
        files = {"Cargo.toml": "", **files}
        files["Cargo.toml"] = (f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n'
                               + files["Cargo.toml"])
        for path, text in files.items():
            (root / name / path).parent.mkdir(parents=True, exist_ok=True)
            (root / name / path).write_text(text)
    return root


def verdicts(stdout: str) -> dict[str, str]:
    """What `thinwatch test` said of each test binary it ran."""
    return dict(re.findall(r"^test (.+?): (ok|FAILED)(?: \(exit \d+\))?$", stdout, re.M))


# One name, many executables: the library's and the binary's unit tests of
# one package, an integration test named as the binary, an example named as
# the binary, and two members' tests/integration.rs. One of each pair fails.
SAME_NAMES = {
    "foo": {
        "src/lib.rs": "pub fn answer() -> i32 { 42 }\n"
                      "#[cfg(test)]\nmod t { #[test] fn lib_passes() { assert_eq!(super::answer(), 42); } }\n",
        "src/main.rs": 'fn main() { println!("bin {}", foo::answer()); }\n'
                       "#[cfg(test)]\nmod t { #[test] fn bin_fails() { assert_eq!(foo::answer(), 0); } }\n",
        "examples/foo.rs": 'fn main() { println!("example {}", foo::answer()); }\n',
        # Runs the binary where cargo puts it, as command-line tools' tests do.
        "tests/foo.rs": "#[test]\nfn runs_the_binary() {\n"
                        '    let out = std::process::Command::new(env!("CARGO_BIN_EXE_foo")).output().unwrap();\n'
                        '    assert_eq!(String::from_utf8_lossy(&out.stdout), "bin 42\\n");\n}\n',
    },
    "a": {"src/lib.rs": "", "tests/integration.rs": "#[test]\nfn passes() {}\n"},
    "b": {"src/lib.rs": "", "tests/integration.rs": '#[test]\nfn fails() { panic!("b fails"); }\n'},
}


def test_every_test_binary_runs_and_any_failure_fails_the_command(tmp_path):
    """Before each executable had its own capture, these shared three: one
    overwrote another (a failing binary never ran and the command passed) or
    two shims raced on one directory. It was random: every run is checked."""
    ws = workspace(tmp_path / "ws", SAME_NAMES)
    for attempt in range(4):
        shutil.rmtree(ws / ".thinwatch", ignore_errors=True)
        res = thinwatch("test", "--no-tui", str(ws))
        assert "cannot stat" not in res.stdout + res.stderr, attempt
        assert verdicts(res.stdout) == {
            "test.foo.lib.foo": "ok", "test.foo.bin.foo": "FAILED", "test.foo.test.foo": "ok",
            "test.a.lib.a": "ok", "test.a.test.integration": "ok",
            "test.b.lib.b": "ok", "test.b.test.integration": "FAILED",
            "cargo test --doc --release": "ok",
        }, (attempt, res.stdout)
        assert res.returncode == 1, attempt
        assert run_exe(ws / ".thinwatch" / "out" / "foo") == "bin 42\n"
        assert run_exe(ws / ".thinwatch" / "out" / "examples" / "foo") == "example 42\n"

    # cargo runs as many test binaries (and gives the same verdict).
    env = dict(os.environ, CARGO_TARGET_DIR=str(tmp_path / "cargo-target"))
    cargo = subprocess.run(["cargo", "test", "--release", "--offline", "--no-fail-fast"], cwd=ws, env=env,
                           capture_output=True, text=True)
    assert cargo.returncode != 0
    ran = re.findall(r"^\s+Running (?:unittests )?\S+ \(", cargo.stderr, re.M)
    assert len(ran) == len(verdicts(res.stdout)) - 1             # and the doc-tests


def test_a_failing_doc_test_fails_the_command(tmp_path):
    ws = workspace(tmp_path / "ws", {"d": {"src/lib.rs": "/// ```\n/// assert_eq!(d::two(), 3);\n/// ```\n"
                                                       "pub fn two() -> i32 { 2 }\n"}})
    res = thinwatch("test", "--no-tui", str(ws))
    assert res.returncode == 1, res.stdout + res.stderr
    assert verdicts(res.stdout) == {"test.d.lib.d": "ok", "cargo test --doc --release": "FAILED"}
    assert "src/lib.rs - two (line 1) ... FAILED" in res.stdout


def test_doc_tests_reuse_the_build_under_a_profile_thinwatch_overrides(tmp_path):
    ws = workspace(tmp_path / "ws", {"d": {"src/lib.rs": "/// ```\n/// assert_eq!(d::two(), 2);\n/// ```\n"
                                                       "pub fn two() -> i32 { 2 }\n"}})
    with open(ws / "Cargo.toml", "a") as manifest:
        manifest.write("[profile.release]\nlto = true\n")
    res = thinwatch("test", "--no-tui", "--json", str(ws))
    assert res.returncode == 0, res.stdout + res.stderr
    (doc,) = [e for e in map(orjson.loads, res.stdout.splitlines())
              if e["reason"] == "program-finished" and e["program"].startswith("cargo test --doc")]
    assert doc["exit_code"] == 0 and "test d/src/lib.rs - two (line 1) ... ok" in doc["output"]
    assert "Compiling d " not in doc["output"]       # cargo found the crate the build left


def test_binaries_are_named_as_cargo_names_them(tmp_path, pool):
    """Hyphens stay (the crate name would be `my_tool`), and the units keep
    their names from build to build."""
    ws = workspace(tmp_path / "ws", {
        "name-clash": {"src/main.rs": 'fn main() { println!("clash"); }\n'},
        "tools": {"src/bin/my-tool.rs": 'fn main() { println!("my tool"); }\n',
                  "src/bin/other.rs": 'fn main() { println!("other"); }\n'},
    })
    assert build(ws, pool).finished.ok
    out = ws / ".thinwatch" / "out"
    assert sorted(p.name for p in out.iterdir()) == ["my-tool", "name-clash", "other"]
    assert [run_exe(out / name) for name in ("my-tool", "name-clash", "other")] == ["my tool\n", "clash\n", "other\n"]
    units = sorted(p.name for p in (ws / ".thinwatch" / "units").iterdir())
    assert units == ["my-tool", "name-clash", "other"]
    again = build(ws, pool)
    assert again.finished.ok and set(again.states.values()) == {"reused"}
    assert sorted(p.name for p in (ws / ".thinwatch" / "units").iterdir()) == units


def test_library_crate_types_thinwatch_cannot_build_are_refused(tmp_path):
    """A cdylib would be linked by rust-lld's own LTO, a staticlib would be
    an archive of bitcode: the build fails naming each, and leaves neither."""
    ws = workspace(tmp_path / "ws", {
        "plug": {"Cargo.toml": '[lib]\ncrate-type = ["cdylib", "rlib"]\n',
                 "src/lib.rs": "#[no_mangle]\npub extern \"C\" fn plug() -> i32 { 1 }\n"},
        "st": {"Cargo.toml": '[lib]\ncrate-type = ["staticlib"]\n',
               "src/lib.rs": "#[no_mangle]\npub extern \"C\" fn st() -> i32 { 2 }\n"},
    })
    res = thinwatch("build", "--once", "--no-tui", str(ws))
    assert res.returncode == 1, res.stdout + res.stderr
    assert "crate `plug`" in res.stdout and "`cdylib`" in res.stdout
    assert "crate `st`" in res.stdout and "`staticlib`" in res.stdout
    assert "remove \"cdylib\" from `crate-type`" in res.stdout
    release = cargo_release_dir(ws)
    assert (release / "deps").is_dir()
    assert not list(release.glob("libplug*.so")) and not list(release.glob("libst*.a"))
    assert not list((release / "deps").glob("libplug*.so")) and not list((release / "deps").glob("libst*.a"))


def test_test_needs_a_cargo_workspace(ir_ws):
    res = thinwatch("test", "--no-tui", str(ir_ws))
    # Refused before anything is built (it says so on stderr, as every usage error)
    assert res.returncode == 2 and "not a Cargo workspace" in res.stderr
