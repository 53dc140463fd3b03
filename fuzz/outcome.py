"""What one build of a tree gave, and how two of them differ."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Outcome:
    ok: bool
    files: dict[str, str] = field(default_factory=dict)   # object / executable name -> sha256
    run: str = ""                                          # exit status and stdout of the program
    why: str = ""                                          # a failed build's first error


def failed(out) -> Outcome:
    """A failed build, from the tests' `Outcome` of it."""
    errors = [d for d in out.diagnostics if d.level == "error"]
    return Outcome(False, why=f"{errors[0].location()} {errors[0].message}".split("\n")[0][:200] if errors else "")


def run_program(exe: Path) -> str:
    """The program's behaviour: a hang or crash is a behaviour too, as long
    as both builds agree on it. Every program fuzzed runs in milliseconds;
    an edit that hangs one (`(x & 7) as usize - 1` wrapping in a loop bound)
    costs this timeout three times a step until it is reverted, hence 5 s."""
    try:
        res = subprocess.run([str(exe)], capture_output=True, text=True, timeout=5, cwd=exe.parent)
    except subprocess.TimeoutExpired:
        return "timeout"
    return f"exit {res.returncode}\n{res.stdout}"


def differences(incremental: Outcome, clean: Outcome) -> list[str]:
    """Every way the incremental build differs from the clean one."""
    if incremental.ok != clean.ok:
        return [f"incremental build {'succeeded' if incremental.ok else 'failed'}, "
                f"clean build {'succeeded' if clean.ok else 'failed'}"]
    if not incremental.ok:
        return []
    out = [f"{name}: incremental {incremental.files.get(name, 'missing')[:12]}, "
           f"clean {clean.files.get(name, 'missing')[:12]}"
           for name in sorted(incremental.files.keys() | clean.files.keys())
           if incremental.files.get(name) != clean.files.get(name)]
    if incremental.run != clean.run:
        out.append(f"program output: incremental {incremental.run!r}, clean {clean.run!r}")
    return out
