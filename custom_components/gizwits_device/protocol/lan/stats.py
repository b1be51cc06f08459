"""Counters of the LAN service, for diagnostics."""

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["LanStats"]


@dataclass(slots=True)
class LanStats:
    """One instance may be shared by the discovery responder and the TCP server."""

    discovery_requests: int = 0
    discovery_replies: int = 0
    datagrams_ignored: int = 0
    broadcasts_sent: int = 0
    connections_accepted: int = 0
    connections_refused: int = 0
    passcode_requests: int = 0
    passcodes_refused: int = 0
    logins_accepted: int = 0
    logins_refused: int = 0
    logins_rate_limited: int = 0
    heartbeat_timeouts: int = 0
    slow_clients_closed: int = 0
    frames_received: int = 0
    frames_sent: int = 0
    frames_dropped: int = 0
    dropped_reasons: Counter[str] = field(default_factory=Counter)
    commands_handled: int = 0
    duplicates: int = 0
    command_errors: int = 0

    def drop(self, reason: str) -> None:
        """Count one dropped frame or datagram under `reason`."""
        self.frames_dropped += 1
        self.dropped_reasons[reason] += 1

    def as_dict(self) -> dict[str, object]:
        """Plain data for diagnostics."""
        data: dict[str, object] = {
            name: getattr(self, name) for name in self.__slots__ if name != "dropped_reasons"
        }
        data["dropped_reasons"] = dict(self.dropped_reasons)
        return data
