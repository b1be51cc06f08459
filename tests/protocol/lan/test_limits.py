"""Failed-login rate limit, binding window and counters (no sockets)."""

import asyncio

import pytest

from custom_components.gizwits_device.protocol.lan import (
    BindingWindow,
    LanStats,
    LoginRateLimiter,
)
from custom_components.gizwits_device.protocol.lan.ratelimit import _MAX_ADDRESSES


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_expire_after_the_window() -> None:
    clock = FakeClock()
    limiter = LoginRateLimiter(max_failures=5, window=60.0, clock=clock)
    for _ in range(4):
        limiter.record_failure("10.0.0.2")
    assert not limiter.blocked("10.0.0.2")
    clock.now += 30
    limiter.record_failure("10.0.0.2")
    assert limiter.blocked("10.0.0.2")
    assert not limiter.blocked("10.0.0.3")  # per address
    clock.now += 30  # the first four are now a minute old
    assert not limiter.blocked("10.0.0.2")
    clock.now += 30
    assert not limiter.blocked("10.0.0.2")
    limiter.record_failure("10.0.0.2")  # starts afresh
    assert not limiter.blocked("10.0.0.2")


def test_memory_is_bounded() -> None:
    limiter = LoginRateLimiter(max_failures=1, clock=FakeClock())
    for n in range(_MAX_ADDRESSES + 10):
        limiter.record_failure(f"addr{n}")
    assert len(limiter._failures) == _MAX_ADDRESSES
    assert not limiter.blocked("addr0")  # the oldest was forgotten
    assert limiter.blocked(f"addr{_MAX_ADDRESSES + 9}")


async def test_binding_window_listeners(caplog: pytest.LogCaptureFixture) -> None:
    window = BindingWindow(duration=60)
    seen: list[bool] = []

    def broken(is_open: bool) -> None:
        raise RuntimeError("listener bug")

    window.add_listener(broken)
    remove = window.add_listener(seen.append)
    assert not window.is_open
    window.open()
    first = window.opened_at
    await asyncio.sleep(0)
    window.open()  # restart: no second "opened" notification
    assert window.opened_at is not None
    assert first is not None
    assert window.opened_at >= first
    window.close()
    window.close()
    remove()
    window.open()
    window.close()
    assert seen == [True, False]
    assert "Error in a binding window listener" in caplog.text


def test_stats_as_dict() -> None:
    stats = LanStats()
    stats.drop("x")
    stats.drop("x")
    data = stats.as_dict()
    assert data["frames_dropped"] == 2
    assert data["dropped_reasons"] == {"x": 2}
    assert data["logins_accepted"] == 0
