"""The errors a task may end with; all other exceptions are bugs."""

from __future__ import annotations


class TaskFailed(Exception):
    """Deterministic failure of a task on its inputs: never retried."""

    def __init__(self, message: str, line: int | None = None, col: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col

    def __reduce__(self):
        return (TaskFailed, (self.message, self.line, self.col))


class WorkerCrashed(Exception):
    """The worker process died while running the task (LLVM abort, signal)."""


class ConfigError(Exception):
    """The workspace or manifest cannot be used; exit code 2. `file` (and
    `line`, `col` where known) say where, for diagnostics to point at."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None, col: int | None = None):
        super().__init__(f"{file}: {message}" if file else message)
        self.message = message
        self.file = file
        self.line = line
        self.col = col
