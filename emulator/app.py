"""A simulated Gizwits app bound to one device (seed §4, app side).

It publishes on `app2dev/<did>/<client id>` and listens on `dev2app/<did>` and
`dev2app/<did>/<client id>`. Every frame received is kept in `received` and fed to the async
iterator; undecodable payloads land in `undecodable` (never fatal). A device 0x0093 is acked with
a 0x0094 carrying the same sn unless `auto_ack` is off (to exercise the device's retries).

Frames are read and written with the emulator's own `wire` module and P0 payloads with its own
`p0` codec, never the integration's: both sides are held to the golden vectors, so a mistake
in either fails a test instead of being mirrored.

`send_acked` matches the device's 0x0094 by sn and returns its body: empty for a plain ack, the
device's answer (e.g. a P0 read reply `03 ...`) when it has one. A 0x0094 that answers no 0x0093
of this app, or that arrives on the all-apps topic instead of this app's own, is a device bug: it
is kept in `ack_errors` and fails every `send_acked` still waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
import itertools
import logging
import secrets

from emulator import wire
from emulator.lifecycle import Service
from emulator.mqtt import BrokerLogin, MqttLink
from emulator.p0 import (
    Control,
    DataPointCodec,
    P0Error,
    P0Message,
    ReadReply,
    ReadRequest,
    StatusReport,
    Value,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0


def new_app_client_id() -> str:
    """A fresh app client id (short enough for MQTT 3.1's 23-character limit)."""
    return f"app{secrets.token_hex(6)}"


@dataclass(frozen=True, slots=True)
class Received:
    """One decoded frame the app received, with its topic."""

    topic: str
    frame: wire.Frame
    raw: bytes = b""


type Matcher = type | Callable[[Received], bool]


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A payload that failed to decode."""

    topic: str
    payload: bytes
    error: wire.WireError


class AckError(AssertionError):
    """The device's 0x0094 does not answer what this app sent (wrong sn or wrong topic)."""


def decode_p0(codec: DataPointCodec, item: Received) -> P0Message | None:
    """The P0 message in a device passthrough (None: not a passthrough, or not P0)."""
    if not isinstance(item.frame, wire.DevicePassthrough | wire.AckedPassthrough):
        return None
    try:
        return codec.decode(item.frame.payload)
    except P0Error:
        return None


class AppSimulator(Service):
    """One app session bound to `did`; async context manager (or `start()` / `close()`)."""

    def __init__(
        self,
        host: str,
        port: int,
        did: str,
        *,
        username: str,
        password: str,
        client_id: str | None = None,
        auto_ack: bool = True,
        fixed_sn: int | None = None,
        on_close: Callable[[AppSimulator], Awaitable[None]] | None = None,
    ) -> None:
        """Credentials are the app's broker user; nothing connects before `start()`.

        `fixed_sn` makes every 0x0093 carry that sn (real LAN clients send sn 0 every time).
        """
        self.did = did
        self.fixed_sn = fixed_sn
        self.client_id = client_id or new_app_client_id()
        self.auto_ack = auto_ack
        self._on_close = on_close
        self._link = MqttLink(
            BrokerLogin(host, port, username, password),
            client_id=self.client_id,
            topics=(f"dev2app/{did}", f"dev2app/{did}/{self.client_id}"),
            on_message=self._on_message,
        )
        self.received: list[Received] = []
        self.undecodable: list[Undecodable] = []
        self.acks_sent: list[wire.PassthroughAck] = []
        self.ack_errors: list[str] = []
        # sn -> one future per 0x0093 sent with it and not yet acked (oldest first)
        self._awaiting_ack: dict[int, list[asyncio.Future[bytes]]] = {}
        self._pending: list[Received] = []  # not yet returned by wait_for
        self._changed = asyncio.Condition()
        self._queue: asyncio.Queue[Received] = asyncio.Queue()
        # Per-endpoint sn counter (protocol.md §4), starting somewhere arbitrary like a real app.
        self._sn = itertools.count(secrets.randbelow(1 << 16) + 1)
        self._closed = False

    @property
    def publish_topic(self) -> str:
        """Where this app sends: `app2dev/<did>/<client id>`."""
        return f"app2dev/{self.did}/{self.client_id}"

    @property
    def link(self) -> MqttLink:
        """The underlying MQTT link."""
        return self._link

    async def start(self) -> None:
        """Connect and subscribe."""
        await self._link.start()

    async def stop(self) -> None:
        """Service's name for close()."""
        await self.close()

    async def close(self) -> None:
        """Disconnect (idempotent); tells the emulator the app left."""
        if self._closed:
            return
        self._closed = True
        await self._link.stop()
        if self._on_close is not None:
            await self._on_close(self)

    # -- sending ---------------------------------------------------------------------------

    def next_sn(self) -> int:
        """The next sn of this app (wraps at 2**32), or always `fixed_sn` when set."""
        if self.fixed_sn is not None:
            return self.fixed_sn
        return next(self._sn) % (1 << 32)

    async def send_frame(self, frame: wire.Frame, *, short_form: bool | None = None) -> None:
        """Publish any frame on this app's topic."""
        await self.send_raw(wire.encode(frame, short=short_form))

    async def send_raw(self, payload: bytes) -> None:
        """Publish raw bytes on this app's topic (bad-input tests)."""
        await self._link.publish(self.publish_topic, payload)

    async def send_passthrough(self, payload: bytes) -> None:
        """Send 0x0090."""
        await self.send_frame(wire.AppPassthrough(payload))

    async def send_acked(
        self,
        payload: bytes,
        *,
        sn: int | None = None,
        wait: bool = True,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> bytes | None:
        """Send 0x0093; with `wait`, return the body of the device's 0x0094 with the same sn.

        The body is empty for a plain ack and holds the device's answer when it has one.
        Raises TimeoutError when no ack comes, AckError when a 0x0094 for another sn (or on
        the all-apps topic) comes instead.
        """
        sn = self.next_sn() if sn is None else sn
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._awaiting_ack.setdefault(sn, []).append(future)
        await self.send_frame(wire.AckedPassthrough(sn, payload))
        if not wait:
            return None
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            # Given up: a later 0x0094 with this sn answers a later send, not this one.
            waiting = self._awaiting_ack.get(sn, [])
            if future in waiting:
                waiting.remove(future)
                if not waiting:
                    del self._awaiting_ack[sn]
            raise TimeoutError(f"{self.client_id}: no 0x0094 for sn {sn}") from None

    async def set_log_level(
        self,
        value: int,
        *,
        wait: bool = True,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> wire.LogLevelConfirm | None:
        """Send 0x0010 and (with `wait`) return the device's 0x0011."""
        await self.send_frame(wire.SetLogLevel(value))
        if not wait:
            return None
        got = await self.wait_for(wire.LogLevelConfirm, timeout)
        assert isinstance(got.frame, wire.LogLevelConfirm)
        return got.frame

    # -- P0 data points (protocol.md §5) ---------------------------------------------------

    async def send_p0(
        self, codec: DataPointCodec, message: P0Message, *, acked: bool = False
    ) -> bytes | None:
        """Send a P0 message as 0x0090, or as 0x0093 returning the 0x0094 body (`acked`)."""
        payload = codec.encode(message)
        if acked:
            return await self.send_acked(payload)
        await self.send_passthrough(payload)
        return None

    async def control(
        self, codec: DataPointCodec, values: Mapping[str, Value], *, acked: bool = False
    ) -> bytes | None:
        """Send a P0 control (0x01 / 0x11); `acked`: as 0x0093, returning the 0x0094 body."""
        return await self.send_p0(codec, Control(values), acked=acked)

    async def read(
        self,
        codec: DataPointCodec,
        names: tuple[str, ...] | None = None,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
        *,
        acked: bool = False,
    ) -> ReadReply:
        """Send a P0 read and return the device's read reply to this app.

        As 0x0090 the reply is a 0x0091 to this app; as 0x0093 (`acked`) a real device answers
        inside the 0x0094 (`03`/`13` + status), and an empty 0x0094 is an AckError.
        """
        if acked:
            body = await self.send_p0(codec, ReadRequest(names), acked=True)
            try:
                reply = codec.decode(body or b"")
            except P0Error as err:
                raise AckError(f"0x0094 body {body!r} is not a P0 read reply: {err}") from err
            if not isinstance(reply, ReadReply):
                raise AckError(f"0x0094 carries {type(reply).__name__}, not a read reply")
            return reply
        await self.send_p0(codec, ReadRequest(names))
        return (await self.wait_p0(codec, ReadReply, timeout))[1]

    async def wait_report(
        self,
        codec: DataPointCodec,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> StatusReport:
        """The oldest not yet consumed P0 status report (0x04 / 0x14)."""
        return (await self.wait_p0(codec, StatusReport, timeout))[1]

    async def wait_p0[M: P0Message](
        self,
        codec: DataPointCodec,
        kind: type[M],
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> tuple[Received, M]:
        """Consume the oldest 0x0091/0x0093 whose payload decodes to a P0 message of `kind`."""

        def match(item: Received) -> bool:
            message = decode_p0(codec, item)
            return message is not None and isinstance(message, kind)

        item = await self.wait_for(match, timeout)
        message = decode_p0(codec, item)
        assert isinstance(message, kind)
        return item, message

    # -- receiving -------------------------------------------------------------------------

    async def wait_for(
        self,
        match: Matcher,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> Received:
        """Return (and consume) the oldest received frame matching a frame type or predicate.

        Frames received before the call count too, so a reply cannot be missed; each frame is
        returned by `wait_for` at most once. Raises TimeoutError.
        """
        predicate: Callable[[Received], bool]
        if isinstance(match, type):
            frame_type = match

            def predicate(r: Received) -> bool:
                return isinstance(r.frame, frame_type)
        else:
            predicate = match

        def find() -> Received | None:
            for item in self._pending:
                if predicate(item):
                    return item
            return None

        async with asyncio.timeout(timeout), self._changed:
            found = await self._changed.wait_for(find)
            assert found is not None
            self._pending.remove(found)
            return found

    def __aiter__(self) -> AsyncIterator[Received]:
        """Every received frame, in order (independent of `wait_for`)."""
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Received]:
        while True:
            yield await self._queue.get()

    async def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            frame = wire.decode(payload)
        except wire.WireError as err:
            _LOGGER.debug("%s: undecodable frame on %s: %s", self.client_id, topic, err)
            self.undecodable.append(Undecodable(topic, payload, err))
            return
        item = Received(topic, frame, payload)
        self.received.append(item)
        self._queue.put_nowait(item)
        async with self._changed:
            self._pending.append(item)
            self._changed.notify_all()
        if isinstance(frame, wire.PassthroughAck):
            self._match_ack(topic, frame)
        elif self.auto_ack and isinstance(frame, wire.AckedPassthrough):
            ack = wire.PassthroughAck(frame.sn)
            await self.send_frame(ack)
            self.acks_sent.append(ack)

    def _match_ack(self, topic: str, ack: wire.PassthroughAck) -> None:
        """Resolve the oldest send_acked waiting for this sn; anything else is a device bug."""
        own_topic = wire.dev2app(self.did, self.client_id)
        waiting = self._awaiting_ack.get(ack.sn, [])
        if topic == own_topic and waiting:
            waiting.pop(0).set_result(ack.payload)
            if not waiting:
                del self._awaiting_ack[ack.sn]
            return
        if topic != own_topic:
            error = f"0x0094 sn {ack.sn} on {topic}, not on this app's {own_topic}"
        else:
            sns = sorted(self._awaiting_ack) or "none"
            error = f"0x0094 with sn {ack.sn} answers nothing this app sent (waiting: {sns})"
        self.ack_errors.append(error)
        for futures in self._awaiting_ack.values():
            for pending in futures:
                if not pending.done():
                    pending.set_exception(AckError(error))
                    pending.exception()  # retrieved: a fire-and-forget send must not warn
        self._awaiting_ack.clear()
