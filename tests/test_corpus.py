"""The real-world corpus: small programs on real crates from Debian's vendored
registry (`tests/corpus/`), built by plain `cargo build --release` and by
thinwatch. For every program:
- thinwatch's executable behaves as cargo's on the same sources (stdout,
  stderr, exit code), before and after an edit;
- a no-op rebuild reuses every module and skips the link;
- after a scripted edit in its top crate, its objects and executable are
  byte-identical to those of a clean thinwatch build (empty cache).
And `thinwatch test` runs the test binaries `cargo test` runs, with its verdict.

Each workspace is copied and put through that sequence once per module
(`corpus_run`); the tests read what it recorded. The whole corpus runs in
the default run (about 6.5 minutes on 2 cores, bat's 429 modules about 4
of them); `pytest -m corpus` runs it alone.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from conftest import IGNORE, ROOT, build, edit, thinwatch
from thinwatch.engine.events import FINAL_STATES

pytestmark = pytest.mark.corpus          # `pytest -m corpus` runs it alone

CORPUS = ROOT / "tests" / "corpus"
REGISTRY = Path("/usr/share/cargo/registry")

# Debian packages the corpus builds from: the crates its programs name (each
# pulls in its own dependencies), and the system zlib that libz-sys finds
# with pkg-config.
PACKAGES = (
    "librust-serde-derive-dev", "librust-serde-json-dev",
    "librust-flate2-dev", "librust-libz-sys-dev", "zlib1g-dev", "pkgconf",
    "librust-cc-dev",
    "librust-terminal-size-dev", "librust-rustix-dev",
    "librust-grep-dev", "librust-walkdir-dev",
    "librust-sha2-dev",
    "librust-tokio-dev", "librust-rayon-dev",
    "librust-bat-dev",
)


@dataclass(frozen=True)
class Program:
    workspace: str                    # a directory of tests/corpus/
    binary: str                       # the executable, as cargo names it
    edit: tuple[str, str, str]        # (file below the workspace, old, new) in its own crate
    args: tuple[str, ...] = ()        # run from the workspace's root
    library_edit: tuple[str, str, str] | None = None     # in a library crate of the workspace it uses

    @property
    def edits(self) -> list[tuple[str, str, str]]:
        return [self.edit, *([self.library_edit] if self.library_edit else [])]

    def __str__(self) -> str:
        return f"{self.workspace}/{self.binary}"


PROGRAMS = [
    Program("registry", "roundtrip", ("roundtrip/src/main.rs", "layers: 3,", "layers: 4,")),
    Program("registry", "deflate", ("deflate/src/main.rs", "Compression::new(6)", "Compression::new(9)")),
    Program("registry", "cmix", ("cmix/src/main.rs", "fold(1u32", "fold(7u32")),
    Program("registry", "termsize", ("termsize/src/main.rs", 'b"through a rustix pipe"', 'b"through a pipe"')),
    Program("registry", "simplegrep", ("simplegrep/src/main.rs", ".line_number(false)", ".line_number(true)"),
            ("fo+", "simplegrep/input/list.txt", "simplegrep/input/poem.txt")),
    Program("registry", "sha", ("sha/src/main.rs", "(i * 31 % 251)", "(i * 37 % 251)")),
    Program("registry", "tokiosum", ("tokiosum/src/main.rs", "1..=200u64", "1..=300u64")),
    Program("registry", "rayonsum", ("rayonsum/src/main.rs", "% 1009", "% 1013")),
    Program("plain", "asm", ("asm/src/main.rs", "0..100u64", "0..120u64")),
    Program("plain", "tools", ("tools/src/main.rs", "(2..100).filter", "(2..100).rev().filter")),
    Program("plain", "my-tool", ("tools/src/bin/my-tool.rs", "fold((0u64, 1u64)", "fold((2u64, 1u64)")),
    Program("samename", "samename", ("src/main.rs", "wwwwaaadexxxxxxywww", "wwwwaaadexxxxxxywwwzz")),
    Program("lto", "ltoprog", ("src/main.rs", "(1..=20)", "(1..=30)")),
    # bat's own library and the binary that uses it, both workspace members
    # (tests/corpus/bat/Cargo.toml). Nothing read from the user's config,
    # cache, pager or terminal.
    Program("bat", "bat", ("bat/src/bin/bat/input.rs", 'Some("File".to_owned())', 'Some("Path".to_owned())'),
            ("--no-config", "--no-custom-assets", "--paging=never", "--color=always", "--theme=ansi",
             "--decorations=always", "--style=header-filename,header-filesize,numbers,grid",
             "--terminal-width=80", "bat/build.rs"),
            library_edit=("bat/src/printer.rs", '"Size: {}"', '"Bytes: {}"')),
    Program("abort", "aborts", ("src/main.rs", "[1, 2, 3, 4, 5, 6, 7, 8, 9]", "[1, 2, 3, 4, 5, 6, 7, 8, 9, 30]")),
]

PARAMS = [pytest.param(p, id=str(p)) for p in PROGRAMS]
WORKSPACES = list(dict.fromkeys(p.workspace for p in PROGRAMS))


# -- the registry -------------------------------------------------------------

def _locked_crates() -> list[Path]:
    """The registry directory of every crate a corpus lock file names."""
    dirs = set()
    for lock in CORPUS.glob("*/Cargo.lock"):
        for pkg in tomllib.loads(lock.read_text())["package"]:
            if pkg.get("source", "").startswith("registry+"):
                # Debian's directory names drop a version's build metadata
                # (libgit2-sys 0.14.1+1.5.0 is in libgit2-sys-0.14.1).
                dirs.add(REGISTRY / f"{pkg['name']}-{pkg['version'].split('+')[0]}")
    return sorted(dirs)


def _missing() -> list[str]:
    status = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *PACKAGES],
                            capture_output=True, text=True).stdout
    installed = {line.split()[0] for line in status.splitlines() if line.endswith(" installed")}
    return ([p for p in PACKAGES if p not in installed]
            + [str(d) for d in _locked_crates() if not d.is_dir()])


@pytest.fixture(scope="session")
def registry() -> None:
    """Install the corpus's Debian packages if any is missing; fail if that
    cannot be done. Never a skip: a corpus nobody runs proves nothing."""
    if shutil.which("cargo") is None:
        pytest.fail("the corpus needs cargo (Rust 1.95, as thinwatch does): install it with rustup")
    missing = _missing()
    if not missing:
        return
    if os.geteuid() != 0:
        pytest.fail(f"the corpus needs {' '.join(missing)}; as root, run: "
                    f"apt-get install -y {' '.join(PACKAGES)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", *PACKAGES]):
        res = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if res.returncode != 0:
            pytest.fail(f"`{' '.join(cmd)}` failed ({res.returncode}); the corpus needs {' '.join(missing)}:\n"
                        + res.stderr[-3000:])
    if still := _missing():
        pytest.fail("installed " + " ".join(PACKAGES) + ", but the corpus's lock files name what the registry "
                    "lacks: " + " ".join(still))


# -- one workspace through the whole sequence ---------------------------------

@dataclass
class Behaviour:
    stdout: str
    stderr: str
    exit_code: int


Events = list[dict]     # a build's events as `--json` writes them


@dataclass
class CorpusRun:
    ws: Path
    cold_exit: int                    # of `thinwatch build --once --no-tui --json`
    cold: Events
    cold_behaviour: dict[str, tuple[Behaviour, Behaviour]]    # binary -> (thinwatch's, cargo's)
    before_noop: dict[str, str]
    noop: Events
    after_noop: dict[str, str]
    edited: Events
    edited_behaviour: dict[str, tuple[Behaviour, Behaviour]]
    incremental: dict[str, str]
    clean: Events
    from_clean: dict[str, str]


def _run(exe: Path, program: Program, cwd: Path) -> Behaviour:
    if not exe.exists():
        return Behaviour("", f"{exe} does not exist", -1)
    # A backtrace would show what each build inlined where, and a panic
    # message names the thread by an id that differs on every run.
    env = {k: v for k, v in os.environ.items() if k != "RUST_BACKTRACE"}
    res = subprocess.run([str(exe), *program.args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    return Behaviour(res.stdout, re.sub(r"(thread '[^']*') \(\d+\)", r"\1", res.stderr), res.returncode)


def _behaviours(ws: Path, cargo_target: Path, programs: list[Program]) -> dict[str, tuple[Behaviour, Behaviour]]:
    """Each program's behaviour built by thinwatch and by plain `cargo build
    --release` (no thinwatch flag, a target directory of its own)."""
    env = {k: v for k, v in os.environ.items() if k not in ("RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS")}
    env["CARGO_TARGET_DIR"] = str(cargo_target)
    res = subprocess.run(["cargo", "build", "--release"], cwd=ws, env=env, capture_output=True, text=True)
    assert res.returncode == 0, f"cargo build --release failed in {ws}:\n{res.stderr[-3000:]}"
    return {p.binary: (_run(ws / ".thinwatch" / "out" / p.binary, p, ws),
                       _run(cargo_target / "release" / p.binary, p, ws)) for p in programs}


def _outputs(ws: Path) -> dict[str, str]:
    """Digest of every unit's objects and of every executable, by path."""
    state = ws / ".thinwatch"
    found = [*state.glob("units/*/objects/*.o"), *(p for p in state.glob("out/*") if not p.name.startswith("."))]
    return {str(p.relative_to(state)): hashlib.sha256(p.read_bytes()).hexdigest() for p in found}


def _build(ws: Path, pool) -> Events:
    return [orjson.loads(e.to_json()) for e in build(ws, pool).events]


def _sequence(workspace: str, pool, tmp: Path) -> CorpusRun:
    # The config that points cargo at the registry is found above the copy,
    # as it is above the workspace in the tree.
    shutil.copytree(CORPUS / ".cargo", tmp / ".cargo")
    ws = tmp / workspace
    shutil.copytree(CORPUS / workspace, ws, ignore=IGNORE)
    programs = [p for p in PROGRAMS if p.workspace == workspace]
    cargo_target = tmp / "cargo-target"

    res = thinwatch("build", "--once", "--no-tui", "--json", str(ws))
    cold = [orjson.loads(line) for line in res.stdout.splitlines()]
    cold_behaviour = _behaviours(ws, cargo_target, programs)
    before_noop = _outputs(ws)
    noop = _build(ws, pool)
    after_noop = _outputs(ws)
    # Every program's edit at once: one incremental and one clean build per
    # workspace, not one per program.
    for p in programs:
        for file, old, new in p.edits:
            edit(ws / file, old, new)
    edited = _build(ws, pool)
    incremental = _outputs(ws)
    edited_behaviour = _behaviours(ws, cargo_target, programs)
    for name in ("cache", "units"):
        shutil.rmtree(ws / ".thinwatch" / name, ignore_errors=True)
    clean = _build(ws, pool)
    return CorpusRun(ws, res.returncode, cold, cold_behaviour, before_noop, noop, after_noop,
                     edited, edited_behaviour, incremental, clean, _outputs(ws))


@pytest.fixture(scope="module")
def corpus_run(registry, pool, tmp_path_factory):
    """A workspace's run, made on first use and shared by its programs' tests."""
    runs: dict[str, CorpusRun] = {}

    def get(workspace: str) -> CorpusRun:
        if workspace not in runs:
            runs[workspace] = _sequence(workspace, pool, tmp_path_factory.mktemp(workspace))
        return runs[workspace]
    return get


# -- what each program must do -------------------------------------------------

def _errors(events: Events) -> str:
    """A build's errors, to say why a check failed."""
    return "\n".join(f"{e.get('module') or e.get('file') or 'build'}: {e['message']}" for e in events
                     if e["reason"] == "diagnostic" and e["level"] == "error")[-4000:]


def _assert_linked(events: Events, exe: Path, build: str) -> None:
    linked = any(e["reason"] == "link-finished" and e["output"] == str(exe) for e in events)
    assert linked, f"{build} did not link {exe}; the errors of that build:\n{_errors(events)}"


def _program_run(corpus_run, program: Program) -> tuple[CorpusRun, Path]:
    """The run of the program's workspace, and the program's executable."""
    run = corpus_run(program.workspace)
    return run, run.ws / ".thinwatch" / "out" / program.binary


def _unit(outputs: dict[str, str], program: Program) -> dict[str, str]:
    """The program's executable and the objects of its link unit, which
    thinwatch names as cargo names the binary."""
    return {path: digest for path, digest in outputs.items()
            if path == f"out/{program.binary}" or path.startswith(f"units/{program.binary}/objects/")}


def _module_ids(outputs: dict[str, str], program: Program) -> set[str]:
    # An object is named after its module id with `::` spelled `.`; crate
    # names have no dots, codegen unit names may (`sha2::1a2b3c-cgu.0`).
    return {Path(path).stem.replace(".", "::", 1) for path in _unit(outputs, program) if path.endswith(".o")}


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_thinwatch_build_succeeds(workspace, corpus_run):
    run = corpus_run(workspace)
    finished = [e for e in run.cold if e["reason"] == "build-finished"]
    assert run.cold_exit == 0 and [e["ok"] for e in finished] == [True], _errors(run.cold)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("program", PARAMS)
def test_behaves_like_cargo(program, corpus_run):
    run, exe = _program_run(corpus_run, program)
    _assert_linked(run.cold, exe, "`thinwatch build`")
    ours, cargos = run.cold_behaviour[program.binary]
    assert ours == cargos


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("program", PARAMS)
def test_noop_rebuild_reuses_everything(program, corpus_run):
    run, exe = _program_run(corpus_run, program)
    _assert_linked(run.cold, exe, "`thinwatch build`")
    modules = _module_ids(run.before_noop, program)
    states = {e["state"] for e in run.noop
              if e["reason"] == "module-state" and e["module"] in modules and e["state"] in FINAL_STATES}
    assert states == {"reused"}, _errors(run.noop)
    assert [e["skipped"] for e in run.noop if e["reason"] == "link-finished" and e["output"] == str(exe)] == [True]
    assert _unit(run.after_noop, program) == _unit(run.before_noop, program)


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("program", PARAMS)
def test_edit_gives_what_a_clean_build_gives(program, corpus_run):
    run, exe = _program_run(corpus_run, program)
    _assert_linked(run.edited, exe, "the build after the edit")
    _assert_linked(run.clean, exe, "the clean build")
    incremental = _unit(run.incremental, program)
    assert len(incremental) > 1
    assert incremental == _unit(run.from_clean, program)
    ours, cargos = run.edited_behaviour[program.binary]
    assert ours == cargos
    assert ours != run.cold_behaviour[program.binary][0], "the edit changed nothing the program prints"


@pytest.mark.timeout(1800)
def test_lto_profile_still_gives_thinwatch_codegen_units(corpus_run):
    """`lto = true` and `codegen-units = 1` would hand thinwatch one module
    that every edit compiles again: thinwatch overrides both."""
    run = corpus_run("lto")
    modules = {e["module"] for e in run.cold if e["reason"] == "module-state" and e["crate"] == "ltoprog"}
    assert len(modules) > 1, modules


def _cargo_test(ws: Path, target: Path) -> tuple[int, int]:
    """`cargo test --release`'s exit code and how many test binaries it ran,
    its doc-tests counted as one, as thinwatch reports them."""
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    res = subprocess.run(["cargo", "test", "--release", "--no-fail-fast"], cwd=ws, env=env, capture_output=True, text=True)
    return res.returncode, len(re.findall(r"^\s+(?:Running|Doc-tests) ", res.stderr, re.M))


def _thinwatch_test(ws: Path) -> tuple[int, list[int]]:
    """`thinwatch test`'s exit code and the exit code of each test binary it ran."""
    res = thinwatch("test", "--no-tui", "--json", str(ws))
    events = [orjson.loads(line) for line in res.stdout.splitlines()]
    return res.returncode, [e["exit_code"] for e in events if e["reason"] == "program-finished" and e["kind"] == "test"]


@pytest.mark.timeout(1800)
def test_thinwatch_test_gives_cargo_tests_verdict(registry, tmp_path):
    """A library and a binary of one crate name each have unit tests: every
    test binary cargo runs, thinwatch runs, passing or failing, every time
    (two of one name once shared one capture, and which one ran was luck)."""
    shutil.copytree(CORPUS / ".cargo", tmp_path / ".cargo")
    ws = tmp_path / "samename"
    shutil.copytree(CORPUS / "samename", ws, ignore=IGNORE)
    exit_code, binaries = _cargo_test(ws, tmp_path / "cargo-target")
    assert exit_code == 0 and binaries == 4
    for _ in range(3):
        assert _thinwatch_test(ws) == (0, [0] * binaries)

    edit(ws / "src/main.rs", '"2x1y"', '"2x1y!"')
    exit_code, binaries = _cargo_test(ws, tmp_path / "cargo-target")
    assert exit_code == 101 and binaries == 4
    for _ in range(3):
        code, ran = _thinwatch_test(ws)
        assert code == 1 and len(ran) == binaries and sorted(ran) == [0, 0, 0, 101]


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("workspace", WORKSPACES)
def test_watch_mode_builds_the_edit_with_the_backends_it_needs(workspace, corpus_run, tmp_path):
    """`thinwatch watch` from the first edit of the session on: the programs
    behave as cargo's build of the same edit, and the backend jobs a build
    reports (early ones included) are the ones its modules needed, plus at
    most the documented early margin."""
    from thinwatch.engine.early import JOBS_PER_WORKER
    from test_watch import Watcher
    reference = corpus_run(workspace)            # cargo's behaviour after the same edits
    shutil.copytree(CORPUS / ".cargo", tmp_path / ".cargo")
    ws = tmp_path / workspace
    shutil.copytree(CORPUS / workspace, ws, ignore=IGNORE)
    programs = [p for p in PROGRAMS if p.workspace == workspace]
    w = Watcher(ws)
    try:
        assert w.next("build-finished", timeout=600)["ok"]
        for p in programs:
            for file, old, new in p.edits:
                edit(ws / file, old, new)
        done = w.next("build-finished", timeout=600)
        while done["superseded"]:                     # the edits reached it one file at a time
            done = w.next("build-finished", timeout=600)
        needed = done["counts"].get("rebuilt", 0) + done["counts"].get("reimported", 0)
        assert done["ok"] and needed >= 1
        assert needed <= done["backend_jobs"] <= needed + JOBS_PER_WORKER * 2     # the watcher runs -j 2
        for p in programs:
            assert _run(ws / ".thinwatch" / "out" / p.binary, p, ws) == reference.edited_behaviour[p.binary][1]
    finally:
        w.stop()
