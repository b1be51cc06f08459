"""App commands (0x0090 / 0x0093) and the device's answers, independent of the transport.

A command arrives from an app over the cloud (M2M) or, later, over the local network. Either
transport hands it to one `CommandRunner`, which calls the device's registered handler and
returns the bytes to send back: for 0x0093 the body of the 0x0094 (same sn), for 0x0090 the body
of a 0x0091 to the asking app. The runner knows nothing about P0; the handler does.

Gizwits ruling on acks (protocol.md §4, amended): every 0x0093 is acked, carrying the device's
answer when it has one. A 0x0093 is a *retransmission* only when it repeats the same app's
previous 0x0093 exactly (same sn and same payload) within the window (10 s): it is acked again
with the same answer but not executed twice. Anything else runs, even with a reused sn: real LAN
clients send every 0x0093 with sn 0.
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

# Bounded memory under a flood of distinct apps: past the cap the oldest entries go first.
DEDUP_MAX_ENTRIES = 4096
# How long an exact repeat of an app's previous 0x0093 counts as a retransmission (§4).
RETRANSMISSION_WINDOW = 10.0
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


@dataclass(frozen=True, slots=True)
class _Previous:
    """An app's previous 0x0093: what it was, when it ran and its answer."""

    sn: int
    payload: bytes
    at: float
    answer: asyncio.Future[bytes | None]


class CommandRunner:
    """Runs every app command through the one registered handler; a retransmitted 0x0093
    gets the answer of its first run instead."""

    def __init__(
        self,
        dedup_window: float = RETRANSMISSION_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        max_running: int = MAX_RUNNING,
    ) -> None:
        self.dedup_window = dedup_window
        self.max_running = max_running
        self._clock = clock
        self._handler: CommandHandler | None = None
        self._listeners: list[CommandListener] = []
        self._running: set[asyncio.Task[bytes | None]] = set()
        # (source, app) -> that app's previous 0x0093; least recently used first.
        self._seen: OrderedDict[tuple[CommandSource, str], _Previous] = OrderedDict()

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

        A retransmitted 0x0093 (the same app's previous 0x0093 again, same sn and payload,
        within the window) gets that run's answer (awaited if it is still going) and is not
        handled again. Without a handler the answer is None at once.
        """
        key = None
        if command.sn is not None:
            self._expire()
            key = (command.source, command.app_client_id)
            previous = self._seen.get(key)
            if (
                previous is not None
                and previous.sn == command.sn
                and previous.payload == command.payload
            ):
                return previous.answer, True
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
            # Started eagerly: a handler that never waits is done before submit returns, so
            # its answer goes out without a trip through the event loop.
            task = asyncio.Task(self._call(self._handler, command), eager_start=True)
            if not task.done():
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            answer = task
        if key is not None:
            assert command.sn is not None
            self._seen.pop(key, None)  # re-inserted last: the most recently used app
            self._seen[key] = _Previous(command.sn, command.payload, self._clock(), answer)
            if len(self._seen) > DEDUP_MAX_ENTRIES:
                self._seen.popitem(last=False)
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
        """Drop entries older than the window (kept in arrival order)."""
        now = self._clock()
        seen = self._seen
        while seen and now - next(iter(seen.values())).at >= self.dedup_window:
            seen.popitem(last=False)


__all__ = [
    "RETRANSMISSION_WINDOW",
    "AppCommand",
    "CommandHandler",
    "CommandListener",
    "CommandRunner",
    "CommandSource",
]
