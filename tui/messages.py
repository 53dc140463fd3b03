"""Messages between the app and its screens."""

from __future__ import annotations

from textual.message import Message


class ModelUpdated(Message):
    """The model folded a new batch of events. Floods collapse to one."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ModelUpdated)


class EngineStopped(Message):
    """The engine session ended (stopped, or crashed with `error`)."""

    def __init__(self, error: BaseException | None = None):
        super().__init__()
        self.error = error
