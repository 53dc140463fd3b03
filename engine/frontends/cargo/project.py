"""Cargo workspaces: rustc does the front end, thinwatch the ThinLTO.

cargo runs with `-C linker-plugin-lto`, so every crate emits per-codegen-unit
pre-link bitcode, and with `-C linker=<shim>` (see `linkshim.py`), so each
workspace executable's link is captured instead of performed. Each capture
becomes a link unit whose modules are the bitcode codegen units of the binary
and of the workspace's rlibs, identified as `<crate>::<codegen unit>`: with
incremental compilation on, rustc keeps codegen-unit names stable across
edits. rustc's incremental directory, the captures and everything else live
in `<workspace>/.thinwatch/`; the sources are never written.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Sequence

import orjson

from ... import files, names
from ...cache import place
from ...errors import ConfigError
from ...events import Event
from ...link import read_where_they_lie
from ...memo import remembered
from ...programs import spawn, stop
from ...project import BUILD_DIR, EarlyModules, ModuleSource, Project, Unit, WatchRules
from ...reporter import Reporter
from ...settings import Settings, read_toml
from .artifacts import Artifact, refusal, unusable_files
from .config import SEPARATOR, foreign_target, host, user_config
from .harness import run_tests
from .linkshim import (SHIM, Capture, CaptureFeed, ar_members, captured_output, is_bitcode, keep_members, keep_module,
                       read_capture)
from .select import Selection
from .rust_source import label, line_of, source_file

_undefined_cache: dict[bytes, set[str]] = {}


def undefined_symbols(inputs: list[tuple[Path, str | None]], memo: Path | None = None) -> set[str]:
    """Symbols native objects and archives need from elsewhere (`nm -u`), all
    together: one `nm` over twenty std rlibs takes a third of twenty `nm`s.

    Each file is given with its content digest, or None to be known by its
    stamp; a digest suits the small files every capture writes anew
    (`symbols.o`), which rarely change. `memo`: a file keeping the last
    answer between processes, for the same key: `nm` was most of a new
    process's no-op build on a small workspace.
    """
    if not inputs:
        return set()
    key = [["sha256", digest] if digest is not None else [str(path), *(files.stamp(path) or ())]
           for path, digest in inputs]
    known = orjson.dumps(key)
    if known not in _undefined_cache:
        paths = [path for path, _ in inputs]
        _undefined_cache[known] = set(remembered(memo, key, lambda: sorted(_nm(paths)), _names,
                                                 fields=("key", "symbols")))
    return _undefined_cache[known]


def _names(known) -> bool:
    return isinstance(known, list) and all(isinstance(name, str) for name in known)


def _nm(paths: list[Path]) -> set[str]:
    # Forcing the BFD target keeps nm from handing std's members (which
    # embed bitcode) to the system's older LLVM plugin, which then reports
    # "no symbols".
    bfd = {"x86_64": ["--target=elf64-x86-64"], "aarch64": ["--target=elf64-littleaarch64"]}
    out = subprocess.run(["nm", "-u", "--format=just-symbols", *bfd.get(os.uname().machine, []),
                          *(str(path) for path in paths)], capture_output=True, text=True).stdout
    return {s.strip() for s in out.splitlines() if s.strip() and not s.endswith(":")}


# rustc's LTO level and CPU for lld, e.g. `-Wl,-plugin-opt=O2,-plugin-opt=mcpu=x86-64`
_PLUGIN_OPT = re.compile(r"(?:^|,)-plugin-opt=O([0-3])(?:,|$)")
_PLUGIN_CPU = re.compile(r"(?:^|,)-plugin-opt=mcpu=([^,]+)")

MESSAGE_LIMIT = 1 << 26      # one line of cargo's JSON (a long diagnostic) may be large


def _identity(path: Path) -> tuple[int, int] | None:
    """A file by device and inode: the same for all its hard links."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _forget(exe: Path) -> None:
    """Remove an artifact and cargo's copy of it in `deps/` (a hard link)."""
    deps, mine = exe.parent / "deps", _identity(exe)
    for other in (deps.iterdir() if deps.is_dir() and mine is not None else ()):
        if _identity(other) == mine:
            other.unlink()
    exe.unlink(missing_ok=True)


@dataclass(kw_only=True)
class CargoProject(Project):
    """A Cargo workspace: cargo is its front end, its binaries the link units."""
    # C and assembly too: build scripts compile them (the `cc` crate) into rlibs.
    WATCH = WatchRules(frozenset({".rs", ".toml", ".lock", ".c", ".h", ".cc", ".cpp", ".hpp", ".S", ".s"}),
                       (BUILD_DIR, "target"), frozenset({"Cargo.lock"}))
    # Unless the settings name a level, the backends run at the one rustc asks
    # lld for (`-plugin-opt=O<n>`, from the profile's opt-level), as lld would.
    profile_opt_level: bool = True
    linker: str = ""                 # the user's linker driver ("" = rustc's default, cc, never $CC), once known
    # cargo arguments that leave the LTO to thinwatch (`host_only` and the
    # profile overrides), and what they replace in the user's profiles, said
    # once per session.
    overrides: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    # What `thinwatch test` runs after the build (harness.py): every
    # test harness cargo built, in its order, and the doc-tests if a library has some.
    harnesses: list[tuple[Artifact, Unit]] = field(default_factory=list)
    doctests: bool = False
    # The root file of each of the workspace's own crates, by crate name: where
    # a module's source is looked for (a library's wins over a binary's of its name).
    crate_roots: dict[str, Path] = field(default_factory=dict)
    # The packages, targets, features and profile the command line selected.
    selection: Selection = field(default_factory=Selection)

    @classmethod
    def open(cls, root: Path, selection: Selection | None = None) -> "CargoProject":
        for tool in ("cargo", "rustc"):
            if shutil.which(tool) is None:
                raise ConfigError(f"{root} is a Cargo workspace but `{tool}` is not on PATH: "
                                  f"install Rust with rustup (https://rustup.rs) or `apt-get install cargo`")
        root = Path(root).resolve()
        selection = selection or Selection()
        path = root / "Cargo.toml"
        manifest = Settings(path, read_toml(path))
        # Settings live where cargo lets tools keep theirs:
        #   [workspace.metadata.thinwatch]  opt_level = 3, llvm = "auto", cache_max_size_mb = 4096, cache_max_age_days = 7,
        #                                   cache_dir = "../shared-cache", executor = "dask://HOST:PORT"
        top = manifest.table("workspace" if "workspace" in manifest.values else "package")
        settings = top.table("metadata").table("thinwatch")
        opt = settings.integer("opt_level", None, 0, 3)
        overrides, replaced = lto_overrides(manifest.table("profile").values,
                                            settings.flag("keep_codegen_units", False), selection.profile)
        return cls(root=root, opt_level=2 if opt is None else opt, profile_opt_level=opt is None,
                   llvm=settings.string("llvm", "auto"), overrides=[*host_only(root), *overrides], replaced=replaced,
                   selection=selection, executor=settings.executor("executor"),
                   cache_dir=settings.directory("cache_dir"), **settings.cache_limits("cache_"))

    def _shim(self) -> Path:
        shim = self.build_dir / "linker-shim"
        if not shim.exists() or shim.read_text() != SHIM:
            shim.write_text(SHIM)
            shim.chmod(0o755)
        return shim

    def cargo_env(self) -> dict[str, str]:
        """The environment thinwatch runs cargo in. On the way it learns the
        user's linker (`self.linker`), which the shim and the units' links run."""
        env = dict(os.environ)
        # Added to the flags the user's cargo would pass, which this variable
        # then carries whatever their source (see config.py).
        flags, self.linker = user_config(self.root, env)
        if self.linker:
            env["THINWATCH_LINKER"] = self.linker
        env.pop("RUSTFLAGS", None)
        env["CARGO_ENCODED_RUSTFLAGS"] = SEPARATOR.join(
            [*flags, "-C", "linker-plugin-lto", "-C", f"linker={self._shim()}"])
        env["CARGO_TARGET_DIR"] = str(self.build_dir / "target")
        env["CARGO_INCREMENTAL"] = "1"
        env["THINWATCH_CAPTURE"] = str(self.build_dir / "links")
        return env

    async def prepare(self, report: Reporter, tests: bool, early: EarlyModules | None,
                      again: bool = False) -> list[Unit] | None:
        """Run cargo; the link units of this build, or None if cargo failed.

        `early` is handed every rlib's modules as soon as cargo has rebuilt it.
        """
        cmd = ["cargo", "test", "--no-run"] if tests else ["cargo", "build"]
        env = self.cargo_env()
        if target := foreign_target(self.root, env):
            report.diagnostic("error", f"thinwatch builds for the host only, and {target} asks cargo for "
                                       f"another target: build that target with cargo itself")
            return None
        if self.replaced:
            report.diagnostic("warning", "thinwatch does the LTO, so it builds with " + "; ".join(self.replaced)
                              + " (keep_codegen_units = true in the manifest's metadata.thinwatch "
                                "keeps the profile's codegen-units)")
            self.replaced = []
        # The shim announces each capture (linkshim.py): an executable's own
        # codegen units then go to early work before cargo has finished.
        feed = CaptureFeed(lambda dest: early(partial(captured_modules, dest, self.build_dir / "early" / dest.name))
                           ) if early is not None else None
        try:
            proc = await spawn(
                *cmd, *self.selection.cargo_args(), *self.overrides, "--message-format=json", cwd=self.root,
                env={**env, **feed.env} if feed else env, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, limit=MESSAGE_LIMIT, pass_fds=feed.pass_fds if feed else ())
        except BaseException:
            if feed is not None:
                feed.close()
            raise
        if feed is not None:
            feed.spawned()
        artifacts = []

        async def messages() -> None:
            async for line in proc.stdout:
                try:
                    msg = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if msg.get("reason") == "compiler-artifact":
                    artifacts.append(Artifact.of(msg))
                    if artifacts[-1].executable is None and early is not None and not msg.get("fresh"):
                        for name in msg.get("filenames", []):
                            if name.endswith(".rlib"):
                                early(partial(early_modules, Path(name), self.build_dir / "early" / Path(name).stem))
                elif msg.get("reason") == "compiler-message":
                    self._diagnostic(msg["message"], report)
        try:
            _, stderr, _ = await asyncio.gather(messages(), proc.stderr.read(), proc.wait())
        except asyncio.CancelledError:
            await stop(proc)
            raise
        finally:
            if feed is not None:
                feed.close()
        if proc.returncode != 0:
            report.diagnostic("error", f"cargo failed: {cargo_error(stderr, proc.returncode)}")
            return None
        refused = [(art, why) for art in artifacts if (why := refusal(art, self.root))]
        for art, why in refused:
            for path in unusable_files(art):
                _forget(path)
            report.diagnostic("error", why)
        if refused:
            return None
        executables = [art for art in artifacts if art.executable is not None]
        captures = self._captures(executables)
        lost = [art for art in executables if art.unit not in captures]
        if lost and not again:
            # cargo thinks these are up to date, but their capture is gone
            # (deleted, or written by an older shim): make it link them again.
            for art in lost:
                _forget(art.executable)
            return await self.prepare(report, tests, early, again=True)
        if lost:
            report.diagnostic("error", "cargo linked " + ", ".join(str(art.executable) for art in lost)
                              + " without thinwatch's linker shim (is another `-C linker` set?)")
            return None
        units = [self._unit(captures[art.unit]) for art in executables]
        self.harnesses = [(art, unit) for art, unit in zip(executables, units) if art.test]
        # As `cargo test` with this selection would run them: not for chosen
        # binaries or examples, and only the selected packages' (others are dependencies).
        sel = self.selection
        self.doctests = not sel.targets and any(art.doctest and art.ours(self.root) and
                                                (not sel.packages or art.package in sel.packages)
                                                for art in artifacts)
        ours = sorted((art for art in artifacts if art.ours(self.root)), key=lambda art: art.kind == "lib")
        self.crate_roots = {art.crate: art.source for art in ours}
        self.follow_profile(units)
        return units

    async def run_tests(self, sink: Callable[[Event], None], generation: int, args: Sequence[str] = ()) -> bool:
        return await run_tests(self, sink, generation, args)

    def source_of(self, module: str, symbols: Iterable[str]) -> Path:
        crate = module.split("::", 1)[0]
        root = self.crate_roots.get(crate)
        if root is None:
            raise LookupError(f"no source: {crate} is not a crate of this workspace")
        path = source_file(root, crate, symbols)
        if path is None:
            raise LookupError(f"no source: no function of {module} names its place in {crate}")
        return path

    def label(self, module: str, functions: Iterable[str]) -> str:
        """rustc names codegen units by hash: say what this one holds."""
        return label(module.split("::", 1)[0], functions) or module

    def line_of(self, path: Path, function: str) -> int | None:
        """Where `fn <name>` is, the name read off the demangled symbol."""
        return line_of(path, names.short(names.demangle(function), 1)) if path.suffix == ".rs" else None

    def follow_profile(self, units: list[Unit]) -> None:
        """The profile's level and `-C target-cpu` from rustc's link lines
        (the units of one cargo run share them), unless the settings name a
        level."""
        levels = {u.opt_level for u in units if u.opt_level is not None}
        if self.profile_opt_level and len(levels) == 1:
            self.opt_level = levels.pop()
        cpus = {u.cpu for u in units if u.cpu is not None}
        if len(cpus) == 1:
            self.cpu = cpus.pop()

    def _diagnostic(self, m: dict, report: Reporter) -> None:
        if m.get("level") not in ("error", "warning"):
            return
        span = next((s for s in m.get("spans", []) if s.get("is_primary")), None)
        report.diagnostic(m["level"], m.get("rendered") or m.get("message", ""),
                          file=span["file_name"] if span else None,
                          line=span["line_start"] if span else None,
                          col=span["column_start"] if span else None)

    def _captures(self, executables: list[Artifact]) -> dict[str, Capture]:
        """The capture of each executable cargo reported, by unit name. The
        shim names a capture after the file rustc linked, which cargo
        reports (a test harness) or hard-links where it reports it (a
        binary's `release/<name>`): the one whose file is the reported one."""
        by_file = {}
        for art in executables:
            if (identity := _identity(art.executable)) is not None:
                by_file[identity] = art
        found = {}
        for dest in sorted(p for p in (self.build_dir / "links").glob("*") if p.is_dir()):
            out = captured_output(dest)
            art = by_file.get(_identity(out)) if out is not None else None
            if art is not None and (cap := read_capture(dest)) is not None:
                found[art.unit] = replace(cap, unit=art.unit)
        return found

    def _unit(self, cap: Capture) -> Unit:
        modules, captured, natives, archives = [], [], [], []
        for item in cap.argv:
            if isinstance(item, dict) and "bitcode" in item:
                modules.extend(ModuleSource(mid, crate, Path(path), True, origin=instance)
                               for mid, crate, path, instance in item["bitcode"])
                if "archive" in item:
                    archives.append(Path(item["archive"]))
            elif isinstance(item, dict):
                captured.append(Path(item["native"]))
            elif item.endswith((".rlib", ".a", ".o")) and Path(item).is_file():
                natives.append(Path(item))
        contents = [path.read_bytes() for path in captured]
        digests = [hashlib.sha256(data).hexdigest() for data in contents]
        archive_digests = [hashlib.sha256(path.read_bytes()).hexdigest() for path in archives]
        state_dir = self.build_dir / "units" / cap.unit
        preserve = {"main"} | undefined_symbols(
            list(zip(captured + archives, digests + archive_digests)) + [(path, None) for path in natives],
            state_dir / "undefined-symbols.json")
        # The link reads the captured natives from copies named by content,
        # which the shim's next capture cannot change under a link that
        # started early (engine/early.py).
        kept = {str(path): _keep_by_content(state_dir / "natives", path.suffix, data, digest)
                for path, data, digest in zip(captured, contents, digests)}
        for old in (state_dir / "natives").glob("*"):
            if str(old) not in kept.values():
                old.unlink(missing_ok=True)
        argv = cap.argv
        out_at = argv.index("-o")

        def link_args(objects: list[Path]) -> list[str]:
            args: list[str] = []
            placed = False
            for i, item in enumerate(argv):
                if i in (out_at, out_at + 1):
                    continue
                if isinstance(item, dict) and "bitcode" in item:
                    if not placed:
                        args.extend(map(str, objects))
                        placed = True
                    if "archive" in item:            # where the rlib was, so archive order holds
                        args.append(item["archive"])
                elif isinstance(item, dict):
                    args.append(kept[item["native"]])
                else:
                    args.append(item)
            return args

        natives_digest = hashlib.sha256(b"".join(contents) + "".join(archive_digests).encode()).hexdigest()
        # rustc's per-link temporary directory has a new name every time; it is
        # gone after the link, so its name cannot change the result. Codegen
        # unit file names carry a session suffix; their content is in the
        # objects' digests already.
        inputs = [a for j, a in enumerate(argv) if j not in (out_at, out_at + 1)]
        line = orjson.dumps([("<bitcode+archive>" if "archive" in a else "<bitcode>")
                             if isinstance(a, dict) and "bitcode" in a else a for a in inputs]).decode()
        key_args = [re.sub(r"/rustc[A-Za-z0-9]{6}/", "/rustc-tmp/", line), natives_digest,
                    *read_where_they_lie([a for a in inputs if isinstance(a, str)], self.linker or "cc")]
        levels = [m.group(1) for a in argv if isinstance(a, str) for m in _PLUGIN_OPT.finditer(a)]
        cpus = [m.group(1) for a in argv if isinstance(a, str) for m in _PLUGIN_CPU.finditer(a)]
        return Unit(cap.unit, modules, preserve, self.build_dir / "out" / cap.unit, state_dir, link_args, key_args,
                    int(levels[-1]) if levels else None, self.linker or "cc",      # rustc's, not $CC
                    cpu=cpus[-1] if cpus else None)


def early_modules(rlib: Path, directory: Path) -> list[ModuleSource]:
    """The bitcode members of an rlib cargo just wrote, as files of their own
    in `directory`, which holds no other rlib's: two versions of one crate
    have files of one crate name (none if that fails: early work is only an
    optimisation)."""
    try:
        data = rlib.read_bytes()
        directory.mkdir(parents=True, exist_ok=True)
        return _kept(directory, keep_members(directory, ar_members(data)))
    except OSError:
        return []


def captured_modules(dest: Path, directory: Path) -> list[ModuleSource]:
    """The codegen units of the crate whose link the shim captured in `dest`
    (the loose bitcode inputs named after its output, not its rlibs'), as
    files of their own in `directory`, which holds no other crate's (none
    if that fails)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        units = []
        for copy in sorted((dest / "files").iterdir()):
            if copy.name.startswith(dest.name + ".") and copy.name.endswith(".rcgu.o"):
                data = copy.read_bytes()
                if is_bitcode(data):
                    units.append(keep_module(directory, copy.name, data))
        return _kept(directory, units)
    except OSError:
        return []


def _kept(directory: Path, units: list[tuple[str, str, str, str]]) -> list[ModuleSource]:
    """The modules `keep_module` wrote in `directory`, whose files of the
    same crate from earlier builds it removes."""
    out = [ModuleSource(mid, crate, Path(path), True, origin=instance) for mid, crate, path, instance in units]
    names = {src.path.name for src in out}
    for old in directory.iterdir() if out else ():
        if old.name not in names and old.suffix == ".bc" and old.name.split(".")[0] == out[0].crate:
            old.unlink(missing_ok=True)
    return out


def cargo_error(stderr: bytes, code: int) -> str:
    """What cargo said of its failure: its own `error:` and what follows it
    (rustc's diagnostics reach thinwatch as JSON, not here), not the status
    lines before; a resolution error's explanation is several lines long."""
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("error")), max(len(lines) - 1, 0))
    return "\n".join(lines[start:start + 40]) or f"exit status {code}"


# rustc's codegen units when incremental compilation is on and no count is
# given: what an explicit count must restore, as cargo cannot unset one.
INCREMENTAL_CODEGEN_UNITS = 256
BUILT_IN_PROFILES = ("dev", "release", "test", "bench")


def host_only(root: Path) -> list[str]:
    """With a target named, cargo passes its rustflags to the target's crates
    only, so thinwatch's (`-C linker-plugin-lto`, the shim) stay off build
    scripts, proc-macros and their dependencies, which then compile to machine
    code as the user's cargo compiles them; without it lld ran an LTO of each
    of them in every cold build (serde_derive 4.0 s against 1.7 s in one of
    bat). The target is the host, by its triple (cargo's `host-tuple` is too
    new for some toolchains): a foreign one is refused."""
    return ["--target", host(root, root / BUILD_DIR)]


def lto_overrides(profiles: dict, keep_codegen_units: bool,
                  selected: str = "release") -> tuple[list[str], list[str]]:
    """cargo `--config` arguments that keep rustc from doing LTO itself, for
    the profiles `cargo build --release` and `cargo test --release` use (or
    the `--profile` selected), and the settings of the manifest's profiles
    they replace, for people.

    With `lto` set, rustc does fat or thin LTO itself even under
    `-C linker-plugin-lto`, and thinwatch would get one module per crate;
    `codegen-units = 1` does the same more quietly. Both are overridden where
    the manifest sets them (a package's override included, which beats a
    profile-wide setting), unless the settings keep the codegen units.
    """
    overrides, replaced = [], []
    # A custom profile only if the manifest defines it: a `--config` table
    # alone would make cargo complain of a missing `inherits`, not of the name.
    chosen = (selected,) if selected in BUILT_IN_PROFILES or selected in profiles else ()
    for name in dict.fromkeys(("release", "bench", *chosen)):
        profile = profiles.get(name, {}) if isinstance(profiles.get(name), dict) else {}
        overrides += ["--config", f"profile.{name}.lto=false"]
        if profile.get("lto") not in (None, False, "off"):
            replaced.append(f"profile.{name}.lto = false (not {orjson.dumps(profile['lto']).decode()})")
        if keep_codegen_units:
            continue
        scopes = [("", profile)] + [(f'package."{pkg}".', table) for pkg, table
                                     in (profile.get("package") or {}).items() if isinstance(table, dict)]
        for scope, table in scopes:
            if "codegen-units" in table:
                overrides += ["--config", f"profile.{name}.{scope}codegen-units={INCREMENTAL_CODEGEN_UNITS}"]
                replaced.append(f"profile.{name}.{scope}codegen-units = {INCREMENTAL_CODEGEN_UNITS} "
                                f"(incremental codegen units, not {table['codegen-units']})")
    return overrides, replaced


def _keep_by_content(directory: Path, suffix: str, data: bytes, digest: str) -> str:
    path = directory / (digest + suffix)
    if not path.exists():
        place(path, data)
    return str(path)
