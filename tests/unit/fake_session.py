"""A stand-in for the library's M2M session, driven by the tests (see conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import MagicMock

from homeassistant.core import callback

from custom_components.gizwits_device.protocol import (
    AckedPassthrough,
    AppCommand,
    AppPassthrough,
    CommandSource,
    ConnectionState,
    ConnectionStatus,
    ReceivedFrame,
)
from custom_components.gizwits_device.protocol.frames import Frame
from custom_components.gizwits_device.protocol.topics import TopicKind

PRODUCT_KEY = "0123456789abcdef0123456789abcdef"
MAC = "A0B1C2D3E4F5"
DID = "fakeDid0123456789abcde"
APP = "app-client-1"


@dataclass
class FakeSessionControl:
    """The patched session and what the integration registered on it."""

    session: MagicMock
    frame_listeners: list[Callable[[ReceivedFrame], None]] = field(default_factory=list)
    status_listeners: list[Callable[[ConnectionStatus], None]] = field(default_factory=list)
    command_handlers: list[Callable[[AppCommand], Awaitable[bytes | None]]] = field(
        default_factory=list
    )
    # What the next `connect()` (the config flow's login) raises; None: it logs in.
    connect_error: BaseException | None = None

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[None]:
        """The library's one-shot login: raises `connect_error`, or logs in and out."""
        if self.connect_error is not None:
            raise self.connect_error
        yield

    @callback
    def push_frame(
        self, frame: Frame, app_client_id: str | None = APP, *, acked: bool = False
    ) -> None:
        """Deliver a frame as the session does after decoding it: an app's passthrough goes
        to the command runner (its listeners and handler) first, then to the frame listeners."""
        if isinstance(frame, AppPassthrough | AckedPassthrough) and app_client_id is not None:
            sn = frame.sn if isinstance(frame, AckedPassthrough) else None
            self.session.commands.submit(
                AppCommand(CommandSource.CLOUD, app_client_id, sn, frame.payload)
            )
        kind = TopicKind.APP if app_client_id else TopicKind.CLOUD_RESPONSE
        received = ReceivedFrame(kind, app_client_id, frame, acked)
        for listener in list(self.frame_listeners):
            listener(received)

    @callback
    def push_status(self, state: ConnectionState, **details: Any) -> None:
        """Change the session's status and tell the listeners, as the session does."""
        status = ConnectionStatus(state, **details)
        self.session.status = status
        self.session.connected = state is ConnectionState.CONNECTED
        for listener in list(self.status_listeners):
            listener(status)


def _registrar[T](registered: list[T]) -> Callable[[T], Callable[[], None]]:
    def register(item: T) -> Callable[[], None]:
        registered.append(item)
        return lambda: registered.remove(item)

    return register


def registrar[T](registered: list[T]) -> Callable[[T], Callable[[], None]]:
    """A side effect for add_*_listener: records the item, returns its remover."""

    def register(item: T) -> Callable[[], None]:
        registered.append(item)
        return lambda: registered.remove(item)

    return register
