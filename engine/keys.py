"""Backend keys: everything a module's backend reads, as named components.

The digest of the components names the cached object. The components of the
last build are kept so that the reason for a module's state is a diff of two
records rather than a guess.
"""

from __future__ import annotations

from .backend import MACHINE_LOCAL, BackendOptions
from .fragment import digest
from . import llvm_env
from .names import demangle
from .thinlink import ModulePlan

# 4: no machine path in the key (the LLVM by content, not by path)
# 5: the toolchain's LLVM applies the plan to the bitcode and links the fragments in
# 6: the toolchain's LLVM gives every function and variable a section of its own
KEY_FORMAT = 6


def components(module_id: str, own_hash: str, plan: ModulePlan, options: BackendOptions) -> dict:
    return {
        "format": KEY_FORMAT,
        "llvm": llvm_env.version(),
        "module": module_id,       # the backend derives promoted names from it
        # As the plain dict a record read back from state.json holds, to compare with it.
        "options": {k: v for k, v in vars(options).items() if k not in MACHINE_LOCAL},
        "own": own_hash,
        "imports": [[i.name, i.exporter, i.hash] for i in plan.imports],
        "promote": plan.promote,
        "internalize": plan.internalize,
        "resolution": [list(r) for r in plan.resolution],
    }


def key_digest(comps: dict) -> str:
    return digest(comps)


def _set_diff(label: str, old: list, new: list, show=str) -> list[str]:
    old_s, new_s = {str(x) for x in old}, {str(x) for x in new}
    out = [f"{label} +{show(x)}" for x in sorted(new_s - old_s)]
    out += [f"{label} -{show(x)}" for x in sorted(old_s - new_s)]
    return out


def _imported(exporter: str, name: str) -> str:
    """An imported function as a reason names it: a mangled name demangled
    says its crate and path itself (`geometry::norm`); a plain one is
    qualified by the module it comes from (`core::geom::point_manhattan`)."""
    readable = demangle(name)
    return readable if readable != name else f"{exporter}::{name}"


def explain(old: dict | None, new: dict) -> list[str]:
    """Readable differences between two key records, most telling first."""
    if old is None:
        return ["new module"]
    reasons = []
    if old.get("own") != new["own"]:
        reasons.append("own bitcode changed")
    for field in ("format", "llvm", "module", "options"):
        if old.get(field) != new[field]:
            reasons.append(f"{field} changed")
    old_imp = {i[0]: i for i in old.get("imports", [])}
    new_imp = {i[0]: i for i in new["imports"]}
    for name in sorted(set(old_imp) | set(new_imp)):
        o, n = old_imp.get(name), new_imp.get(name)
        if o is None:
            reasons.append(f"now imports {_imported(n[1], name)}")
        elif n is None:
            reasons.append(f"no longer imports {_imported(o[1], name)}")
        elif o != n:
            reasons.append(f"imported {_imported(n[1], name)} changed")
    reasons += _set_diff("promote", old.get("promote", []), new["promote"], demangle)
    reasons += _set_diff("internalize", old.get("internalize", []), new["internalize"], demangle)
    reasons += _set_diff("resolution", old.get("resolution", []), new["resolution"])
    # Instances of one generic differ only by the hash demangling hides.
    return list(dict.fromkeys(reasons))
