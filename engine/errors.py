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
    """The workspace or manifest cannot be used; exit code 2."""
