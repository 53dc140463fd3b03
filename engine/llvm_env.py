"""LLVM inside one process: initialisation, target machines, pipelines.

Every worker initialises LLVM itself (it is per process state), and target
machines are cached per (triple, opt level, CPU) for the life of the worker.
Objects are emitted for the CPU the build names (Cargo: rustc's
`-C target-cpu`, as it passes it to lld; else the triple's generic one), never
the host's unasked, with PIC relocations: they link with `-pie`.
"""

from __future__ import annotations

from functools import cache

import llvmlite

from .errors import TaskFailed

_machines: dict[tuple[str, int], object] = {}
_ready = False


@cache
def binding():
    """llvmlite's LLVM, loaded on first use. Loading it takes ~40 ms, which
    the engine spends while cargo runs rather than before cargo starts; the
    workers have it from their fork server."""
    import llvmlite.binding
    return llvmlite.binding


@cache
def version() -> str:
    return f"llvmlite {llvmlite.__version__} / LLVM {'.'.join(map(str, binding().llvm_version_info))}"


def init() -> None:
    global _ready
    if not _ready:
        binding().initialize_native_target()
        binding().initialize_native_asmprinter()
        # Without the asm parser LLVM aborts on inline and module-level assembly.
        binding().initialize_native_asmparser()
        _ready = True


def host_triple() -> str:
    init()
    return binding().get_default_triple()


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
    return str(machine(triple, 2).target_data)


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
