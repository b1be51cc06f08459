"""The device's M2M session: MQTT 3.1 to the Gizwits broker (protocol.md §2, §4, §6).

One `M2MSession` keeps one device online: provision → CONNECT → subscribe → 0x020F, then
heartbeats, ACKs and dispatch of every received frame to listeners, and reconnects with the
backoff of §2.8 after any loss. Bad frames are dropped and counted, never fatal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
import contextlib
from dataclasses import replace
from functools import partial
import logging
import socket
import ssl
from typing import Any

import aiomqtt
from aiomqtt.exceptions import MqttCodeError, MqttConnectError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from . import session_state
from .commands import AppCommand, CommandHandler, CommandRunner, CommandSource
from .frame_codec import decode_frame, encode_frame
from .frame_fields import FrameError, LogLevel
from .frames import (
    AckedPassthrough,
    AppPassthrough,
    DeviceLog,
    DevicePassthrough,
    Frame,
    LogLevelConfirm,
    OnlineAppCount,
    OnlineAppsRequest,
    OtaCheckNotification,
    OtaNotification,
    PassthroughAck,
    SetLogLevel,
)
from .gservice import GServiceClient
from .gservice_wire import GServiceError, GServiceInvalidCredentials, M2MEndpoint
from .listeners import Listeners
from .mqtt_client import MqttClient, RedactingLogger
from .session_state import (
    ConnectionState,
    ConnectionStatus,
    FrameListener,
    ReceivedFrame,
    SessionStats,
    SessionTiming,
    StatusListener,
)
from .topics import (
    SERVER_REQUEST_TOPIC,
    TopicKind,
    app_topic,
    device_subscriptions,
    parse_received_topic,
)

_LOGGER = logging.getLogger(__name__)
# Paho's own log, with this device's DID redacted (see RedactingLogger).
_MQTT_LOGGER_NAME = f"{__name__}.mqtt"

SN_MODULUS = 2**32
# CONNACK refusals that mean "these credentials will never work": MQTT 3.1 return codes 4/5
# and the MQTT 5 reason codes paho maps them to (0x86 bad user/password, 0x87 not authorized).
_CONNACK_REFUSED_CREDENTIALS = frozenset({4, 5, 0x86, 0x87})
# Which frames may arrive on which kind of topic; anything else is dropped (§6).
_ACCEPTED: dict[TopicKind, tuple[type[Frame], ...]] = {
    TopicKind.APP: (AppPassthrough, AckedPassthrough, PassthroughAck, SetLogLevel),
    TopicKind.CLOUD_RESPONSE: (OnlineAppCount, OtaNotification, OtaCheckNotification),
    TopicKind.CLOUD_NOTIFICATION: (OtaNotification, OtaCheckNotification),
}
# A 0x0094 ack and the 0x04 report that follows it are two small writes: with Nagle on, the
# second waits for the broker's delayed ACK (~40 ms on Linux). Send each frame at once.
_SOCKET_OPTIONS = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)
_INCOMING_QUEUE_LIMIT = 1000
# What paho reports (through aiomqtt's disconnect error) when a PINGRESP never came.
_KEEPALIVE_TIMEOUT = ReasonCode(PacketTypes.DISCONNECT, "Keep alive timeout")


def _refused_credentials(rc: object) -> bool:
    value = getattr(rc, "value", rc)
    return isinstance(value, int) and value in _CONNACK_REFUSED_CREDENTIALS


def _timed_out(err: aiomqtt.MqttError) -> bool:
    """aiomqtt reports a missing CONNACK (and a TCP connect timeout) only in its message."""
    return "timed out" in str(err).lower()


async def _close_abandoned_login(client: aiomqtt.Client, login: asyncio.Future[Any]) -> None:
    """Close what a login cancelled by our caller opened (the entry unloading meanwhile).

    aiomqtt 2.5 cannot abort a login: cancelling its CONNACK wait leaves the socket open and
    cancels a future that its disconnect callback reads later, raising CancelledError inside
    an event loop callback. So the login runs on, shielded, to its own end (a CONNACK, a
    refusal, or `connect_timeout`), and then logs out as any login does.
    """
    try:
        await login
    except aiomqtt.MqttError as err:
        if not _timed_out(err):
            return  # refused or unreachable: paho has closed the socket
    # Connected, or TCP up without a CONNACK: aiomqtt's exit sends DISCONNECT and closes it.
    with contextlib.suppress(aiomqtt.MqttError):
        await client.__aexit__(None, None, None)


class M2MSession:
    """Keeps one Gizwits device connected to M2M and speaks the frame protocol."""

    def __init__(
        self,
        gservice: GServiceClient,
        *,
        did: str,
        passcode: str,
        product_key: str,
        timing: SessionTiming | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._gservice = gservice
        self._did = did
        self._passcode = passcode
        self._product_key = product_key
        self.timing = timing or SessionTiming()
        self._ssl_context = ssl_context
        self._client: aiomqtt.Client | None = None
        self._status = ConnectionStatus(ConnectionState.STOPPED)
        self._frame_listeners: Listeners[ReceivedFrame] = Listeners("Gizwits frame")
        self._status_listeners: Listeners[ConnectionStatus] = Listeners("Gizwits status")
        self._pending_acks: dict[int, asyncio.Future[PassthroughAck]] = {}
        self.commands = CommandRunner(self.timing.dedup_window)
        self._replies: set[asyncio.Task[None]] = set()
        self._next_sn = 1
        self.stats = SessionStats()

    # -- observing -----------------------------------------------------------------------

    @property
    def status(self) -> ConnectionStatus:
        """The current connection status."""
        return self._status

    @property
    def connected(self) -> bool:
        """True while logged in to the broker."""
        return self._status.state is ConnectionState.CONNECTED

    def add_frame_listener(self, listener: FrameListener) -> Callable[[], None]:
        """Call `listener` for every accepted frame; returns a function that removes it."""
        return self._frame_listeners.add(listener)

    def add_status_listener(self, listener: StatusListener) -> Callable[[], None]:
        """Call `listener` on every status change; returns a function that removes it."""
        return self._status_listeners.add(listener)

    def set_command_handler(self, handler: CommandHandler) -> Callable[[], None]:
        """Let `handler` answer every app command (0x0090/0x0093); returns its remover.

        Its answer goes back to the asking app only: inside the 0x0094 (same sn) for a
        0x0093, as a 0x0091 for a 0x0090. Without a handler a 0x0093 is acked at once with
        an empty 0x0094 (protocol.md §4). Frame listeners still see every command once.
        """
        return self.commands.set_handler(handler)

    async def wait_connected(self) -> None:
        """Return once the session is logged in (use with a timeout); raises
        M2MAuthenticationError when the cloud refuses its DID/passcode."""
        settled: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def check(status: ConnectionStatus) -> None:
            if settled.done():
                return
            if status.state is ConnectionState.CONNECTED:
                settled.set_result(None)
            elif status.state is ConnectionState.AUTH_FAILED:
                error = session_state.M2MAuthenticationError(status.last_error or "refused")
                settled.set_exception(error)

        check(self._status)
        remove = self.add_status_listener(check)
        try:
            await settled
        finally:
            remove()

    # -- running -------------------------------------------------------------------------

    async def run(self) -> None:
        """Stay connected until cancelled; raises M2MAuthenticationError when refused."""
        failures = 0
        lost = False
        try:
            while True:
                if lost:
                    delay, lost = self.timing.first_retry_delay(), False
                else:
                    delay = self.timing.backoff(failures)
                if delay:
                    self._set_status(ConnectionState.WAITING, failures, delay)
                    await asyncio.sleep(delay)
                self._set_status(ConnectionState.CONNECTING, failures)
                try:
                    await self._connect_once()
                except session_state.M2MAuthenticationError as err:
                    self._set_status(ConnectionState.AUTH_FAILED, failures, error=str(err))
                    raise
                except (aiomqtt.MqttError, GServiceError, session_state.M2MError, OSError) as err:
                    lost = self._status.state is ConnectionState.CONNECTED
                    failures = self._after_failure(failures, err)
                finally:
                    self._client = None
                    self._fail_pending_acks()
        finally:
            self.commands.cancel()
            for reply in list(self._replies):
                reply.cancel()
            if self._status.state is not ConnectionState.AUTH_FAILED:
                self._set_status(ConnectionState.STOPPED)

    def _after_failure(self, failures: int, err: BaseException) -> int:
        """Log a lost or failed connection once, and count it for the backoff."""
        if self._status.state is ConnectionState.CONNECTED:
            self.stats.connection_losses += 1
            _LOGGER.warning("Lost the Gizwits M2M connection (%s); reconnecting", err)
            # A successful CONNACK reset the count: retry at once (§2.8).
            failures = 0
        else:
            failures += 1
            _LOGGER.debug("Gizwits M2M connection attempt failed (%d in a row): %s", failures, err)
        self._status = replace(self._status, failures=failures, last_error=str(err))
        return failures

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[M2MEndpoint]:
        """Provision and log in once (§2.3, §2.5); yields the endpoint while logged in.

        Raises M2MAuthenticationError when GService or the broker refuses the DID/passcode
        (only a Gizwits credential error or CONNACK 4/5, §7), M2MTimeoutError when no CONNACK
        comes within `connect_timeout`, and M2MUnreachableError for anything else that a
        later retry may fix. Nothing is left open when it raises or the block ends. `run()`
        uses it for every attempt; a config flow can use it to prove the credentials.
        """
        async with self._login() as (endpoint, _):
            yield endpoint

    @contextlib.asynccontextmanager
    async def _login(self) -> AsyncIterator[tuple[M2MEndpoint, aiomqtt.Client]]:
        try:
            endpoint = await self._gservice.provision(self._did)
        except GServiceInvalidCredentials as err:
            raise session_state.M2MAuthenticationError(f"GService refused the DID: {err}") from err
        except GServiceError as err:
            raise session_state.M2MUnreachableError(f"provision failed: {err}") from err
        self._status = replace(self._status, endpoint=endpoint)
        client = MqttClient(
            endpoint.host,
            endpoint.port,
            identifier=self._did,
            username=self._did,
            password=self._passcode,
            protocol=aiomqtt.ProtocolVersion.V31,
            keepalive=self.timing.keepalive,
            clean_session=True,
            timeout=self.timing.connect_timeout,
            tls_context=self._ssl_context if endpoint.port == 8883 else None,
            max_queued_incoming_messages=_INCOMING_QUEUE_LIMIT,
            socket_options=_SOCKET_OPTIONS,
            logger=RedactingLogger(_MQTT_LOGGER_NAME, self._did),
        )
        login = asyncio.ensure_future(client.__aenter__())
        try:
            await asyncio.shield(login)
        except asyncio.CancelledError:
            await _close_abandoned_login(client, login)
            raise
        except aiomqtt.MqttError as err:
            if isinstance(err, MqttConnectError) and _refused_credentials(err.rc):
                raise session_state.M2MAuthenticationError(
                    f"M2M broker refused the login: {err}"
                ) from err
            if _timed_out(err):
                # TCP is up but no CONNACK came: aiomqtt leaves that socket open; its own
                # exit sends DISCONNECT and closes it (paho closes it itself on a refusal).
                with contextlib.suppress(aiomqtt.MqttError):
                    await client.__aexit__(None, None, None)
                raise session_state.M2MTimeoutError(
                    f"no CONNACK from the M2M broker: {err}"
                ) from err
            raise session_state.M2MUnreachableError(f"M2M login failed: {err}") from err
        try:
            yield endpoint, client
        finally:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    async def _connect_once(self) -> None:
        """One provision + connect + serve cycle; returns only by raising."""
        async with self._login() as (_, client):
            await self._serve(client)

    async def _serve(self, client: aiomqtt.Client) -> None:
        for topic in device_subscriptions(self._did, self._product_key):
            await client.subscribe(topic, qos=0)
        self._client = client
        self.stats.connects += 1
        if self.stats.connects > 1:
            _LOGGER.info("Gizwits M2M connection is back")
        self._set_status(ConnectionState.CONNECTED, 0)
        await self.request_online_apps()
        # Paho keeps the heartbeat (see SessionTiming.keepalive); a lost link ends this loop.
        await self._receive(client)
        raise session_state.M2MError("connection ended")  # pragma: no cover - never reached

    async def _receive(self, client: aiomqtt.Client) -> None:
        try:
            async for message in client.messages:
                await self._handle_message(str(message.topic), message.payload)
        except aiomqtt.MqttError as err:
            cause = err.__cause__
            if isinstance(cause, MqttCodeError) and cause.rc == _KEEPALIVE_TIMEOUT:
                self.stats.heartbeat_losses += 1
                raise session_state.HeartbeatLostError("no PINGRESP within the keepalive") from err
            raise

    # -- receiving -----------------------------------------------------------------------

    def _drop(self, reason: str, topic: str, detail: object) -> None:
        self.stats.drop(reason)
        _LOGGER.debug("Dropped a frame on %s (%s): %s", self._redact(topic), reason, detail)

    def _redact(self, topic: str) -> str:
        # The DID is a secret in logs.
        return topic.replace(self._did, "**REDACTED**")

    async def _handle_message(self, topic: str, payload: object) -> None:
        self.stats.frames_received += 1
        where = parse_received_topic(topic, self._did, self._product_key)
        if where is None:
            self._drop("unexpected_topic", topic, "not subscribed")
            return
        if not isinstance(payload, bytes | bytearray):
            self._drop("empty_payload", topic, payload)
            return
        try:
            frame = decode_frame(bytes(payload))
        except FrameError as err:
            self._drop(type(err).__name__, topic, err)
            return
        if not isinstance(frame, _ACCEPTED[where.kind]):
            self._drop("unexpected_command", topic, f"0x{frame.command:04X}")
            return
        acked = False
        app = where.app_client_id
        if isinstance(frame, AppPassthrough | AckedPassthrough) and app is not None:
            sn = frame.sn if isinstance(frame, AckedPassthrough) else None
            command = AppCommand(CommandSource.CLOUD, app, sn, frame.payload)
            if self.commands.busy:
                self._drop("commands_busy", topic, "too many commands in flight")
                return
            answer, duplicate = self.commands.submit(command)
            if answer.done() and not answer.cancelled() and answer.exception() is None:
                # Answered at once (no handler, or a repeat of a finished run): no waiting.
                self._answer_now(command, answer.result())
            else:
                # Sent from the answer's own completion: no task waits for it.
                answer.add_done_callback(partial(self._answer_when_done, command))
            if duplicate:
                self.stats.duplicates += 1
                return
            acked = sn is not None
        elif isinstance(frame, PassthroughAck):
            pending = self._pending_acks.get(frame.sn)
            if pending is not None and not pending.done():
                pending.set_result(frame)
        elif isinstance(frame, SetLogLevel) and app is not None:
            await self._send_quietly(app_topic(self._did, app), LogLevelConfirm())
        self._dispatch(ReceivedFrame(where.kind, app, frame, acked))

    def _spawn_reply(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)

    def _answer_when_done(self, command: AppCommand, answer: asyncio.Future[bytes | None]) -> None:
        """Send the handler's answer to the asking app: in the 0x0094, or as a 0x0091 (§4).

        Nothing when the handling was cancelled (the session stopped); a repeat waiting on the
        same answer only adds a callback, so it can never cancel the first run's handling.
        """
        if answer.cancelled() or answer.exception() is not None:
            return
        self._answer_now(command, answer.result())

    def _answer_now(self, command: AppCommand, payload: bytes | None) -> None:
        """Send an answer that is already there, without a task when the client can."""
        try:
            frame = self._answer_frame(command, payload)
            if frame is None:
                return
            topic = app_topic(self._did, command.app_client_id)
            if not self._publish_nowait(topic, frame):
                self._spawn_reply(self._send_quietly(topic, frame))
        except FrameError:  # an answer over 65535 bytes: the handler's bug
            _LOGGER.exception("Could not send the answer to an app command")
        except session_state.M2MNotConnectedError as err:
            _LOGGER.debug("Could not send the answer to an app command: %s", err)

    @staticmethod
    def _answer_frame(command: AppCommand, payload: bytes | None) -> Frame | None:
        """The 0x0094 (same sn) of a 0x0093, or the 0x0091 of a 0x0090 that has an answer."""
        if command.sn is not None:
            return PassthroughAck(command.sn, payload or b"")
        return DevicePassthrough(payload) if payload else None

    def _dispatch(self, received: ReceivedFrame) -> None:
        self._frame_listeners.notify(received)

    def _set_status(
        self,
        state: ConnectionState,
        failures: int = 0,
        retry_in: float | None = None,
        error: str | None = None,
    ) -> None:
        self._status = ConnectionStatus(
            state, failures, retry_in, error or self._status.last_error, self._status.endpoint
        )
        self._status_listeners.notify(self._status)

    def _fail_pending_acks(self) -> None:
        for future in self._pending_acks.values():
            if not future.done():
                future.set_exception(session_state.M2MNotConnectedError("connection lost"))
        self._pending_acks.clear()

    # -- sending -------------------------------------------------------------------------

    async def _publish(self, topic: str, frame: Frame) -> None:
        client = self._client
        if client is None:
            raise session_state.M2MNotConnectedError("not connected to Gizwits M2M")
        data = encode_frame(frame)
        try:
            await client.publish(topic, data, qos=0)
        except aiomqtt.MqttError as err:
            raise session_state.M2MNotConnectedError(str(err)) from err
        self.stats.frames_sent += 1

    def _publish_nowait(self, topic: str, frame: Frame) -> bool:
        """Publish without waiting when the client writes at once (or its writer does once
        the socket takes it); False when it cannot and `_publish` must be awaited instead.

        Raises M2MNotConnectedError when not connected.
        """
        client = self._client
        if client is None:
            raise session_state.M2MNotConnectedError("not connected to Gizwits M2M")
        if not isinstance(client, MqttClient) or not client.direct_publish:
            return False
        data = encode_frame(frame)
        try:
            client.publish_nowait(topic, data)
        except aiomqtt.MqttError as err:
            raise session_state.M2MNotConnectedError(str(err)) from err
        self.stats.frames_sent += 1
        return True

    async def _send_quietly(self, topic: str, frame: Frame) -> None:
        """Send a protocol reply; a lost connection is handled by the reconnect loop."""
        try:
            await self._publish(topic, frame)
        except session_state.M2MNotConnectedError as err:
            _LOGGER.debug("Could not send 0x%04X: %s", frame.command, err)

    async def send_passthrough(self, payload: bytes, app_client_id: str | None = None) -> None:
        """0x0091 to one app, or to every bound app."""
        await self._publish(app_topic(self._did, app_client_id), DevicePassthrough(payload))

    def send_passthrough_nowait(self, payload: bytes) -> bool:
        """0x0091 to every bound app without waiting, when the client can write at once;
        False when it cannot (await `send_passthrough`). Raises M2MNotConnectedError."""
        return self._publish_nowait(app_topic(self._did), DevicePassthrough(payload))

    async def send_acked_passthrough(
        self, payload: bytes, app_client_id: str | None = None
    ) -> PassthroughAck:
        """0x0093, retried with the same sn until acked (§4); returns the app's 0x0094."""
        sn = self._next_sn
        self._next_sn = (sn + 1) % SN_MODULUS
        frame = AckedPassthrough(sn, payload)
        future: asyncio.Future[PassthroughAck] = asyncio.get_running_loop().create_future()
        self._pending_acks[sn] = future
        topic = app_topic(self._did, app_client_id)
        try:
            for attempt in range(self.timing.ack_retries + 1):
                if attempt:
                    self.stats.ack_retries += 1
                await self._publish(topic, frame)
                done, _ = await asyncio.wait({future}, timeout=self.timing.ack_retry_interval)
                if done:
                    return future.result()
            self.stats.ack_timeouts += 1
            raise session_state.AckTimeoutError(f"no 0x0094 for sn {sn}")
        finally:
            self._pending_acks.pop(sn, None)

    async def send_log(self, level: LogLevel, tag: str, source: str, content: str) -> DeviceLog:
        """0x0012 to every bound app and the cloud; returns the frame as sent (truncated)."""
        frame = DeviceLog(level, tag, source, content)
        await self._publish(app_topic(self._did), frame)
        return frame

    async def request_online_apps(self) -> None:
        """0x020F: ask the cloud for the online app count (answered by 0x0210)."""
        await self._publish(SERVER_REQUEST_TOPIC, OnlineAppsRequest())
