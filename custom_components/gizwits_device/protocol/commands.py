"""App commands (0x0090 / 0x0093) and the device's answers, independent of the transport.

A command arrives from an app over the cloud (M2M) or, later, over the local network. Either
transport hands it to one `CommandRunner`, which calls the device's registered handler and
returns the bytes to send back: for 0x0093 the body of the 0x0094 (same sn), for 0x0090 the body
of a 0x0091 to the asking app. The runner knows nothing about P0; the handler does.

Gizwits ruling on acks (protocol.md §4): every 0x0093 is acked, carrying the device's answer
when it has one; a 0x0093 whose sn the same app sent within the dedup window is acked again
with the same answer but not executed twice.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
import logging
import time

_LOGGER = logging.getLogger(__name__)

# Bounded memory under a flood of distinct sns: past the cap the oldest entries go first.
DEDUP_MAX_ENTRIES = 4096
# Commands handled at once; more are dropped (a flood must not pile up tasks, §6).
MAX_RUNNING = 64


class CommandSource(StrEnum):
    """Which transport a command came over."""

    CLOUD = "cloud"  # M2M app2dev/<did>/<app client id>
    LAN = "lan"  # a logged-in local TCP client


@dataclass(frozen=True, slots=True)
class AppCommand:
    """A passthrough command from one app: 0x0093 when `sn` is set, 0x0090 otherwise."""

    source: CommandSource
    app_client_id: str
    sn: int | None
    payload: bytes


type CommandHandler = Callable[[AppCommand], Awaitable[bytes | None]]
type CommandListener = Callable[[AppCommand], None]


class CommandRunner:
    """Runs every app command through the one registered handler, deduplicating 0x0093."""

    def __init__(
        self,
        dedup_window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_running: int = MAX_RUNNING,
    ) -> None:
        self.dedup_window = dedup_window
        self.max_running = max_running
        self._clock = clock
        self._handler: CommandHandler | None = None
        self._listeners: list[CommandListener] = []
        self._running: set[asyncio.Task[bytes | None]] = set()
        # (source, app, sn) -> (first seen, its answer); kept in arrival order.
        self._seen: OrderedDict[
            tuple[CommandSource, str, int], tuple[float, asyncio.Future[bytes | None]]
        ] = OrderedDict()

    @property
    def busy(self) -> bool:
        """True when `max_running` commands are still being handled (drop the next one)."""
        return len(self._running) >= self.max_running

    def set_handler(self, handler: CommandHandler) -> Callable[[], None]:
        """Make `handler` answer every command; returns a function that removes it."""
        self._handler = handler

        def remove() -> None:
            if self._handler is handler:
                self._handler = None

        return remove

    def add_listener(self, listener: CommandListener) -> Callable[[], None]:
        """Call `listener` once for every command handled (repeats are not), from any
        transport, before the handler runs; returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def submit(self, command: AppCommand) -> tuple[asyncio.Future[bytes | None], bool]:
        """Start handling `command`; returns its future answer and whether it is a repeat.

        A repeated 0x0093 (same source, app and sn within the window) gets the first run's
        answer (awaited if that run is still going) and is not handled again. Without a
        handler the answer is None at once.
        """
        key = None
        if command.sn is not None:
            self._expire()
            key = (command.source, command.app_client_id, command.sn)
            seen = self._seen.get(key)
            if seen is not None:
                return seen[1], True
        for listener in list(self._listeners):
            try:
                listener(command)
            except Exception:
                _LOGGER.exception("Error in a Gizwits command listener")
        answer: asyncio.Future[bytes | None]
        if self._handler is None:
            answer = asyncio.get_running_loop().create_future()
            answer.set_result(None)
        else:
            task = asyncio.ensure_future(self._call(self._handler, command))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
            answer = task
        if key is not None:
            self._seen[key] = (self._clock(), answer)
        return answer, False

    def cancel(self) -> None:
        """Cancel every command still being handled (the device is going offline)."""
        for task in list(self._running):
            task.cancel()

    @staticmethod
    async def _call(handler: CommandHandler, command: AppCommand) -> bytes | None:
        """Run the handler; an error in it is logged and answered with nothing."""
        try:
            answer = await handler(command)
        except Exception:
            _LOGGER.exception("Error in the Gizwits command handler")
            return None
        return bytes(answer) if answer else None

    def _expire(self) -> None:
        """Drop entries older than the window (kept in arrival order) or past the cap."""
        now = self._clock()
        seen = self._seen
        while seen:
            first_at, _ = next(iter(seen.values()))
            if now - first_at < self.dedup_window and len(seen) < DEDUP_MAX_ENTRIES:
                break
            seen.popitem(last=False)


__all__ = ["AppCommand", "CommandHandler", "CommandListener", "CommandRunner", "CommandSource"]
