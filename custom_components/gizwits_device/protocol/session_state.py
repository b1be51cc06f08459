"""What the M2M session shows and how it is tuned: errors, timing, status, stats (§2, §4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
import random

from .errors import GizwitsError
from .frames import Frame
from .gservice_wire import M2MEndpoint
from .stats import FrameStats
from .topics import TopicKind


class M2MError(GizwitsError):
    """Base of the session's errors."""


class M2MAuthenticationError(M2MError):
    """The broker or GService refused this DID/passcode; retrying cannot help."""


class M2MNotConnectedError(M2MError):
    """A send was attempted while the session is not connected."""


class AckTimeoutError(M2MError):
    """A device-sent 0x0093 was not acked after every retry."""


class HeartbeatLostError(M2MError):
    """The broker stayed silent past the keepalive rule (protocol.md §2.7)."""


class M2MUnreachableError(M2MError):
    """GService or the M2M broker could not be reached or gave no usable answer; retry later."""


class M2MTimeoutError(M2MUnreachableError):
    """The broker took the TCP connection but sent no CONNACK in time."""


@dataclass(frozen=True, slots=True)
class SessionTiming:
    """Every interval of the session; the defaults are the protocol's, tests shrink them."""

    # Heartbeat (§2.5, §2.7), through paho's public `keepalive` argument only: paho sends a
    # PINGREQ once the link has been quiet for `keepalive` seconds and closes it when that
    # PINGRESP has not come `keepalive` seconds later. The protocol's rule — a PINGREQ every
    # 60 s, lost after two missed PINGRESPs in a row — declares a link lost once the broker
    # has been silent for 3 x 60 s (pings at +60 and +120, both unanswered at +180). Keepalive
    # 90 gives exactly that: silence of one or two heartbeat periods keeps the session, three
    # (two missed PINGRESPs) drop it. The value is also sent in CONNECT (<= 600, §2.5), and
    # one PINGREQ per 90 s stays under the server's limit of 60 per 180 s.
    keepalive: int = 90
    backoff_step: float = 10.0
    backoff_cap: float = 600.0
    connect_timeout: float = 10.0
    ack_retry_interval: float = 2.0
    ack_retries: int = 3
    # An exact repeat of an app's previous 0x0093 within this is a retransmission (§4).
    dedup_window: float = 10.0
    # The first retry after a lost connection waits a random 0..jitter s instead of 0, so many
    # endpoints dropped by one broker restart do not all reconnect in the same instant.
    reconnect_jitter: float = 2.0

    def backoff(self, failures: int) -> float:
        """Wait before the next attempt after `failures` failed ones: 0, 10, 20 … capped (§2.8)."""
        return min(failures * self.backoff_step, self.backoff_cap)

    def first_retry_delay(self) -> float:
        """Wait before the first attempt after a loss: backoff(0) plus a random jitter."""
        return self.backoff(0) + random.uniform(0, self.reconnect_jitter)  # noqa: S311 - not a secret


class ConnectionState(StrEnum):
    """Where the session is in its lifecycle."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    WAITING = "waiting"  # backing off before the next attempt
    AUTH_FAILED = "auth_failed"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """A snapshot for listeners and diagnostics."""

    state: ConnectionState
    failures: int = 0
    retry_in: float | None = None
    last_error: str | None = None
    endpoint: M2MEndpoint | None = None


@dataclass(frozen=True, slots=True)
class ReceivedFrame:
    """A decoded frame the device received, with where it came from."""

    kind: TopicKind
    app_client_id: str | None
    frame: Frame
    acked: bool = False


@dataclass(slots=True)
class SessionStats(FrameStats):
    """Counters for diagnostics."""

    duplicates: int = 0
    connects: int = 0
    connection_losses: int = 0
    heartbeat_losses: int = 0
    ack_retries: int = 0
    ack_timeouts: int = 0


type FrameListener = Callable[[ReceivedFrame], None]
type StatusListener = Callable[[ConnectionStatus], None]


__all__ = [
    "AckTimeoutError",
    "ConnectionState",
    "ConnectionStatus",
    "FrameListener",
    "HeartbeatLostError",
    "M2MAuthenticationError",
    "M2MError",
    "M2MNotConnectedError",
    "M2MTimeoutError",
    "M2MUnreachableError",
    "ReceivedFrame",
    "SessionStats",
    "SessionTiming",
    "StatusListener",
]
