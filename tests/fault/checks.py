"""Checks shared by the fault tests: reconnect backoff, leaks, service-call counts."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass

from homeassistant.const import EVENT_CALL_SERVICE
from homeassistant.core import Event, HomeAssistant, callback
import psutil

from custom_components.gizwits_device.protocol import (
    ConnectionState,
    ConnectionStatus,
    SessionTiming,
)


def check_backoff(statuses: list[ConnectionStatus], timing: SessionTiming) -> int:
    """Assert protocol.md §2.8 on a recorded status sequence; return the outages seen.

    After a loss the first attempt comes at once, or after a random 0..reconnect_jitter (so
    endpoints dropped together do not all retry in the same instant); each failed attempt adds
    one to `failures` and waits `timing.backoff(failures)` (+step each time, capped) before the
    next; a CONNACK resets the count.
    """
    outages = 0
    previous: ConnectionStatus | None = None
    for status in statuses:
        after_login = previous is not None and previous.state is ConnectionState.CONNECTED
        if after_login and status.state is not ConnectionState.STOPPED:
            assert status.state in (ConnectionState.CONNECTING, ConnectionState.WAITING), status
            assert status.failures == 0, "the first retry after a loss is not a failure"
            outages += 1
        if status.state is ConnectionState.WAITING and status.failures == 0:
            assert after_login, "only the first retry after a loss waits with no failure"
            assert status.retry_in is not None
            assert 0 <= status.retry_in <= timing.backoff(0) + timing.reconnect_jitter
        elif status.state is ConnectionState.WAITING:
            assert status.retry_in == timing.backoff(status.failures)
            assert previous is not None
            assert previous.state is ConnectionState.CONNECTING
            assert status.failures == previous.failures + 1, "one more failure per attempt"
        after_wait = previous is not None and previous.state is ConnectionState.WAITING
        if status.state is ConnectionState.CONNECTING and after_wait:
            assert previous is not None
            assert status.failures == previous.failures
        if status.state is ConnectionState.CONNECTED:
            assert status.failures == 0
        previous = status
    return outages


@dataclass(frozen=True, slots=True)
class ResourceCount:
    """Open file descriptors, asyncio tasks and broker connections of this process."""

    fds: int
    tasks: int
    broker_connections: int

    @classmethod
    def now(cls, broker_port: int) -> ResourceCount:
        """Count them now (call from the event loop)."""
        process = psutil.Process()
        connections = sum(
            1
            for conn in process.net_connections(kind="tcp")
            if conn.status == psutil.CONN_ESTABLISHED
            and conn.raddr
            and conn.raddr.port == broker_port
        )
        return cls(process.num_fds(), len(asyncio.all_tasks()), connections)


class ServiceCallCounter:
    """Counts `domain.service` calls per value of one service-data key."""

    def __init__(self, hass: HomeAssistant, domain: str, service: str, key: str) -> None:
        self.counts: Counter[object] = Counter()

        @callback
        def _count(event: Event) -> None:
            data = event.data
            if data.get("domain") == domain and data.get("service") == service:
                value = data.get("service_data", {}).get(key)
                self.counts[round(float(value)) if value is not None else None] += 1

        self.remove = hass.bus.async_listen(EVENT_CALL_SERVICE, _count)
