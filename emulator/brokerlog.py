"""Reading mosquitto's log live: who published on a topic, and which publishes were denied.

MQTT does not tell a subscriber who published a message, but the real Gizwits cloud knows (it
answers a device's 0x020F on `cli2ser_req` to that device only) and enforces an ACL. mosquitto
2.0 logs both at debug level, one line per publish and in processing order:

    1796185229: Received PUBLISH from <client id> (d0, q0, r0, m0, '<topic>', ... (<n> bytes))
    1796185229: Denied PUBLISH from <client id> (d0, q0, r0, m0, '<topic>', ... (<n> bytes))
    1796185229: <client id> 0 <topic filter>          (a subscription)

Debug lines never reach `log_dest topic` ($SYS/broker/log/...), and a log file is block-buffered,
so the broker writes its log to stderr (unbuffered) and `MosquittoBroker` feeds each line here.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
import re

_PUBLISH = re.compile(
    r"^(?:\d+: )?(Received|Denied) PUBLISH from (.+?) \(d\d, q\d, r\d, m\d+, '(.*)', "
    r"\.\.\. \((\d+) bytes\)\)$"
)
_KEPT_LINES = 5000


@dataclass(frozen=True, slots=True)
class PublishEvent:
    """One publish as mosquitto logged it."""

    client_id: str
    topic: str
    size: int


class BrokerLog:
    """The parsed log of one broker (across its restarts)."""

    def __init__(self) -> None:
        """Empty; `MosquittoBroker` feeds it."""
        self.lines: deque[str] = deque(maxlen=_KEPT_LINES)
        self.denied: list[PublishEvent] = []
        # topic -> (subscriber client id, publishes the subscriber has not yet claimed)
        self._watched: dict[str, tuple[str, deque[PublishEvent]]] = {}
        self._changed = asyncio.Condition()
        self.on_denied: list[Callable[[PublishEvent], None]] = []
        self._line_waiters: list[Callable[[str], None]] = []

    def text(self) -> str:
        """The kept tail of the log."""
        return "\n".join(self.lines)

    def watch(self, topic: str, subscriber: str) -> None:
        """Record who publishes on `topic` (exact name), for `publisher_of`.

        A new subscription of `subscriber` to `topic` forgets what was logged before it: those
        publishes never reached the subscriber (it was not subscribed, or had been disconnected).
        """
        self._watched.setdefault(topic, (subscriber, deque()))

    async def publisher_of(
        self,
        topic: str,
        size: int,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> str | None:
        """Who published the message of `size` bytes the subscriber just received on `topic`.

        Messages reach a subscriber in the order mosquitto logged them, so this is the oldest
        unclaimed publish on `topic`; older ones of another size were lost on the way and are
        dropped. None if the log line does not come within `timeout`.
        """
        _, pending = self._watched[topic]

        def claim() -> PublishEvent | None:
            while pending:
                event = pending.popleft()
                if event.size == size:
                    return event
            return None

        try:
            async with asyncio.timeout(timeout), self._changed:
                event = await self._changed.wait_for(claim)
        except TimeoutError:
            return None
        return None if event is None else event.client_id

    async def wait_line(
        self,
        predicate: Callable[[str], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until a line fed from now on satisfies `predicate`."""
        seen = asyncio.Event()

        def check(line: str) -> None:
            if predicate(line):
                seen.set()

        self._line_waiters.append(check)
        try:
            async with asyncio.timeout(timeout):
                await seen.wait()
        finally:
            self._line_waiters.remove(check)

    def take_denied(self) -> list[PublishEvent]:
        """Every denied publish since the last call (cleared)."""
        denied, self.denied = self.denied, []
        return denied

    async def feed(self, line: str) -> None:
        """One log line from mosquitto."""
        self.lines.append(line)
        for waiter in list(self._line_waiters):
            waiter(line)
        if "PUBLISH from" not in line:
            self._subscription(line)
            return
        match = _PUBLISH.match(line)
        if match is None:
            return
        verdict, client_id, topic, size = match.groups()
        event = PublishEvent(client_id, topic, int(size))
        if verdict == "Denied":
            self.denied.append(event)
            for callback in self.on_denied:
                callback(event)
            return
        if topic in self._watched:
            async with self._changed:
                self._watched[topic][1].append(event)
                self._changed.notify_all()

    def _subscription(self, line: str) -> None:
        for topic, (subscriber, pending) in self._watched.items():
            if line.endswith(f": {subscriber} 0 {topic}") or line == f"{subscriber} 0 {topic}":
                pending.clear()
