"""A LAN app simulator: finds, binds and drives a Gizwits device on the local network.

It plays the Gizwits app's local side (UDP discovery on 12414, TCP on 12416) with its own wire
code, written from the public descriptions of GAgent's LAN protocol, independent of the
integration's LAN library, so the two check each other.

Frame: ``00 00 00 03 | varint length | flag 00 | command (2 B) | body``; 0x0093/0x0094 carry a
4-byte sn after the command.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import contextlib
from dataclasses import dataclass
import socket

from emulator import p0
from emulator.p0 import DataPointCodec

HEADER = b"\x00\x00\x00\x03"
DISCOVERY_PORT = 12414
TCP_PORT = 12416
HEARTBEAT_INTERVAL = 4.0  # what Gizwits apps do
DEFAULT_TIMEOUT = 10.0

DISCOVER, DISCOVERED = 0x0003, 0x0004
PASSCODE_REQ, PASSCODE_REPLY = 0x0006, 0x0007
LOGIN_REQ, LOGIN_REPLY = 0x0008, 0x0009
INFO_REQ, INFO_REPLY = 0x0013, 0x0014
PING, PONG = 0x0015, 0x0016
SEND, REPORT, SEND_ACKED, ACK = 0x0090, 0x0091, 0x0093, 0x0094


class LanAppError(Exception):
    """The device refused, closed the connection, or sent something unreadable."""


# -- wire ----------------------------------------------------------------------------------------


def pack(command: int, body: bytes = b"") -> bytes:
    """One frame (the length is a varint, usually one byte)."""
    length = 3 + len(body)
    varint = bytearray()
    while True:
        byte, length = length & 0x7F, length >> 7
        varint.append(byte | (0x80 if length else 0))
        if not length:
            break
    return HEADER + bytes(varint) + b"\x00" + command.to_bytes(2) + body


def unpack(buffer: bytearray) -> tuple[int, bytes] | None:
    """Take (command, body) of the first complete frame off the buffer; None if incomplete."""
    if buffer[:4] != HEADER[: len(buffer[:4])]:
        raise LanAppError(f"not a Gizwits LAN frame: {bytes(buffer[:8]).hex(' ')}")
    length = shift = 0
    pos = 4
    while True:
        if pos >= len(buffer):
            return None
        byte = buffer[pos]
        pos += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
        if shift >= 28:
            raise LanAppError("length field over 4 bytes")
    if length < 3:
        raise LanAppError(f"length {length} too short")
    if len(buffer) < pos + length:
        return None
    frame = bytes(buffer[pos : pos + length])
    del buffer[: pos + length]
    return int.from_bytes(frame[1:3]), frame[3:]


def _prefixed(data: bytes, pos: int) -> tuple[bytes, int]:
    size = int.from_bytes(data[pos : pos + 2])
    end = pos + 2 + size
    if len(data) < end:
        raise LanAppError("field runs past the end of the frame")
    return data[pos + 2 : end], end


@dataclass(frozen=True, slots=True)
class FoundDevice:
    """One 0x0004 answer."""

    address: tuple[str, int]
    did: str
    mac: str
    wifi_firmware_version: str
    product_key: str
    mcu_attributes: bytes
    api_server: str
    gagent_version: str
    # Current firmware's third string (empty from older devices such as the PH-803W).
    mcu_soft_version: str = ""


def parse_found(body: bytes, address: tuple[str, int]) -> FoundDevice:
    """The fields of a 0x0004/0x0005 body."""
    did, pos = _prefixed(body, 0)
    mac, pos = _prefixed(body, pos)
    firmware, pos = _prefixed(body, pos)
    product_key, pos = _prefixed(body, pos)
    attributes = body[pos : pos + 8]
    strings = body[pos + 8 :].split(b"\x00")
    api_server = strings[0].decode(errors="replace") if len(strings) > 1 else ""
    version = strings[1].decode(errors="replace") if len(strings) > 2 else ""
    mcu_soft = strings[2].decode(errors="replace") if len(strings) > 2 else ""
    return FoundDevice(
        address,
        did.decode(errors="replace"),
        mac.hex(),
        firmware.decode(errors="replace"),
        product_key.decode(errors="replace"),
        attributes,
        api_server,
        version,
        mcu_soft,
    )


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.found: asyncio.Queue[FoundDevice] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        buffer = bytearray(data)
        with contextlib.suppress(LanAppError):
            frame = unpack(buffer)
            if frame is not None and frame[0] == DISCOVERED and not buffer:
                self.found.put_nowait(parse_found(frame[1], (str(addr[0]), int(str(addr[1])))))


async def discover(
    host: str = "127.0.0.1",
    port: int = DISCOVERY_PORT,
    timeout: float = 2.0,  # noqa: ASYNC109
    expected: int | None = None,
) -> list[FoundDevice]:
    """Send 0x0003 to host:port and collect 0x0004 answers for `timeout` s (or `expected`)."""
    loop = asyncio.get_running_loop()
    transport, collector = await loop.create_datagram_endpoint(
        _Collector, family=socket.AF_INET, allow_broadcast=True
    )
    found: list[FoundDevice] = []
    try:
        transport.sendto(pack(DISCOVER), (host, port))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while expected is None or len(found) < expected:
                    found.append(await collector.found.get())
    finally:
        transport.close()
    return found


@dataclass(frozen=True, slots=True)
class HeardStatus:
    """One UDP status broadcast: ``0x0091 | 06 <MAC> | P0 status report``."""

    address: tuple[str, int]
    mac: str
    payload: bytes


def parse_status_broadcast(datagram: bytes, address: tuple[str, int]) -> HeardStatus:
    """The MAC and payload of a status broadcast; LanAppError if the datagram is not one."""
    buffer = bytearray(datagram)
    frame = unpack(buffer)
    if frame is None or buffer:
        raise LanAppError("not exactly one frame")
    command, body = frame
    if command != REPORT:
        raise LanAppError(f"0x{command:04X} is not a status broadcast")
    if len(body) < 7 or body[0] != 6:
        raise LanAppError("a status broadcast starts with 06 and a 6-byte MAC")
    return HeardStatus(address, body[1:7].hex(), body[7:])


class _StatusCollector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.heard: asyncio.Queue[HeardStatus] = asyncio.Queue()
        self.garbage: list[bytes] = []

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        try:
            heard = parse_status_broadcast(data, (str(addr[0]), int(str(addr[1]))))
        except LanAppError:
            self.garbage.append(data)
            return
        self.heard.put_nowait(heard)


class StatusListener:
    """Listens for the devices' UDP status broadcasts, as LAN clients without a session do.

    Bind the broadcast address (e.g. 127.255.255.255) or the wildcard: a socket bound to a
    unicast address does not receive broadcasts. Use `async with await StatusListener.bind()`.
    """

    def __init__(self, transport: asyncio.DatagramTransport, collector: _StatusCollector) -> None:
        self._transport = transport
        self._collector = collector

    @classmethod
    async def bind(
        cls, host: str = "127.255.255.255", port: int = DISCOVERY_PORT
    ) -> StatusListener:
        """Listen on host:port (port 0: a free one, see `port`)."""
        transport, collector = await asyncio.get_running_loop().create_datagram_endpoint(
            _StatusCollector, local_addr=(host, port), family=socket.AF_INET
        )
        return cls(transport, collector)

    @property
    def port(self) -> int:
        """The bound port."""
        return int(self._transport.get_extra_info("sockname")[1])

    @property
    def garbage(self) -> list[bytes]:
        """Datagrams that were not status broadcasts."""
        return self._collector.garbage

    async def next(self, timeout: float | None = DEFAULT_TIMEOUT) -> HeardStatus:  # noqa: ASYNC109
        """The oldest status broadcast not read yet."""
        async with asyncio.timeout(timeout):
            return await self._collector.heard.get()

    async def next_p0(
        self,
        codec: DataPointCodec,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> tuple[HeardStatus, p0.StatusReport]:
        """The next broadcast and its P0 status report."""
        heard = await self.next(timeout)
        message = codec.decode(heard.payload)
        if not isinstance(message, p0.StatusReport):
            raise LanAppError(f"a status broadcast carried {message!r}")
        return heard, message

    def close(self) -> None:
        """Stop listening."""
        self._transport.close()

    async def __aenter__(self) -> StatusListener:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


# -- TCP app -------------------------------------------------------------------------------------


class LanApp:
    """One TCP session with a device, as an app; use `async with await LanApp.connect(...)`.

    Behaviours of LAN clients in the field, as options: `heartbeat_interval` (the Gizwits app
    pings every 4 s, clients for Jebao pumps every 20 s) and `fixed_sn` (those clients send
    every 0x0093 with sn 0; acks are then matched oldest first).
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        fixed_sn: int | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self.heartbeat_interval = heartbeat_interval
        self.fixed_sn = fixed_sn
        self.pings_sent = 0
        self._replies: dict[int, asyncio.Queue[bytes]] = {}
        # sn -> one future per 0x0093 sent with it and not acked yet (oldest first)
        self._acks: dict[int, list[asyncio.Future[bytes]]] = {}
        self.reports: asyncio.Queue[bytes] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._next_sn = 1
        self._reader_task = asyncio.create_task(self._read_loop())
        self._pinger: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls,
        host: str = "127.0.0.1",
        port: int = TCP_PORT,
        *,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        fixed_sn: int | None = None,
    ) -> LanApp:
        """Open the TCP connection."""
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, heartbeat_interval=heartbeat_interval, fixed_sn=fixed_sn)

    async def __aenter__(self) -> LanApp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop pinging and close the connection."""
        for task in (self._pinger, self._reader_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def _read_loop(self) -> None:
        buffer = bytearray()
        try:
            while data := await self._reader.read(4096):
                buffer += data
                while (frame := unpack(buffer)) is not None:
                    self._dispatch(*frame)
        except OSError, LanAppError:
            pass
        finally:
            self.closed.set()
            for futures in self._acks.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(LanAppError("the device closed the connection"))

    def _dispatch(self, command: int, body: bytes) -> None:
        if command == REPORT:
            self.reports.put_nowait(body)
        elif command == ACK and len(body) >= 4:
            waiting = self._acks.get(int.from_bytes(body[:4]), [])
            pending = [f for f in waiting if not f.done()]
            if pending:
                pending[0].set_result(body[4:])
        else:
            self._replies.setdefault(command, asyncio.Queue()).put_nowait(body)

    async def _send(self, frame: bytes) -> None:
        if self.closed.is_set():
            raise LanAppError("the device closed the connection")
        self._writer.write(frame)
        await self._writer.drain()

    async def _reply(self, command: int, timeout: float) -> bytes:  # noqa: ASYNC109
        queue = self._replies.setdefault(command, asyncio.Queue())
        getter = asyncio.ensure_future(queue.get())
        closed = asyncio.ensure_future(self.closed.wait())
        try:
            done, _ = await asyncio.wait(
                {getter, closed}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        except asyncio.CancelledError:
            getter.cancel()  # e.g. the pinger cancelled by close(): leave no task behind
            raise
        finally:
            closed.cancel()
        if getter in done:
            return getter.result()
        getter.cancel()
        if closed in done:
            raise LanAppError(f"the device closed the connection (waiting for 0x{command:04X})")
        raise TimeoutError(f"no 0x{command:04X} from the device")

    async def request_passcode(self, timeout: float = DEFAULT_TIMEOUT) -> str | None:  # noqa: ASYNC109
        """0x0006; the passcode, or None when the device refuses (binding mode off)."""
        await self._send(pack(PASSCODE_REQ))
        passcode, _ = _prefixed(await self._reply(PASSCODE_REPLY, timeout), 0)
        return passcode.decode(errors="replace") or None

    async def login(self, passcode: str, timeout: float = DEFAULT_TIMEOUT) -> bool:  # noqa: ASYNC109
        """0x0008; True when accepted (then pings every HEARTBEAT_INTERVAL s)."""
        raw = passcode.encode()
        await self._send(pack(LOGIN_REQ, len(raw).to_bytes(2) + raw))
        accepted = (await self._reply(LOGIN_REPLY, timeout))[:1] == b"\x00"
        if accepted and self._pinger is None:
            self._pinger = asyncio.create_task(self._ping_forever())
        return accepted

    async def ping(self, timeout: float = DEFAULT_TIMEOUT) -> None:  # noqa: ASYNC109
        """0x0015, wait for the 0x0016."""
        await self._send(pack(PING))
        self.pings_sent += 1
        await self._reply(PONG, timeout)

    async def _ping_forever(self) -> None:
        with contextlib.suppress(LanAppError, TimeoutError):
            while not self.closed.is_set():
                await asyncio.sleep(self.heartbeat_interval)
                await self.ping()

    async def module_info(self, timeout: float = DEFAULT_TIMEOUT) -> dict[str, str]:  # noqa: ASYNC109
        """0x0013 -> the 0x0014 fields."""
        await self._send(pack(INFO_REQ))
        body = await self._reply(INFO_REPLY, timeout)
        names = ("wifi_hard", "wifi_soft", "mcu_hard", "mcu_soft", "p0_version")
        info = {
            name: body[i * 8 : i * 8 + 8].decode(errors="replace") for i, name in enumerate(names)
        }
        firmware, pos = _prefixed(body, 48)
        product_key, _ = _prefixed(body, pos)
        info["firmware"] = firmware.decode(errors="replace")
        info["product_key"] = product_key.decode(errors="replace")
        return info

    async def send(self, payload: bytes) -> None:
        """0x0090 (a direct answer arrives as a 0x0091 in `reports`)."""
        await self._send(pack(SEND, payload))

    async def send_acked(
        self,
        payload: bytes,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
        *,
        sn: int | None = None,
    ) -> bytes:
        """0x0093 (sn: as given, else `fixed_sn`, else a fresh one); the payload of the 0x0094
        carrying that sn."""
        if sn is None:
            sn = self.fixed_sn
        if sn is None:
            sn = self._next_sn
            self._next_sn = (sn + 1) % 2**32
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        waiting = self._acks.setdefault(sn, [])
        waiting.append(future)
        try:
            await self._send(pack(SEND_ACKED, sn.to_bytes(4) + payload))
            async with asyncio.timeout(timeout):
                return await future
        finally:
            waiting.remove(future)
            if not waiting and self._acks.get(sn) is waiting:
                del self._acks[sn]

    async def next_report(self, timeout: float = DEFAULT_TIMEOUT) -> bytes:  # noqa: ASYNC109
        """The oldest unread 0x0091 payload."""
        async with asyncio.timeout(timeout):
            return await self.reports.get()

    # -- P0 ------------------------------------------------------------------------------------

    async def read(
        self,
        codec: DataPointCodec,
        *,
        acked: bool = False,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> p0.ReadReply:
        """P0 read: over 0x0093 the reply is inside the 0x0094, over 0x0090 it is a 0x0091."""
        request = codec.encode(p0.ReadRequest())
        if acked:
            message = codec.decode(await self.send_acked(request, timeout))
        else:
            await self.send(request)
            message = await self.wait_p0(codec, p0.ReadReply, timeout)
        if not isinstance(message, p0.ReadReply):
            raise LanAppError(f"expected a read reply, got {message!r}")
        return message

    async def control(
        self, codec: DataPointCodec, values: Mapping[str, p0.Value], *, acked: bool = False
    ) -> None:
        """P0 control; with `acked`, returns once the device acked it."""
        payload = codec.encode(p0.Control(dict(values)))
        if acked:
            await self.send_acked(payload)
        else:
            await self.send(payload)

    async def wait_p0(
        self,
        codec: DataPointCodec,
        kind: type[p0.P0Message],
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> p0.P0Message:
        """The next 0x0091 decoding to `kind` (others are skipped)."""
        async with asyncio.timeout(timeout):
            while True:
                with contextlib.suppress(p0.P0Error):
                    message = codec.decode(await self.reports.get())
                    if isinstance(message, kind):
                        return message

    async def wait_report(
        self,
        codec: DataPointCodec,
        timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109
    ) -> p0.StatusReport:
        """The next P0 status report."""
        message = await self.wait_p0(codec, p0.StatusReport, timeout)
        assert isinstance(message, p0.StatusReport)
        return message
