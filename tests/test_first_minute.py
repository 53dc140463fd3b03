"""What a new user meets in the first minute (issue 17): the version, a
build directory git does not list, `build` building once, and a directory
that is no workspace left as it was."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

from conftest import ROOT, thinwatch


def test_version_names_the_installed_distribution():
    expected = f"thinwatch {version('thinwatch')}\n"
    for module in ("thinwatch.engine.cli", "thinwatch"):        # the headless command line and the `thinwatch` command
        res = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True,
                             cwd=ROOT, timeout=60)
        assert (res.returncode, res.stdout, res.stderr) == (0, expected, "")


def test_build_directory_ignores_itself_for_git(ir_ws, tmp_path):
    subprocess.run(["git", "init", "-q", str(ir_ws)], check=True)
    assert thinwatch("build", str(ir_ws)).returncode == 0
    assert (ir_ws / ".thinwatch/.gitignore").read_text() == "*\n"
    status = subprocess.run(["git", "-C", str(ir_ws), "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout
    assert ".thinwatch" not in status
    (ir_ws / ".thinwatch/.gitignore").write_text("out/\n")          # the user's own: kept
    assert thinwatch("build", str(ir_ws)).returncode == 0
    assert (ir_ws / ".thinwatch/.gitignore").read_text() == "out/\n"


def test_gitignore_is_never_written_through_a_link(ir_ws, tmp_path):
    (ir_ws / ".thinwatch").mkdir()
    target = tmp_path / "someone-elses-file"
    (ir_ws / ".thinwatch/.gitignore").symlink_to(target)           # dangling: O_CREAT would make it
    res = thinwatch("build", str(ir_ws))
    assert res.returncode == 2 and f"{ir_ws.resolve() / '.thinwatch/.gitignore'} is a symbolic link" in res.stderr
    assert not target.exists()


def test_build_builds_once_wherever_its_options_stand(ir_ws):
    """`build` needs no `--once`, and an option's value before the command
    is not taken for a command (`-j 2 build` said "unknown command 'build'")."""
    for argv in (["build"], ["-j", "2", "build"], ["--on-change", "finish", "build"], ["build", "--once"]):
        res = thinwatch(*argv, str(ir_ws))
        assert res.returncode == 0, (argv, res.stderr)
        assert res.stdout.count("build 1 ok") == 1 and "build 2" not in res.stdout, argv


def test_a_directory_that_is_no_workspace_is_left_as_it_was(tmp_path):
    for argv in (["build"], ["watch", "--no-tui"], ["test"], ["build", "--json"], ["clean"]):
        res = thinwatch(*argv, str(tmp_path))
        assert res.returncode == 2, (argv, res.stdout, res.stderr)
        assert f"{tmp_path.resolve()} is not a workspace: it has neither a thinwatch.toml" in res.stderr, argv
        assert list(tmp_path.iterdir()) == [], argv
