"""One LAN app's TCP connection: its frames, its login and its per-connection state.

All state lives in this object and dies with the connection, so a new client never inherits
an old one's login (GAgent reuses client slots and has exactly that bug).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from ..commands import AppCommand, CommandSource
from ..frame_fields import MAX_PAYLOAD, FrameError
from ..frames import AckedPassthrough, AppPassthrough, DevicePassthrough, PassthroughAck
from .codec import LanMessage, LanStreamDecoder, decode_lan_frame, encode_lan_frame
from .device import LanDevice
from .messages import (
    Heartbeat,
    HeartbeatReply,
    LoginReply,
    LoginRequest,
    ModuleInfoRequest,
    PasscodeReply,
    PasscodeRequest,
)

if TYPE_CHECKING:
    from .server import LanServer

_LOGGER = logging.getLogger(__name__)

_READ_SIZE = 4096


class LanConnection:
    """Serves one client until it leaves, times out, misbehaves or the server stops."""

    def __init__(
        self, server: LanServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._server = server
        self._reader = reader
        self._writer = writer
        peer = writer.get_extra_info("peername")
        self.host: str = str(peer[0]) if peer else "?"
        self.address = f"{peer[0]}:{peer[1]}" if peer else "?"
        self.device: LanDevice | None = None
        self._decoder = LanStreamDecoder()

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self) -> None:
        """Read and answer frames until the connection ends; always closes it."""
        stats = self._server.stats
        loop = asyncio.get_running_loop()
        login_deadline = loop.time() + self._server.login_timeout
        try:
            while True:
                # Silence closes a logged-in client; before login, so does the login deadline.
                timeout = self._server.heartbeat_timeout
                if self.device is None:
                    timeout = min(timeout, max(0.0, login_deadline - loop.time()))
                try:
                    data = await asyncio.wait_for(self._reader.read(_READ_SIZE), timeout)
                except TimeoutError:
                    if self.device is None:
                        stats.login_timeouts += 1
                        _LOGGER.debug("LAN client %s did not log in in time, closing", self.address)
                    else:
                        stats.heartbeat_timeouts += 1
                        _LOGGER.debug("LAN client %s silent too long, closing", self.address)
                    return
                if not data:
                    return
                try:
                    self._decoder.feed(data)
                    while (raw := self._decoder.next_frame()) is not None:
                        if not await self._handle(raw):
                            return
                except FrameError as err:  # the stream cannot be resynchronised
                    stats.drop(f"stream_{type(err).__name__}")
                    _LOGGER.debug("LAN client %s sent garbage, closing: %s", self.address, err)
                    return
        except OSError as err:  # ConnectionResetError and friends
            _LOGGER.debug("LAN client %s connection error: %s", self.address, err)
        finally:
            self.close()

    def close(self) -> None:
        """Close the socket and forget the login (idempotent)."""
        self._writer.close()
        self._server._connection_closed(self)

    # -- sending -------------------------------------------------------------------------

    def send(self, message: LanMessage) -> None:
        """One write per frame."""
        self.send_raw(encode_lan_frame(message))

    def send_raw(self, frame: bytes) -> None:
        """Write an encoded frame; a client that does not read its data is closed."""
        if self._writer.is_closing():
            return
        self._writer.write(frame)
        self._server.stats.frames_sent += 1
        if self._writer.transport.get_write_buffer_size() > self._server.write_buffer_limit:
            self._server.stats.slow_clients_closed += 1
            _LOGGER.debug("LAN client %s does not read, closing", self.address)
            self.close()

    # -- receiving -----------------------------------------------------------------------

    async def _handle(self, raw: bytes) -> bool:
        """Answer one frame; False closes the connection."""
        stats = self._server.stats
        stats.frames_received += 1
        try:
            message = decode_lan_frame(raw)
        except FrameError as err:
            stats.drop(type(err).__name__)
            _LOGGER.debug("LAN client %s: dropped a frame: %s", self.address, err)
            return self.device is not None  # before login anything unexpected closes
        if isinstance(message, PasscodeRequest):
            return self._passcode_request()
        if isinstance(message, LoginRequest):
            return self._login(message.passcode)
        if isinstance(message, ModuleInfoRequest):
            device = self.device or self._server.device_for_anonymous_request()
            if device is None:
                return False
            assert device.module_info is not None  # filled in by LanDevice.__post_init__
            self.send(device.module_info)
            return True
        device = self.device
        if device is None:
            stats.drop("before_login")
            _LOGGER.debug(
                "LAN client %s sent 0x%04X before login, closing", self.address, message.command
            )
            return False
        if isinstance(message, Heartbeat):
            self.send(HeartbeatReply())
        elif isinstance(message, AppPassthrough | AckedPassthrough):
            await self._command(device, message)
        else:
            stats.drop("unexpected_command")
        return True

    def _passcode_request(self) -> bool:
        self._server.stats.passcode_requests += 1
        device = self._server.device_in_binding_window(self.device)
        if device is None:
            # Outside the binding window the passcode is never sent (protocol ruling).
            self._server.stats.passcodes_refused += 1
            self.send(PasscodeReply())
            return False
        self.send(PasscodeReply(device.passcode_bytes))
        return True

    def _login(self, passcode: bytes) -> bool:
        device = self._server._login(self, passcode)
        self.send(LoginReply(device is not None))
        return device is not None

    async def _command(self, device: LanDevice, frame: AppPassthrough | AckedPassthrough) -> None:
        """Run a 0x0090/0x0093 through the device's command runner; answer the asker only.

        Handled in order, one at a time per client; the heartbeat deadline only runs while
        waiting for data, so a slow handler does not time the client out.
        """
        stats = self._server.stats
        sn = frame.sn if isinstance(frame, AckedPassthrough) else None
        if device.commands.busy:
            stats.drop("commands_busy")
            return
        answer_future, duplicate = device.commands.submit(
            AppCommand(CommandSource.LAN, self.address, sn, frame.payload)
        )
        if duplicate:
            stats.duplicates += 1
        # Shielded: closing this client must not cancel a run a repeat may be waiting on.
        answer = await asyncio.shield(answer_future)
        if not duplicate:
            stats.commands_handled += 1
        if answer is not None and len(answer) > MAX_PAYLOAD:
            stats.command_errors += 1
            _LOGGER.error("Answer to a LAN command is over %s bytes, not sent", MAX_PAYLOAD)
            answer = None
        if sn is not None:
            self.send(PassthroughAck(sn, answer or b""))
        elif answer is not None:
            self.send(DevicePassthrough(answer))
