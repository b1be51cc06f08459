"""aiomqtt's client with two fixes (a write registration that outlives its socket, a
disconnect before the CONNACK that aiomqtt ignores) and a cheaper QoS 0 publish.

aiomqtt 2.5 registers the socket writer with `call_soon_threadsafe(add_writer, sock.fileno(),
…)`: the fd number is read at once, the registration runs on the next loop turn. When the
connection closes in between (the broker drops it, or a cancelled login closes it), the loop
is handed a closed fd, which Home Assistant logs as an "Exception in callback … Bad file
descriptor" error, or, were the number reused meanwhile, the fd of another socket. Here the fd
is read when the registration runs, and a socket closed by then is skipped.

This leans on aiomqtt internals (`_on_socket_register_write`, `_loop`, `_disconnected`), so it
is applied only when the installed aiomqtt still has exactly those: after an upgrade that
changes them the stock client runs unchanged (the race comes back as a logged error, the
session keeps working), and tests/protocol/test_mqtt_client.py fails to say so.

aiomqtt 2.5 also ignores a disconnect that comes before any CONNACK: its exit after a login
that timed out sends DISCONNECT and then waits its whole timeout for a disconnect it will
never record (a login bounded by `connect_timeout` took twice that to give up). And when the
CONNACK wait was cancelled, the same callback reads that cancelled future, which raises
CancelledError inside an event loop callback. Here such a disconnect is recorded as the end
of the connection. Leaning on `_on_disconnect`, `_connected` and `_disconnected`, it too
applies only while the installed aiomqtt has them.

A QoS 0 publish through aiomqtt costs more than the message: paho hands the packet to the
event loop's writer (a thread-safe wake-up of the loop, a writer registered and removed), and
after writing it builds a PUBACK ReasonCode and Properties (a table of every reason code, for
every message) only to call `on_publish`, on which aiomqtt's publish waits with a timeout.
Profiled under load, that was about a quarter of Home Assistant's busy time per app command.
This client publishes QoS 0 only: it writes the packet at once from the event loop (the
writer is registered only when the socket cannot take it all), and leaves `on_publish` unset:
a publish the socket did not take at once waits until the writer has written it. It too
leans on aiomqtt internals (`_client`, `_wait_for`) and applies only while they exist.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiomqtt
from aiomqtt.exceptions import MqttCodeError
from aiomqtt.types import PahoSocket, PayloadType
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

_INTERNALS = ("_on_socket_register_write", "_loop", "_disconnected")
_DISCONNECT_INTERNALS = ("_on_disconnect", "_connected", "_disconnected")
_PUBLISH_INTERNALS = (*_INTERNALS, "_client", "_wait_for")


class MqttClient(aiomqtt.Client):
    """`aiomqtt.Client` that never registers a writer for a closed socket, records a
    disconnect that comes before the CONNACK, and writes a QoS 0 publish at once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # True while our own publish runs paho's (on the event loop): write at once.
        self._writing_now = False
        # Publishes the socket did not take at once, until the writer has written them.
        self._unwritten: list[tuple[mqtt.MQTTMessageInfo, asyncio.Future[None]]] = []
        # Decided once: aiomqtt's own publish needs the on_publish this one unsets.
        self.direct_publish = all(hasattr(self, name) for name in _PUBLISH_INTERNALS)
        """True when the installed aiomqtt has the internals the direct publish uses."""
        if self.direct_publish:
            self._client.on_publish = None

    async def publish(  # type: ignore[override]
        self,
        /,
        topic: str,
        payload: PayloadType = None,
        qos: int = 0,
        retain: bool = False,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> None:
        """Publish at QoS 0; returns once paho has written the packet to the socket."""
        if not self.direct_publish:
            await super().publish(topic, payload, qos, retain, timeout=timeout)
            return
        if qos != 0:
            raise ValueError("this client publishes at QoS 0 only")
        info = self._publish_now(topic, payload, retain)
        if info.is_published():
            return
        written: asyncio.Future[None] = self._loop.create_future()
        self._unwritten.append((info, written))
        await self._wait_for(written, timeout)

    def publish_nowait(self, topic: str, payload: bytes) -> None:
        """Publish at QoS 0 without waiting: written now, or by the writer once the socket
        takes it. Raises MqttCodeError when paho refuses it (not connected); needs
        `direct_publish`."""
        self._publish_now(topic, payload, retain=False)

    def _publish_now(self, topic: str, payload: PayloadType, retain: bool) -> mqtt.MQTTMessageInfo:
        self._writing_now = True
        try:
            info = self._client.publish(topic, payload, 0, retain)
        finally:
            self._writing_now = False
        if info.rc != mqtt.MQTT_ERR_SUCCESS or (
            not info.is_published() and self._disconnected.done()
        ):
            cause = self._disconnected.exception() if self._disconnected.done() else None
            raise MqttCodeError(info.rc, "Could not publish message") from cause
        return info

    def _confirm_written(self) -> None:
        """Wake the publishes whose packet paho has written now."""
        waiting = []
        for info, written in self._unwritten:
            if written.done():
                continue
            if info.is_published():
                written.set_result(None)
            else:
                waiting.append((info, written))
        self._unwritten = waiting

    @property
    def race_fixed(self) -> bool:
        """True when the installed aiomqtt has the internals this fix replaces."""
        return all(hasattr(self, name) for name in _INTERNALS)

    @property
    def early_disconnect_fixed(self) -> bool:
        """True when the installed aiomqtt has the internals the early-disconnect fix uses."""
        return all(hasattr(self, name) for name in _DISCONNECT_INTERNALS)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None = None,
    ) -> None:
        if self.early_disconnect_fixed and not self._disconnected.done():
            connack = self._connected
            if not connack.done() or connack.cancelled():
                # No CONNACK (or nobody waits for one any more): the connection is over.
                self._disconnected.set_result(None)
                return
        super()._on_disconnect(client, userdata, flags, reason_code, properties)

    def _on_socket_register_write(
        self,
        client: mqtt.Client,
        userdata: Any,
        sock: PahoSocket,
    ) -> None:
        # Our own publish (direct_publish: the internals are there) skips the check.
        if not self._writing_now and not self.race_fixed:
            super()._on_socket_register_write(client, userdata, sock)
            return

        def write() -> None:
            # As aiomqtt: a failed write means the connection broke.
            try:
                client.loop_write()
            except Exception as exc:
                if not self._disconnected.done():
                    self._disconnected.set_exception(exc)
            if self._unwritten:
                self._confirm_written()

        def register() -> None:
            fileno = sock.fileno()
            if fileno >= 0:
                self._loop.add_writer(fileno, write)

        if self._writing_now:
            # Our publish, on the event loop: write now; wait for the socket only if it is full
            # (paho still counts the writer as registered, so it will not ask again).
            write()
            if client.want_write():
                register()
            return
        # paho may call this from the executor thread that runs connect().
        self._loop.call_soon_threadsafe(register)


class RedactingLogger(logging.Logger):
    """A logger for paho/aiomqtt that writes `secret` as **REDACTED**.

    Paho's DEBUG log quotes the client id and every topic, and the client id and the topics
    are the DID, which is a secret in logs. Records go to the registered logger of the same
    name (its level and handlers decide), with the secret already replaced.
    """

    def __init__(self, name: str, secret: str) -> None:
        super().__init__(name)
        # Not registered with the logging manager: one per session, freed with it.
        self.parent = logging.getLogger(name)
        self._secret = secret

    def makeRecord(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        """The record with its message formatted and the secret replaced."""
        record = super().makeRecord(*args, **kwargs)
        if self._secret:
            record.msg = record.getMessage().replace(self._secret, "**REDACTED**")
            record.args = None
        return record


__all__ = ["MqttClient", "RedactingLogger"]
