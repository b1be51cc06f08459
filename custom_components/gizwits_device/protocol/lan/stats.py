"""Counters of the LAN service, for diagnostics."""

from dataclasses import dataclass

from ..stats import FrameStats

__all__ = ["LanStats"]


@dataclass(slots=True)
class LanStats(FrameStats):
    """One instance may be shared by the discovery responder and the TCP server."""

    discovery_requests: int = 0
    discovery_replies: int = 0
    datagrams_ignored: int = 0
    broadcasts_sent: int = 0
    # UDP status broadcasts (0x0091 | 06 <MAC> | report) sent, replaced by a newer report
    # while waiting for the rate limit, failed to send; heard from devices (ours included).
    status_broadcasts_sent: int = 0
    status_broadcasts_coalesced: int = 0
    status_broadcast_errors: int = 0
    status_broadcasts_heard: int = 0
    connections_accepted: int = 0
    connections_refused: int = 0
    passcode_requests: int = 0
    passcodes_refused: int = 0
    logins_accepted: int = 0
    logins_refused: int = 0
    logins_rate_limited: int = 0
    heartbeat_timeouts: int = 0
    login_timeouts: int = 0
    slow_clients_closed: int = 0
    commands_handled: int = 0
    duplicates: int = 0
    command_errors: int = 0
