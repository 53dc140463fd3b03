"""One cache shared by checkouts at different paths: keys hold no path, so
a second checkout reuses every object; builds writing and pruning it at
the same time lose nothing and never use a bad entry."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson
import pytest

from conftest import IGNORE, ROOT, SAMPLE_IR, build, clean_outputs, edit, outputs, thinwatch
from thinwatch.engine import files, llvm_env, native_llvm
from thinwatch.engine.frontends.cargo import config
from thinwatch.engine.cache import Cache, PRIVATE_MODES, SHARED_MODES
from test_rust import SAMPLE_RUST


def _finished(res: subprocess.CompletedProcess) -> dict:
    assert res.returncode == 0, res.stderr
    return [e for e in map(orjson.loads, res.stdout.splitlines()) if e["reason"] == "build-finished"][-1]


def test_a_second_cargo_checkout_elsewhere_reuses_every_object(tmp_path):
    shared = tmp_path / "shared-cache"
    first = shutil.copytree(SAMPLE_RUST, tmp_path / "a" / "checkout", ignore=IGNORE)
    second = shutil.copytree(SAMPLE_RUST, tmp_path / "elsewhere" / "deeper" / "work", ignore=IGNORE)
    one = _finished(thinwatch("build", "--json", "--cache-dir", str(shared), str(first)))
    assert one["backend_jobs"] > 0
    two = _finished(thinwatch("build", "--json", "--cache-dir", str(shared), str(second)))
    assert two["ok"] and two["backend_jobs"] == 0 and two["counts"]["reused"] == one["counts"]["rebuilt"]
    exe = Path(".thinwatch/out/app")
    assert (second / exe).read_bytes() == (first / exe).read_bytes()
    assert not (second / ".thinwatch" / "cache").exists()      # all of it went to the shared one


def _ir_checkout(root: Path, cache: Path | str, limits: str = "") -> Path:
    ws = shutil.copytree(SAMPLE_IR, root, ignore=IGNORE)
    with open(ws / "thinwatch.toml", "a") as f:
        f.write(f'\n[cache]\ndir = "{cache}"\n{limits}')
    return ws


def test_the_cache_dir_setting_shares_a_cache(tmp_path, pool):
    shared = tmp_path / "shared"
    # The second names it relative to its manifest, as a checkout beside it would.
    first, second = _ir_checkout(tmp_path / "a", shared), _ir_checkout(tmp_path / "b" / "c", "../../shared")
    assert build(first, pool).finished.backend_jobs == 9
    again = build(second, pool)
    assert again.finished.ok and again.finished.backend_jobs == 0 and set(again.states.values()) == {"reused"}
    assert outputs(second) == outputs(first)
    assert any((shared / "obj").rglob("*")) and not (second / ".thinwatch" / "cache").exists()


def test_builds_writing_and_pruning_one_cache_at_once_lose_nothing(tmp_path, pool):
    """Two checkouts, a cache bounded to nothing (so every build prunes all
    it can), each edited and built at the same time as the other, again and
    again: every build succeeds, and each ends as a clean build of it would."""
    shared = tmp_path / "shared"
    checkouts = [_ir_checkout(tmp_path / name, shared, "max_size_mb = 0\nmax_age_days = 0\n") for name in "ab"]
    for round in range(4):
        for i, ws in enumerate(checkouts):
            geom = ws / "core/geom.ll"
            old = "%d = add i32 %ax, %ay" if round == 0 else f"%d = add i32 %ax, {round + i * 10 - 1}"
            edit(geom, old, f"%d = add i32 %ax, {round + i * 10}")
        procs = [subprocess.Popen([sys.executable, "-m", "thinwatch.engine.cli", "build", "--json", "-j", "1", str(ws)],
                                  cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for ws in checkouts]
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, (round, err.decode(), out.decode()[-2000:])
    for ws in checkouts:
        assert outputs(ws) == clean_outputs(ws, pool, ws.parent / "clean")


def test_a_build_waiting_for_a_pruning_build_leaves_the_loop_running(tmp_path, pool):
    """While another build prunes the cache (holding it alone), a build
    waits for it off the event loop, which a UI shares; then it builds."""
    import asyncio
    import fcntl
    from thinwatch.engine.reporter import Reporter
    from thinwatch.engine.scheduler import run_build
    ws = _ir_checkout(tmp_path / "ws", tmp_path / "shared")
    (tmp_path / "shared").mkdir()
    pruner = os.open(tmp_path / "shared" / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(pruner, fcntl.LOCK_EX)

    async def scenario() -> tuple[int, bool]:
        events = []
        building = asyncio.ensure_future(run_build(ws, pool, Reporter(events.append, 1)))
        ticks = 0
        for _ in range(20):             # 1 s in which the build cannot start
            await asyncio.sleep(0.05)
            ticks += 1
        waiting = not building.done()
        fcntl.flock(pruner, fcntl.LOCK_UN)
        return ticks, waiting and (await building).ok
    try:
        assert asyncio.run(scenario()) == (20, True)
    finally:
        os.close(pruner)


def test_a_cache_in_use_by_another_build_is_not_pruned(tmp_path):
    root = tmp_path / "cache"
    using, pruning = Cache(root), Cache(root)
    using.open()
    using.put("obj", "aa" * 32, b"an object another build will read")
    pruning.open()
    pruning.put("obj", "bb" * 32, b"this build's own")
    assert pruning.prune(keep={("obj", "bb" * 32)}, max_bytes=0, max_age=0) == 0
    pruning.close()
    assert using.get("obj", "aa" * 32) == b"an object another build will read"
    using.close()
    alone = Cache(root)
    alone.open()
    assert alone.prune(keep=set(), max_bytes=0, max_age=0) == 2        # alone, it prunes
    alone.close()


def test_the_backend_llvm_is_named_by_content_and_remembered_for_that_very_file(tmp_path):
    """Keys name the libLLVM by version and digest, never its path; the
    digest is kept in the build directory for the file it was taken of."""
    codegen = native_llvm.choose("auto", ROOT)
    if not codegen.library:
        pytest.skip("no Rust toolchain libLLVM of llvmlite's major version")
    assert codegen.library not in codegen.identity and " sha256:" in codegen.identity
    fresh = tmp_path / "fresh"
    assert native_llvm.choose("auto", ROOT, fresh).identity == codegen.identity
    assert orjson.loads((fresh / "llvm-identity.json").read_bytes())["identity"] == codegen.identity
    this_file, another = f"{codegen.library}\0{codegen.stamp}", f"{codegen.library}\0another stamp"
    for name, file, kept, expected in (("kept", this_file, "as kept", "as kept"),
                                       ("stale", another, "as kept", codegen.identity),
                                       ("damaged", this_file, 7, codegen.identity)):
        build_dir = tmp_path / name
        build_dir.mkdir()
        (build_dir / "llvm-identity.json").write_bytes(orjson.dumps({"file": file, "identity": kept}))
        assert native_llvm.choose("auto", ROOT, build_dir).identity == expected


def test_llvmlites_facts_are_remembered_for_that_very_library_file(tmp_path):
    """Its version (in every key), host triple and data layout are kept for
    the library file llvmlite loads, and read back only for that file."""
    fresh = tmp_path / "fresh.json"
    worked_out = llvm_env.remembered_facts(fresh)
    assert worked_out.version == llvm_env.version() and worked_out.major == llvm_env.binding().llvm_version_info[0]
    assert worked_out.host_triple == llvm_env.binding().get_default_triple()
    this_file = orjson.loads(fresh.read_bytes())["library"]
    assert this_file[0].endswith("libllvmlite.so") and this_file[1] == files.stamp(this_file[0])
    as_kept = {**vars(worked_out), "version": "as kept"}
    another = [this_file[0], [*this_file[1][:-1], this_file[1][-1] + 1], this_file[2]]
    for name, file, kept, expected in (("kept", this_file, as_kept, "as kept"),
                                       ("stale", another, as_kept, worked_out.version),
                                       ("damaged", this_file, {**as_kept, "major": "22"}, worked_out.version),
                                       ("short", this_file, {"version": "as kept"}, worked_out.version)):
        memo = tmp_path / f"{name}.json"
        memo.write_bytes(orjson.dumps({"library": file, "facts": kept}))
        assert llvm_env.remembered_facts(memo).version == expected, name


def test_rustcs_host_triple_is_remembered_for_the_toolchain_that_said_it(tmp_path, monkeypatch):
    """A new process's build knows the host triple cargo is told to build
    for without running rustc, while the toolchain that said it is the one
    rustup picks; and it keeps it only in a real build directory."""
    asked = []
    real = config._ask_host
    monkeypatch.setattr(config, "_ask_host", lambda cwd: asked.append(cwd) or real(cwd))

    def host(build_dir: Path) -> str:
        monkeypatch.setattr(config, "_host", None)          # a new process
        return config.host(tmp_path, build_dir)
    build_dir = tmp_path / ".thinwatch"
    build_dir.mkdir()
    said = host(build_dir)
    assert said.count("-") >= 2 and len(asked) == 1
    memo = build_dir / "rustc-host.json"
    toolchain = orjson.loads(memo.read_bytes())["toolchain"]
    memo.write_bytes(orjson.dumps({"toolchain": toolchain, "host": "as-kept-unknown-none"}))
    assert host(build_dir) == "as-kept-unknown-none" and len(asked) == 1
    (tmp_path / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "stable"\n')   # rustup may pick another
    assert host(build_dir) == said and len(asked) == 2
    memo.write_bytes(orjson.dumps({"toolchain": orjson.loads(memo.read_bytes())["toolchain"], "host": 5}))
    assert host(build_dir) == said and len(asked) == 3                                  # damaged
    linked = tmp_path / "linked"
    linked.symlink_to(build_dir)
    memo.unlink()
    assert host(linked) == said and len(asked) == 4 and not memo.exists()


def _modes(root: Path) -> tuple[int, int, int, int]:
    """The root's mode, and a shard's, an entry's and the lock's."""
    entry = next(p for p in (root / "obj").rglob("*") if p.is_file())
    return tuple(stat.S_IMODE(p.lstat().st_mode) for p in (root, entry.parent, entry, root / ".lock"))


def test_only_a_named_directory_set_up_for_a_group_is_shared(tmp_path):
    """Group-writable and setgid, and named by the user: shared, its root
    left as it is; anything else, the default cache too, made private."""
    for named, found, shared in ((True, 0o2770, True), (True, 0o2775, True), (True, 0o770, False),
                                 (True, 0o2700, False), (False, 0o2770, False)):
        root = tmp_path / f"{named}-{found:o}"
        root.mkdir()
        os.chmod(root, found)
        cache = Cache(root, named)
        cache.open()
        cache.put("obj", "ab" * 32, b"an object")
        cache.close()
        dirs, entries, lock = SHARED_MODES if shared else PRIVATE_MODES
        assert _modes(root) == (found if shared else 0o700, dirs, entries, lock), (named, oct(found))


# Two unprivileged users, members of one group, each with a checkout of its own.
USERS, GROUP = (61001, 61002), 61000


@pytest.fixture
def homes():
    """A home per user under a directory they can reach (pytest's own
    temporary directory is 0700, its user's)."""
    if os.geteuid() != 0:
        pytest.fail("these tests build as two other users: run them as root")
    base = Path(tempfile.mkdtemp(prefix="thinwatch-users-"))
    try:
        os.chmod(base, 0o755)
        for uid in USERS:
            home = base / str(uid)
            shutil.copytree(SAMPLE_IR, home / "ws", ignore=IGNORE)
            with open(home / "ws" / "thinwatch.toml", "a") as f:
                f.write("\n[cache]\nmax_size_mb = 0\nmax_age_days = 0\n")   # every build prunes all it can
            (home / "tmp").mkdir()
            for path in [home, *home.rglob("*")]:
                os.chown(path, uid, uid, follow_symlinks=False)
        try:        # Python itself may be out of their reach (a pyenv under a 0700 /root)
            why = _as(USERS[0], base, "-c", "import thinwatch.engine.cli, llvmlite").stderr.strip()[-300:]
        except OSError as e:
            why = str(e)
        if why:
            pytest.fail(f"uid {USERS[0]} cannot run {sys.executable} with thinwatch's packages: {why} "
                        f"(run these tests with a Python other users can run: README, Tests)")
        yield base
    finally:
        shutil.rmtree(base)


def _as(uid: int, base: Path, *args: str) -> subprocess.CompletedProcess:
    """`python3 ARGS` as `uid`, in the group as a supplementary one, with a
    home and TMPDIR of its own and the tightest umask (modes must not
    depend on it)."""
    home = base / str(uid)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "TMPDIR": str(home / "tmp"), "LANG": "C.UTF-8"}
    return subprocess.run([sys.executable, *args], user=uid, group=uid, extra_groups=[GROUP], umask=0o077,
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _build_as(uid: int, base: Path, cache: Path) -> subprocess.CompletedProcess:
    return _as(uid, base, "-m", "thinwatch.engine.cli", "build", "--once", "--no-tui", "--json",
               "--cache-dir", str(cache), str(base / str(uid) / "ws"))


def _entries(cache: Path) -> dict[Path, int]:
    """Every entry and its owner."""
    return {p: p.lstat().st_uid for kind in cache.iterdir() if kind.is_dir() for p in kind.rglob("*") if p.is_file()}


@pytest.mark.multiuser
def test_two_users_share_a_cache_set_up_for_their_group(homes):
    cache = homes / "cache"
    cache.mkdir()                           # as `install -d -m 2770 -g GROUP cache` makes it
    os.chown(cache, 0, GROUP)
    os.chmod(cache, 0o2770)
    first, second = (homes / str(uid) / "ws" for uid in USERS)

    one = _finished(_build_as(USERS[0], homes, cache))
    assert one["backend_jobs"] == 9
    two = _finished(_build_as(USERS[1], homes, cache))
    assert two["backend_jobs"] == 0 and two["counts"]["reused"] == one["counts"]["rebuilt"]
    assert outputs(second) == outputs(first)
    for path in [*cache.rglob("*")]:
        st = path.lstat()
        want = SHARED_MODES[0] if path.is_dir() else SHARED_MODES[2] if path.name == ".lock" else SHARED_MODES[1]
        assert (stat.S_IMODE(st.st_mode), st.st_gid) == (want, GROUP), path
    assert (stat.S_IMODE(cache.stat().st_mode), cache.stat().st_uid) == (0o2770, 0)     # the root left alone

    # Each edits and builds in turn: it writes, and prunes what the other wrote.
    for round, (uid, ws) in enumerate(zip((USERS[1], USERS[0]) * 2, (second, first) * 2)):
        theirs = {p for p, owner in _entries(cache).items() if owner != uid}
        geom = ws / "core/geom.ll"
        old = "%d = add i32 %ax, %ay" if round < 2 else f"%d = add i32 %ax, {round - 2}"
        edit(geom, old, f"%d = add i32 %ax, {round}")
        done = _finished(_build_as(uid, homes, cache))
        assert done["ok"] and done["backend_jobs"] > 0
        assert theirs - set(_entries(cache)), round            # some of the other's entries pruned
        assert uid in _entries(cache).values()


@pytest.mark.multiuser
def test_another_users_private_cache_is_refused_clearly(homes):
    private = homes / str(USERS[0]) / "cache"
    private.mkdir(mode=0o700)
    os.chown(private, USERS[0], USERS[0])
    for cache in (private, homes / str(USERS[0])):      # its cache, and a directory of its that is none
        res = _build_as(USERS[1], homes, cache)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert f"cannot use {cache} as the cache: permission denied" in res.stdout + res.stderr
        assert "install -d -m 2770" in res.stdout + res.stderr
