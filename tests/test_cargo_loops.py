"""The loops bacon users expect, on real Cargo workspaces: `thinwatch run`
restarts the program after every good build, `thinwatch test --watch`
reruns the tests with the filter given after `--`, and cargo's selection
flags narrow what is built, or are refused with the reason."""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import sys

import orjson
import pytest

from conftest import edit, run_exe, thinwatch
from thinwatch.engine import cli
from test_cargo_tests import workspace
from test_watch import watcher  # noqa: F401  (the fixture)

pytestmark = pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")

# Runs until it is stopped, as a server does, saying who it is.
SERVER = ("fn main() {\n"
          "    let args: Vec<String> = std::env::args().skip(1).collect();\n"
          '    println!("version 1 pid {} args {:?}", std::process::id(), args);\n'
          "    loop { std::thread::sleep(std::time::Duration::from_secs(1)); }\n}\n")


def said(w, pattern: str) -> re.Match:
    """The next line of the program's output matching `pattern`."""
    while True:
        ev = w.next("program-output")
        if m := re.search(pattern, ev["line"]):
            return m


def test_run_restarts_the_program_after_an_edit_and_kills_the_old_one(tmp_path, watcher):
    ws = workspace(tmp_path / "ws", {"srv": {"src/main.rs": SERVER}})
    w = watcher(ws, command="run", after=("--", "a", "b c"))
    first = said(w, r"version 1 pid (\d+) args (.*)")
    assert first.group(2) == '["a", "b c"]'
    edit(ws / "srv/src/main.rs", "version 1", "version 2")
    second = said(w, r"version 2 pid (\d+)")
    assert second.group(1) != first.group(1)
    assert not os.path.exists(f"/proc/{first.group(1)}"), "the old program still runs"


def test_run_picks_the_binary_as_cargo_run_does(tmp_path, watcher):
    two = {"src/main.rs": 'fn main() { println!("main"); }\n',
           "src/bin/other.rs": 'fn main() { println!("other"); }\n'}
    ws = workspace(tmp_path / "ws", {"tool": two})
    res = thinwatch("run", str(ws))
    assert res.returncode == 2
    assert "could not determine which binary to run" in res.stderr and "binaries: other, tool" in res.stderr, res.stderr
    assert not (ws / ".thinwatch").exists()
    w = watcher(ws, "--bin", "tool", command="run")
    said(w, "^main$")
    w.stop()
    edit(ws / "tool/Cargo.toml", 'edition = "2021"\n', 'edition = "2021"\ndefault-run = "other"\n')
    said(watcher(ws, command="run"), "^other$")


def test_test_watch_reruns_the_filtered_tests_and_shows_libtest_summary(tmp_path, watcher):
    lib = ("pub fn answer() -> i32 { 42 }\n#[cfg(test)]\nmod t {\n"
           "    #[test] fn answer_is_42() { assert_eq!(super::answer(), 42); }\n"
           "    #[test] fn other_one() {}\n    #[test] fn other_two() {}\n}\n")
    ws = workspace(tmp_path / "ws", {"calc": {"src/lib.rs": lib}})
    w = watcher(ws, "--watch", command="test", after=("--", "answer"))
    ran = w.next("program-finished", program=str(ws / ".thinwatch/out/test.calc.lib.calc"))
    assert ran["exit_code"] == 0
    assert ran["summary"].startswith("test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 2 filtered out")
    edit(ws / "calc/src/lib.rs", "42 }", "41 }")
    ran = w.next("program-finished", program=str(ws / ".thinwatch/out/test.calc.lib.calc"))
    assert ran["exit_code"] != 0 and ran["summary"].startswith("test result: FAILED. 0 passed; 1 failed;")


def test_test_shows_libtest_summary_headless(tmp_path):
    ws = workspace(tmp_path / "ws", {"calc": {"src/lib.rs": "#[test] fn one() {}\n#[test] fn two() {}\n"}})
    res = thinwatch("test", "--no-tui", str(ws), "--", "--exact", "one")
    assert res.returncode == 0, res.stdout + res.stderr
    assert re.search(r"^test test\.calc\.lib\.calc: ok\n  test result: ok\. 1 passed; 0 failed; 0 ignored; "
                     r"0 measured; 1 filtered out", res.stdout, re.M), res.stdout


# Two packages, features, an example and a profile that asks for fat LTO.
SELECTABLE = {
    "shout": {
        "Cargo.toml": '[features]\ndefault = ["loud"]\nloud = []\nexcited = []\n',
        "src/main.rs": 'fn main() {\n    let mut s = String::from("hi");\n'
                       '    if cfg!(feature = "loud") { s = s.to_uppercase(); }\n'
                       '    if cfg!(feature = "excited") { s.push(\'!\'); }\n    println!("{s}");\n}\n',
        "examples/demo.rs": 'fn main() { println!("demo"); }\n',
    },
    "quiet": {"src/main.rs": 'fn main() { println!("quiet"); }\n'},
}


def test_selection_flags_narrow_what_cargo_builds(tmp_path):
    ws = workspace(tmp_path / "ws", SELECTABLE)
    (ws / "Cargo.toml").write_text((ws / "Cargo.toml").read_text()
                                   + '[profile.fast]\ninherits = "release"\nlto = "fat"\n')
    out = ws / ".thinwatch" / "out"

    def build(*flags: str) -> str:
        res = thinwatch("build", "-j", "2", str(ws), *flags)
        assert res.returncode == 0, res.stdout + res.stderr
        return res.stdout

    build("-p", "shout")
    assert run_exe(out / "shout") == "HI\n" and not (out / "quiet").exists()
    build("--bin", "quiet")
    assert run_exe(out / "quiet") == "quiet\n"
    build("-p", "shout", "--no-default-features")
    assert run_exe(out / "shout") == "hi\n"
    build("-p", "shout", "--features", "excited")
    assert run_exe(out / "shout") == "HI!\n"
    build("-p", "shout", "--all-features", "--no-default-features")
    assert run_exe(out / "shout") == "HI!\n"
    build("-p", "shout", "--example", "demo")
    assert run_exe(out / "examples" / "demo") == "demo\n"
    said = build("-p", "quiet", "--profile", "fast")
    assert "profile.fast.lto = false (not \"fat\")" in said
    assert run_exe(out / "quiet") == "quiet\n"


def test_an_example_follows_its_library_and_has_it_in_thinwatchs_link(tmp_path):
    """An example links in `examples/`, its package's library from `deps/`:
    the capture once kept only what was beside the output, the rlib stayed a
    path on the link line with lld doing its LTO, its content was in no key,
    and an edit of the library left the example as it was."""
    ws = workspace(tmp_path / "ws", {"greet": {
        "src/lib.rs": '#[inline(never)] pub fn greeting() -> &\'static str { "one" }\n',
        "examples/show.rs": 'fn main() { println!("{}", greet::greeting()); }\n'}})
    exe = ws / ".thinwatch" / "out" / "examples" / "show"

    def build() -> set[str]:
        res = thinwatch("build", "--json", "--example", "show", str(ws))
        assert res.returncode == 0, res.stdout + res.stderr
        return {e["crate"] for line in res.stdout.splitlines() if (e := orjson.loads(line))["reason"] == "module-state"}
    assert "greet" in build() and run_exe(exe) == "one\n"
    edit(ws / "greet" / "src" / "lib.rs", '"one"', '"two"')
    build()
    assert run_exe(exe) == "two\n"


@pytest.mark.parametrize("flags, message", [
    (("--target-dir", "elsewhere"), "--target-dir is not supported: thinwatch keeps cargo's target directory"),
    (("--watch",), "--watch is for `thinwatch test`"),
    (("--", "x"), "arguments after `--` go to `thinwatch run`'s program"),
])
def test_what_thinwatch_cannot_honour_is_refused_with_exit_2(tmp_path, flags, message):
    ws = workspace(tmp_path / "ws", {"quiet": SELECTABLE["quiet"]})
    res = thinwatch("build", str(ws), *flags)
    assert res.returncode == 2 and message in res.stderr, res.stderr
    assert not (ws / ".thinwatch").exists()


def test_cargo_flags_on_an_ir_workspace_are_refused(ir_ws):
    res = thinwatch("build", str(ir_ws), "-p", "core")
    assert res.returncode == 2 and "only a Cargo workspace takes cargo's selection flags" in res.stderr, res.stderr


class Terminal(io.StringIO):
    """stdout as a terminal: `isatty` is what the command asks."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("words, tests", [(("run",), False), (("test", "--watch"), True)])
def test_a_watch_on_a_terminal_opens_the_terminal_ui_with_its_session_arguments(tmp_path, monkeypatch, words, tests):
    ws = workspace(tmp_path / "ws", {"srv": {"src/main.rs": SERVER}})
    opened = []

    def terminal(root, jobs, on_change, **session) -> int:
        opened.append((root, jobs, on_change, session))
        return 0
    monkeypatch.setattr(sys, "stdout", Terminal())
    assert cli.run([*words, str(ws), "-j", "2", "-p", "srv", "--", "a", "b c"], terminal) == 0
    [(root, jobs, on_change, session)] = opened
    assert (root, jobs, on_change) == (ws, 2, "restart")
    assert session["tests"] is tests and session["test_args"] == ["a", "b c"]
    assert session["options"].packages == ("srv",)
    assert session["run"] == ([str(ws.resolve() / ".thinwatch/out/srv"), "a", "b c"] if not tests else None)
    # Headless when asked to be, or when it does not watch: that path (its
    # own tests run it) just says it was taken.
    monkeypatch.setattr(cli, "_headless", lambda args, root: asyncio.sleep(0, 3))
    for asked in ("--no-tui", "--json", "--once"):
        assert cli.run([*words, str(ws), asked], terminal) == 3
    assert len(opened) == 1
    assert session["wait"] is False
    assert cli.run([*words, str(ws), "--wait"], terminal) == 0 and opened[-1][3]["wait"] is True
