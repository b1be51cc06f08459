"""The UDP status broadcast: every status report, to apps on the network without a session.

Real devices broadcast each status report to UDP 12414 as ``0x0091 | 06 <MAC> | payload`` (a
1-byte MAC length, the MAC, the report's P0 payload); LAN clients listen for it to see changes
at once (protocol.md §8). One `StatusBroadcaster` per device sends to the broadcast addresses
of the interfaces the device uses, at most one datagram per `min_interval` (the report rate
limit): a report arriving sooner waits, and a newer one replaces it (the latest status wins).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
import logging
import socket

from ..frame_fields import FieldError, FrameError
from ..frames import DevicePassthrough
from .codec import decode_lan_frame, encode_lan_frame
from .discovery import DEFAULT_DISCOVERY_PORT
from .messages import MAC_LEN, check_mac
from .stats import LanStats

__all__ = ["StatusBroadcast", "StatusBroadcaster"]

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StatusBroadcast:
    """One status broadcast: the device's MAC and the report's P0 payload."""

    mac: bytes
    payload: bytes

    def __post_init__(self) -> None:
        check_mac(self.mac)

    def to_datagram(self) -> bytes:
        """The datagram: a LAN 0x0091 frame whose body starts with the MAC."""
        return encode_lan_frame(DevicePassthrough(bytes([MAC_LEN]) + self.mac + self.payload))

    @classmethod
    def from_datagram(cls, datagram: bytes) -> StatusBroadcast:
        """Parse a status broadcast; raise a FrameError subclass if it is not one."""
        message = decode_lan_frame(datagram)
        if not isinstance(message, DevicePassthrough):
            raise FieldError(f"0x{message.command:04X} is not a status broadcast (0x0091)")
        body = message.payload
        if not body or body[0] != MAC_LEN or len(body) < 1 + MAC_LEN:
            raise FieldError("a status broadcast starts with 06 and a 6-byte MAC")
        return cls(body[1 : 1 + MAC_LEN], body[1 + MAC_LEN :])


class StatusBroadcaster:
    """Broadcasts one device's status reports, rate-limited; `close()` when done."""

    def __init__(
        self,
        mac: bytes,
        addresses: Sequence[str],
        *,
        port: int = DEFAULT_DISCOVERY_PORT,
        min_interval: float = 1 / 6,
        stats: LanStats | None = None,
    ) -> None:
        StatusBroadcast(mac, b"")  # checks the MAC now, not at the first report
        self._mac = mac
        self._addresses = tuple(addresses)
        self._port = port
        self.min_interval = min_interval
        self.stats = stats if stats is not None else LanStats()
        self._loop = asyncio.get_running_loop()
        self._sent_at: float | None = None
        self._pending: bytes | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._socket: socket.socket | None = None

    @property
    def addresses(self) -> tuple[str, ...]:
        """Where the broadcasts go."""
        return self._addresses

    def send(self, payload: bytes) -> None:
        """Broadcast this report now, or as soon as the rate limit allows (latest wins)."""
        if not self._addresses:
            return
        now = self._loop.time()
        if self._sent_at is None or now - self._sent_at >= self.min_interval:
            self._broadcast(payload, now)
            return
        if self._pending is not None:
            self.stats.status_broadcasts_coalesced += 1
        self._pending = payload
        if self._timer is None:
            self._timer = self._loop.call_at(self._sent_at + self.min_interval, self._flush)

    def close(self) -> None:
        """Drop a waiting report and close the socket (idempotent)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._pending = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _flush(self) -> None:
        self._timer = None
        payload, self._pending = self._pending, None
        if payload is not None:
            self._broadcast(payload, self._loop.time())

    def _broadcast(self, payload: bytes, now: float) -> None:
        try:
            datagram = StatusBroadcast(self._mac, payload).to_datagram()
        except FrameError as err:  # over the LAN frame limit: a bug upstream, never sent
            self.stats.drop(f"status_broadcast_{type(err).__name__}")
            _LOGGER.debug("LAN status broadcast not sent: %s", err)
            return
        self._sent_at = now
        sock = self._socket or self._open()
        for address in self._addresses:
            try:
                sock.sendto(datagram, (address, self._port))
            except OSError as err:  # an interface went down, a full buffer: drop this one
                self.stats.status_broadcast_errors += 1
                _LOGGER.debug("LAN status broadcast to %s failed: %s", address, err)
            else:
                self.stats.status_broadcasts_sent += 1

    def _open(self) -> socket.socket:
        # Non-blocking: a datagram that does not fit in the buffer fails at once (dropped).
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        sock.setblocking(False)
        self._socket = sock
        return sock
