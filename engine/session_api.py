"""What a front end may use of the engine, besides the event types of
`thinwatch.engine.events`: a `Session` (events down its sink; commands and queries as
its methods), what a build's end means as an exit code, `plural`, so
both front ends count in the same words, and `demangle_text`, so both show
a linker's symbols as people read them. The TUI reaches
the engine through these two modules only (import contracts in
pyproject.toml, checked by tests/test_imports.py)."""

from __future__ import annotations

from .events import BuildFinished
from .names import demangle_text
from .watch import Session
from .wording import plural

__all__ = ["Session", "demangle_text", "exit_code", "plural"]


def exit_code(result: BuildFinished | None) -> int:
    """0 ok, 1 build failed (or none finished), 2 nothing could be built:
    the workspace or its manifest is unusable."""
    if result is None:
        return 1
    if not result.ok and not result.counts:
        return 2
    return 0 if result.ok else 1
