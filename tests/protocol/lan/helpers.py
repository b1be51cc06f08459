"""A raw LAN test client and served test devices, on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import dataclass, field

from custom_components.gizwits_device.protocol.commands import AppCommand, CommandRunner
from custom_components.gizwits_device.protocol.lan import (
    DeviceAnnouncement,
    Heartbeat,
    HeartbeatReply,
    LanDevice,
    LanMessage,
    LanStreamDecoder,
    LoginRequest,
    decode_lan_frame,
    encode_lan_frame,
)

HOST = "127.0.0.1"
WAIT = 5.0  # generous bound for an answer that must come (never a timing assertion)
PK = "0123456789abcdef0123456789abcdef"
READ_REQUEST = b"\x02"
# protocol.md §8: a PH-803W's answer to a P0 read.
READ_REPLY = bytes.fromhex("0300 02dc 089d 0000 0000")
PASSCODE_REFUSED = bytes.fromhex("00000003 05 00 0007 0000")  # protocol.md §8 ruling
LOGIN_OK = bytes.fromhex("00000003 04 00 0009 00")
LOGIN_REFUSED = bytes.fromhex("00000003 04 00 0009 01")


@dataclass
class RecordingHandler:
    """Answers a P0 read with READ_REPLY and anything else with nothing; records every call."""

    commands: list[AppCommand] = field(default_factory=list)
    fail: bool = False

    async def __call__(self, command: AppCommand) -> bytes | None:
        self.commands.append(command)
        if self.fail:
            raise RuntimeError("handler failure")
        return READ_REPLY if command.payload == READ_REQUEST else None


def make_device(index: int, passcode: str | None = None) -> tuple[LanDevice, RecordingHandler]:
    """A served device with DID `DID<index>…` and a 10-letter passcode."""
    handler = RecordingHandler()
    runner = CommandRunner()
    runner.set_handler(handler)
    did = f"DID{index:02d}".ljust(22, "x")
    mac = bytes((0x5C, 0xCF, 0x7F, 0, 0, index))
    device = LanDevice(
        DeviceAnnouncement(did, mac, PK), passcode or chr(ord("A") + index) * 10, runner
    )
    return device, handler


class RawClient:
    """Speaks raw frames to the server and reads them back through a stream decoder."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._decoder = LanStreamDecoder()

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        reader, writer = await asyncio.open_connection(HOST, port)
        return cls(reader, writer)

    async def send(self, *messages: LanMessage | bytes) -> None:
        for message in messages:
            raw = message if isinstance(message, bytes) else encode_lan_frame(message)
            self.writer.write(raw)
        await self.writer.drain()

    async def receive_raw(self) -> bytes:
        """The next frame's bytes; fails if the server closes first."""
        async with asyncio.timeout(WAIT):
            while (raw := self._decoder.next_frame()) is None:
                data = await self.reader.read(4096)
                if not data:
                    raise ConnectionError("closed by the server")
                self._decoder.feed(data)
        return raw

    async def receive(self) -> LanMessage:
        return decode_lan_frame(await self.receive_raw())

    async def closed_by_server(self) -> bytes:
        """Wait for EOF; returns whatever arrived before it."""
        rest = b""
        async with asyncio.timeout(WAIT):
            while True:
                try:
                    data = await self.reader.read(4096)
                except ConnectionResetError:
                    return rest
                if not data:
                    return rest
                rest += data

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


type ClientFactory = Callable[[], Awaitable[RawClient]]


async def logged_in(connect: ClientFactory, passcode: str) -> RawClient:
    """A new client, logged in with `passcode`."""
    client = await connect()
    await client.send(LoginRequest(passcode.encode()))
    assert await client.receive_raw() == LOGIN_OK
    return client


async def ping(client: RawClient) -> None:
    """A heartbeat round trip: everything the server sent before it has been read."""
    await client.send(Heartbeat())
    assert await client.receive() == HeartbeatReply()
