"""Headless front-end: the event stream as human lines or `--json` lines.

Human form: one line per build, one per module that was not reused (by its
label), every diagnostic (its symbols demangled). JSON form: every event, one orjson object per line, flushed as it
happens, and nothing else on stdout.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

from .events import (BuildFinished, BuildStarted, Diagnostic, Event, LinkFinished,
                     ModuleState, ModuleStatus, ProgramFinished, ProgramOutput)
from .names import demangle_text
from .wording import plural

# The states a module gets a line for (a failure has its diagnostic), in ANSI colours.
COLOURS = {ModuleStatus.REBUILT: "33", ModuleStatus.REIMPORTED: "36", ModuleStatus.REMOVED: "35"}


class Printer:
    def __init__(self, json: bool, stream=None, on_closed: Callable[[], None] | None = None):
        self.json = json
        self.out = stream or sys.stdout
        self.colour = (not json and self.out.isatty() and "NO_COLOR" not in os.environ)
        self.backend_llvm = ""       # said once, and again when it changes
        self.executor = ""           # likewise
        self.on_closed = on_closed   # told once when the reader has gone (`| head`, a closed pipe)
        self.closed = False

    def _c(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour else text

    def __call__(self, ev: Event) -> None:
        if self.closed:
            return
        try:
            self._write(ev)
        except BrokenPipeError:
            # Called from inside the engine, which must not meet this error
            # (it would read as its own failure): nothing more is printed, and
            # the front-end decides what a lost reader means.
            self.closed = True
            try:       # what is still buffered must not fail again at exit
                os.dup2(os.open(os.devnull, os.O_WRONLY), self.out.fileno())
            except (OSError, ValueError):
                pass
            if self.on_closed is not None:
                self.on_closed()

    def _write(self, ev: Event) -> None:
        if self.json:
            self.out.buffer.write(ev.to_json() + b"\n") if hasattr(self.out, "buffer") \
                else self.out.write(ev.to_json().decode() + "\n")
            self.out.flush()
            return
        line = self.human(ev)
        if line is not None:
            print(line, file=self.out, flush=True)

    def human(self, ev: Event) -> str | None:
        if isinstance(ev, BuildStarted):
            return f"build {ev.generation}{ev.cause()}"
        if isinstance(ev, ModuleState) and ev.state in COLOURS:
            why = "; ".join(ev.why[:3]) + (" …" if len(ev.why) > 3 else "")
            return f"  {self._c(COLOURS[ev.state], f'{ev.state.symbol} {ev.state:<10}')} {ev.label or ev.module}" + \
                (f"  ({why})" if why else "")
        if isinstance(ev, Diagnostic):
            level, said = ev.parts()
            return (self._c("31", level) if level else "") + demangle_text(said)
        if isinstance(ev, LinkFinished) and ev.early:
            return f"  linked {ev.output} while cargo ran"
        if isinstance(ev, LinkFinished) and not ev.skipped:
            return f"  linked {ev.output} in {ev.seconds:.2f}s"
        if isinstance(ev, ProgramOutput):
            return ev.line
        if isinstance(ev, ProgramFinished):
            verdict = self._c("32", "ok") if ev.passed else self._c("31", f"FAILED (exit {ev.exit_code})")
            if ev.kind == "test":
                # libtest's own counts under the verdict; a failure's whole output
                # (which holds them) instead.
                said = ev.output.rstrip() if not ev.passed else "\n".join(f"  {s}" for s in ev.summary.splitlines())
                return f"test {Path(ev.program).name}: {verdict}" + (f"\n{said}" if said else "")
            return f"run {ev.program}: {verdict}"       # its output came line by line, as it ran
        if isinstance(ev, BuildFinished):
            counts = ", ".join(f"{n} {s}" for s, n in ev.counts.items() if n)
            status = self._c("32", "ok") if ev.ok else self._c("31", "FAILED")
            if ev.superseded:
                status = "superseded"
            early = f", {ev.early_jobs} started early" if ev.early_jobs else ""
            line = f"build {ev.generation} {status} in {ev.seconds:.2f}s: {counts or 'nothing to do'}" + \
                f" ({plural(ev.backend_jobs, 'backend job')}{early})"
            if ev.backend_llvm and ev.backend_llvm != self.backend_llvm:
                self.backend_llvm = ev.backend_llvm
                line = f"  backends compiled by {ev.backend_llvm}\n" + line
            if ev.executor and ev.executor != self.executor:
                self.executor = ev.executor
                line = f"  tasks run on {ev.executor}\n" + line
            return line
        return None
