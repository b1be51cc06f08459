"""aiomqtt's client with two fixes: a write registration that outlives its socket, and a
disconnect before the CONNACK that aiomqtt ignores.

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
"""

from __future__ import annotations

import logging
from typing import Any

import aiomqtt
from aiomqtt.types import PahoSocket
import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

_INTERNALS = ("_on_socket_register_write", "_loop", "_disconnected")
_DISCONNECT_INTERNALS = ("_on_disconnect", "_connected", "_disconnected")


class MqttClient(aiomqtt.Client):
    """`aiomqtt.Client` that never registers a writer for a closed socket, and records a
    disconnect that comes before the CONNACK."""

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
        if not self.race_fixed:
            super()._on_socket_register_write(client, userdata, sock)
            return

        def write() -> None:
            # As aiomqtt: a failed write means the connection broke.
            try:
                client.loop_write()
            except Exception as exc:
                if not self._disconnected.done():
                    self._disconnected.set_exception(exc)

        def register() -> None:
            fileno = sock.fileno()
            if fileno >= 0:
                self._loop.add_writer(fileno, write)

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
