"""The IR views of a module of a build (what `Session.optimized_ir` and
`Session.imported_body` answer): its optimised IR (its backend re-run in a
worker, deterministic, nothing cached) and the exact text it imported for a
function."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import backend
from .executor import Executor
from .thinlink import ModulePlan

if TYPE_CHECKING:
    from .build import Build


def _inputs(build: "Build | None", module: str):
    if build is None or module not in build.inputs:
        raise LookupError(f"{module} is not part of the last complete build")
    return build.inputs[module]


async def optimized_ir(build: "Build | None", executor: Executor, module: str) -> str:
    em, plan, emitted = _inputs(build, module)
    bitcode = await build.bitcode(em)
    if bitcode is None:
        raise LookupError(f"the pre-link bitcode of {module} is no longer in the cache")
    fragments = await build.fragments(plan, emitted)
    if fragments is None:
        raise LookupError(f"the fragments {module} imports are no longer in the cache")
    result = await executor.run(backend.run_backend, module, bitcode, plan.backend_plan(), fragments,
                                build.backend_opts, True)
    return result.value["ir"]


async def imported_body(build: "Build | None", module: str, name: str) -> str:
    """The fragment `module` imported for `name`: the body and all it brought along."""
    _, plan, emitted = _inputs(build, module)
    imp = next((i for i in plan.imports if i.name == name), None)
    if imp is None:
        raise LookupError(f"{module} does not import {name}")
    fragments = await build.fragments(ModulePlan(imports=[imp]), emitted)
    if fragments is None:
        raise LookupError(f"the fragment of {name} is no longer in the cache")
    frag = fragments[0]
    parts = [f"; imported from {imp.exporter} as {imp.source_name}, fragment {frag.hash[:16]}", frag.define]
    parts += list(frag.consts.values()) + list(frag.decls.values())
    parts += [f"%{name} = {text.split(' = ', 1)[1]}" for name, text in frag.types.items()]
    parts += [f"attributes #{i} = {t}" for i, t in enumerate(frag.attrs)]
    parts += [f"!{i} = {t}" for i, t in enumerate(frag.mds)]
    return "\n".join(parts) + "\n"
