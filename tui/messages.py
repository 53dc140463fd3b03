"""Messages up to the app, which owns the engine session."""

from __future__ import annotations

from textual.message import Message


class EngineStopped(Message):
    """The engine session ended (stopped, or crashed with `error`)."""

    def __init__(self, error: BaseException | None = None):
        super().__init__()
        self.error = error


class ShowOptimizedIR(Message):
    """Show `module`'s optimised IR."""

    def __init__(self, module: str):
        super().__init__()
        self.module = module


class ShowImportedBody(Message):
    """Show the body `module` imported for `function` from `exporter`."""

    def __init__(self, module: str, function: str, exporter: str):
        super().__init__()
        self.module = module
        self.function = function
        self.exporter = exporter
