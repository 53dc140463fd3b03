"""LLVM inside one process: initialisation, target machines, pipelines.

Every worker initialises LLVM itself (it is per process state), and target
machines are cached per (triple, opt level, CPU) for the life of the worker.
Objects are emitted for the CPU the build names (Cargo: rustc's
`-C target-cpu`, as it passes it to lld; else the triple's generic one), never
the host's unasked, with PIC relocations: they link with `-pie`.

The engine asks llvmlite's LLVM only for constants of its library (`Facts`),
which a build directory remembers between processes.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import get_type_hints

import llvmlite

from . import files
from .errors import TaskFailed
from .memo import remembered

_machines: dict[tuple[str, int], object] = {}
_ready = False


@cache
def binding():
    """llvmlite's LLVM, loaded on first use. Loading it takes ~40 ms, which
    the engine spends while cargo runs rather than before cargo starts; the
    workers have it from their fork server."""
    import llvmlite.binding
    return llvmlite.binding


@dataclass(frozen=True)
class Facts:
    """What the engine asks of llvmlite's LLVM besides compiling: constants
    of its library file."""
    version: str            # part of every key
    major: int              # the IR thinwatch writes is this major's
    host_triple: str
    host_datalayout: str


# What llvmlite.binding loads, from the package's own directory.
_LIBRARY = {"win32": "llvmlite.dll", "darwin": "libllvmlite.dylib"}.get(sys.platform, "libllvmlite.so")


_learnt: Facts | None = None
_learning = threading.Lock()


def facts(build_dir: Path | None = None) -> Facts:
    """llvmlite's facts, learnt once per process: from `build_dir`'s memo of
    them for the very library file llvmlite loads, else by loading it. A new
    process's no-op build needs nothing else of llvmlite, and loading it only
    to learn these was ~15 ms of it."""
    global _learnt
    with _learning:
        if _learnt is None:
            _learnt = remembered_facts(build_dir / "llvmlite.json" if build_dir is not None else None)
        return _learnt


def remembered_facts(memo: Path | None) -> Facts:
    library = Path(llvmlite.__file__).parent / "binding" / _LIBRARY
    key = [str(library), files.stamp(library), llvmlite.__version__]
    if key[1] is None:           # not where llvmlite keeps it: nothing to vouch for a memo
        return _work_out()
    return Facts(**remembered(memo, key, lambda: asdict(_work_out()), _valid, fields=("library", "facts")))


def _valid(known) -> bool:
    kinds = get_type_hints(Facts)
    return (isinstance(known, dict) and known.keys() == kinds.keys()
            and all(isinstance(known[name], kind) for name, kind in kinds.items()))


def _work_out() -> Facts:
    init()
    info = binding().llvm_version_info
    triple = binding().get_default_triple()
    return Facts(f"llvmlite {llvmlite.__version__} / LLVM {'.'.join(map(str, info))}", info[0],
                 triple, str(machine(triple, 2).target_data))


def version() -> str:
    return facts().version


def init() -> None:
    global _ready
    if not _ready:
        binding().initialize_native_target()
        binding().initialize_native_asmprinter()
        # Without the asm parser LLVM aborts on inline and module-level assembly.
        binding().initialize_native_asmparser()
        _ready = True


def machine(triple: str, opt: int, cpu: str = ""):
    init()
    key = (triple, opt, cpu)
    if key not in _machines:
        try:
            target = binding().Target.from_triple(triple)
        except RuntimeError as e:
            raise TaskFailed(f"unknown target {triple!r}: {e}") from None
        _machines[key] = target.create_target_machine(cpu=cpu, opt=opt, reloc="pic", codemodel="default")
    return _machines[key]


def datalayout(triple: str) -> str:
    known = facts()
    return known.host_datalayout if triple == known.host_triple else str(machine(triple, 2).target_data)


def verify(mod) -> None:
    try:
        mod.verify()
    except RuntimeError as e:
        raise TaskFailed(f"module does not verify: {str(e).strip()}") from None


def optimize(mod, triple: str, opt: int, prelink: bool = False, cpu: str = "") -> None:
    """Run LLVM's per-module pipeline at `opt`.

    The pre-link run leaves loop vectorisation and unrolling to the backend,
    as LLVM's ThinLTO pre-link pipeline does.
    """
    llvm = binding()
    pto = llvm.create_pipeline_tuning_options(speed_level=opt)
    if prelink:
        pto.loop_vectorization = False
        pto.slp_vectorization = False
        pto.loop_unrolling = False
    pb = llvm.create_pass_builder(machine(triple, opt, cpu), pto)
    pb.getModulePassManager().run(mod, pb)


def emit_object(mod, triple: str, opt: int, cpu: str = "") -> bytes:
    return machine(triple, opt, cpu).emit_object(mod)
