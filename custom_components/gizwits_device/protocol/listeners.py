"""Callbacks of one kind, called in turn; one that raises is logged and the others still run."""

from collections.abc import Callable
import logging

_LOGGER = logging.getLogger(__name__)


class Listeners[*Args]:
    """`add()` a callback (it returns the function that removes it again); `notify()` calls each."""

    __slots__ = ("_callbacks", "_kind")

    def __init__(self, kind: str) -> None:
        """`kind` names the listeners in the log line of one that raises."""
        self._kind = kind
        self._callbacks: list[Callable[[*Args], None]] = []

    def add(self, callback: Callable[[*Args], None]) -> Callable[[], None]:
        """Call `callback` on every `notify()` until the returned function is called."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    def notify(self, *args: *Args) -> None:
        """Call every callback (a copy of the list: one may remove itself) with `args`."""
        for callback in list(self._callbacks):
            try:
                callback(*args)
            except Exception:
                _LOGGER.exception("Error in a %s listener", self._kind)
