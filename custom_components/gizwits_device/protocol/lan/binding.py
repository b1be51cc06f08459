"""The binding window: while it is open, LAN apps may fetch the device's passcode (0x0006)."""

import asyncio
from collections.abc import Callable
import time

from ..listeners import Listeners

__all__ = ["DEFAULT_BINDING_DURATION", "BindingWindow"]


DEFAULT_BINDING_DURATION = 180.0

type BindingListener = Callable[[bool], None]


class BindingWindow:
    """Closed by default; `open()` opens it for `duration` seconds (re-opening restarts it)."""

    def __init__(self, duration: float = DEFAULT_BINDING_DURATION) -> None:
        self.duration = duration
        self._opened_at: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._listeners: Listeners[bool] = Listeners("binding window")

    @property
    def is_open(self) -> bool:
        """Whether the passcode may be revealed now."""
        return self._opened_at is not None

    @property
    def opened_at(self) -> float | None:
        """`time.monotonic()` of the latest opening, None while closed."""
        return self._opened_at

    def open(self, duration: float | None = None) -> None:
        """Open (or restart) the window; must be called from the event loop."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(
            self.duration if duration is None else duration, self.close
        )
        was_open = self.is_open
        self._opened_at = time.monotonic()
        if not was_open:
            self._listeners.notify(True)

    def close(self) -> None:
        """Close the window now (also called when it expires)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._opened_at is not None:
            self._opened_at = None
            self._listeners.notify(False)

    def add_listener(self, listener: BindingListener) -> Callable[[], None]:
        """Call listener(is_open) on every change; returns a function that removes it."""
        return self._listeners.add(listener)
