"""Backend task (runs in a worker): pre-link bitcode + plan + import fragments
-> native object. A pure function of its arguments: it reads no files.

The plan: promoted locals are renamed and made hidden externals,
internalized symbols become internal, non-prevailing linkonce/weak copies
become `available_externally` (functions) or declarations (variables), and
the imported fragments come in. In the toolchain's LLVM the plan is applied
to the parsed bitcode and the fragments are linked in (`native_llvm`);
printing the module and parsing it again was ~10% of every job. In
llvmlite, or where that cannot be done (a non-ODR function to make a
declaration, a fragment with struct types), the plan is applied to the
printed module, the fragments are merged into its text, and the result is
parsed once, optimised and compiled.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import irtext, llvm_env, native_llvm
from .fragment import Fragment, merge, promoted_name, function_declaration, global_declaration


@dataclass(frozen=True)
class BackendOptions:
    """Everything a backend job reads besides its module, plan and fragments,
    so all of it but where this machine keeps the LLVM (`MACHINE_LOCAL`) is
    part of every backend key. Relocations are not an option: objects are
    always PIC, to link with `-pie`."""
    triple: str
    opt_level: int
    cpu: str            # "" = the triple's generic CPU
    library: str        # the LLVM that compiles: a shared library's path, "" = llvmlite in-process
    library_stamp: str  # that file on the engine's machine (native_llvm.Codegen.stamp)
    codegen: str        # that LLVM's identity (version, and the library's content digest)
    pipeline: str       # its pass pipeline, without the level


# Where the engine's machine keeps the LLVM, not what it is: out of every key,
# so that a checkout at another path, or another machine, reuses the objects.
MACHINE_LOCAL = ("library", "library_stamp")


def _relink(mt: irtext.ModuleText, name: str, keyword: str, visibility: str | None = None) -> None:
    table = mt.functions if name in mt.functions else mt.globals
    ent = table[name]
    head, sep, rest = ent.text.partition("\n")
    if keyword == "available_externally":
        head = irtext.drop_comdat(head)
    ent.text = irtext.set_linkage(head, name, keyword, visibility) + sep + rest


def _to_declaration(mt: irtext.ModuleText, name: str) -> None:
    if name in mt.functions:
        ent = mt.functions[name]
        ent.text, ent.kind = function_declaration(ent.text.split("\n", 1)[0], name), "declare"
    else:
        ent = mt.globals[name]
        ent.text = global_declaration(ent.text, name)


def promotions(module_id: str, plan: dict) -> dict[str, str]:
    """The new name of each local the plan promotes."""
    return {n: promoted_name(n, module_id) for n in plan["promote"]}


def apply_plan(text: str, module_id: str, plan: dict) -> irtext.ModuleText:
    renames = promotions(module_id, plan)
    if renames:
        text = irtext.substitute(text, renames)
    mt = irtext.split_module(text)
    for old, new in renames.items():
        _relink(mt, new, "", "hidden")
    for name in plan["internalize"]:
        _relink(mt, name, "internal")
    for name, action in plan["resolution"]:
        if action == "declare":
            _to_declaration(mt, name)
        else:
            _relink(mt, name, action)
    return mt


def run_backend(module_id: str, bitcode: bytes, plan: dict, fragments: list[Fragment],
                opts: BackendOptions, want_ir: bool = False) -> dict:
    # A fragment with struct types takes the text path: merging it there
    # skips it on a clash with the module's own types.
    if opts.library and not any(frag.types for frag in fragments):
        out = planned_in_bitcode(module_id, bitcode, plan, fragments, opts, want_ir)
        if out is not None:
            return out
    return planned_in_text(module_id, bitcode, plan, fragments, opts, want_ir)


def planned_in_bitcode(module_id: str, bitcode: bytes, plan: dict, fragments: list[Fragment],
                       opts: BackendOptions, want_ir: bool = False) -> dict | None:
    """The plan applied to the parsed module in the toolchain's LLVM and the
    fragments linked in; None where that cannot be done (`native_llvm`)."""
    imports = irtext.ModuleText()
    names = merge(imports, fragments)
    out = native_llvm.compile_planned(opts.library, opts.library_stamp, opts.codegen, bitcode, plan,
                                      promotions(module_id, plan), imports.render() if fragments else "", names,
                                      opts.triple, opts.cpu, opts.opt_level, opts.pipeline, want_ir)
    if out is None:
        return None
    obj, ir, imported = out
    return {"object": obj, "imported": imported, "ir": ir}


def planned_in_text(module_id: str, bitcode: bytes, plan: dict, fragments: list[Fragment],
                    opts: BackendOptions, want_ir: bool = False) -> dict:
    """The plan applied to the printed module and the fragments merged into
    its text, parsed once, optimised and compiled."""
    if opts.library:
        # Verified when emitted; the planned module is verified as it is compiled.
        own = native_llvm.read_bitcode(opts.library, opts.library_stamp, opts.codegen, bitcode, verify=False)[0]
    else:
        llvm = llvm_env.binding()
        llvm_env.init()
        own = str(llvm.parse_bitcode(bitcode, llvm.create_context()))
    mt = apply_plan(own, module_id, plan)
    imported = merge(mt, fragments)
    if opts.library:
        obj, ir = native_llvm.compile_text(opts.library, opts.library_stamp, opts.codegen, mt.render(),
                                           opts.triple, opts.cpu, opts.opt_level, opts.pipeline, want_ir)
        return {"object": obj, "imported": imported, "ir": ir}
    mod = llvm.parse_assembly(mt.render(), llvm.create_context())
    llvm_env.verify(mod)
    llvm_env.optimize(mod, opts.triple, opts.opt_level, cpu=opts.cpu)
    obj = llvm_env.emit_object(mod, opts.triple, opts.opt_level, opts.cpu)
    return {"object": obj, "imported": imported, "ir": str(mod) if want_ir else None}
