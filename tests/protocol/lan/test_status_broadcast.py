"""The UDP status broadcast (protocol.md §8): ``0x0091 | 06 <MAC> | report`` to UDP 12414 on
the broadcast address, at the report rate limit. Received on loopback's broadcast address
(127.255.255.255) and decoded with the emulator's own LAN code."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from hypothesis import given, strategies as st
import pytest

from custom_components.gizwits_device.protocol.frame_fields import (
    MAX_PAYLOAD,
    FieldError,
    FrameError,
)
from custom_components.gizwits_device.protocol.lan import (
    DiscoveryResponder,
    LanStats,
    StatusBroadcast,
    StatusBroadcaster,
    encode_lan_frame,
)
from custom_components.gizwits_device.protocol.lan.messages import Heartbeat
from emulator.lan import StatusListener, parse_status_broadcast

from .helpers import WAIT

MAC = bytes.fromhex("5ccf7f0a1b2c")
BROADCAST = "127.255.255.255"
REPORT_ON = bytes.fromhex("04 01 00")
REPORT_OFF = bytes.fromhex("04 00 00")


@pytest.fixture
async def listener(socket_enabled: None) -> AsyncIterator[StatusListener]:
    async with await StatusListener.bind(BROADCAST, 0) as heard:
        yield heard


def test_datagram_layout_is_mac_length_mac_then_the_payload() -> None:
    """protocol.md §8: ``00000003 LL 00 0091 | 06 <MAC> | payload``."""
    datagram = StatusBroadcast(MAC, REPORT_ON).to_datagram()
    assert datagram == bytes.fromhex("00000003 0d 00 0091 06") + MAC + REPORT_ON
    assert StatusBroadcast.from_datagram(datagram) == StatusBroadcast(MAC, REPORT_ON)
    heard = parse_status_broadcast(datagram, ("127.0.0.1", 1))
    assert (heard.mac, heard.payload) == (MAC.hex(), REPORT_ON)


@pytest.mark.parametrize(
    "datagram",
    [
        encode_lan_frame(Heartbeat()),  # not a 0x0091
        bytes.fromhex("00000003 04 00 0091 06"),  # MAC missing
        bytes.fromhex("00000003 0a 00 0091 05") + MAC[:5] + b"\x04",  # 5-byte MAC
        b"garbage",
    ],
)
def test_other_datagrams_are_not_status_broadcasts(datagram: bytes) -> None:
    with pytest.raises(FrameError):
        StatusBroadcast.from_datagram(datagram)


@given(st.binary(max_size=64))
def test_from_datagram_never_crashes(data: bytes) -> None:
    """Bad input is a typed FrameError, never anything else (engineering standards)."""
    try:
        heard = StatusBroadcast.from_datagram(data)
    except FrameError:
        return
    assert StatusBroadcast.from_datagram(heard.to_datagram()) == heard


async def test_each_report_is_broadcast(listener: StatusListener) -> None:
    stats = LanStats()
    broadcaster = StatusBroadcaster(MAC, [BROADCAST], port=listener.port, stats=stats)
    try:
        broadcaster.send(REPORT_ON)
        heard = await listener.next(WAIT)
        assert (heard.mac, heard.payload) == (MAC.hex(), REPORT_ON)
        assert heard.address[0] == "127.0.0.1"
        assert stats.status_broadcasts_sent == 1
    finally:
        broadcaster.close()


async def test_reports_faster_than_the_rate_limit_coalesce_to_the_latest(
    listener: StatusListener,
) -> None:
    """At the report rate limit: the first goes at once, the ones within the interval wait and
    only the latest of them goes (the newest status wins)."""
    stats = LanStats()
    broadcaster = StatusBroadcaster(
        MAC, [BROADCAST], port=listener.port, min_interval=0.2, stats=stats
    )
    try:
        broadcaster.send(REPORT_ON)
        broadcaster.send(REPORT_OFF)
        broadcaster.send(REPORT_ON + b"\x01")
        assert stats.status_broadcasts_sent == 1
        assert (await listener.next(WAIT)).payload == REPORT_ON
        assert (await listener.next(WAIT)).payload == REPORT_ON + b"\x01"
        assert stats.status_broadcasts_sent == 2
        assert stats.status_broadcasts_coalesced == 1
    finally:
        broadcaster.close()


async def test_close_drops_a_waiting_report(listener: StatusListener) -> None:
    stats = LanStats()
    broadcaster = StatusBroadcaster(
        MAC, [BROADCAST], port=listener.port, min_interval=60.0, stats=stats
    )
    broadcaster.send(REPORT_ON)
    broadcaster.send(REPORT_OFF)  # waits for the rate limit
    broadcaster.close()
    broadcaster.close()
    assert (await listener.next(WAIT)).payload == REPORT_ON
    assert stats.status_broadcasts_sent == 1


async def test_no_address_sends_nothing_and_errors_are_counted(socket_enabled: None) -> None:
    stats = LanStats()
    quiet = StatusBroadcaster(MAC, [], stats=stats)
    quiet.send(REPORT_ON)
    assert quiet.addresses == ()
    # Port 0 cannot be sent to: the error is counted, the broadcaster keeps working.
    failing = StatusBroadcaster(MAC, [BROADCAST], port=0, stats=stats)
    try:
        failing.send(REPORT_ON)
        assert (stats.status_broadcasts_sent, stats.status_broadcast_errors) == (0, 1)
        # Too long for a LAN frame: dropped, counted, not sent.
        failing.min_interval = 0
        failing.send(b"\x04" * MAX_PAYLOAD)
        assert dict(stats.dropped_reasons) == {"status_broadcast_FieldError": 1}
    finally:
        failing.close()


def test_mac_must_be_six_bytes() -> None:
    with pytest.raises(FieldError):
        StatusBroadcast(MAC[:5], b"")


async def test_responder_hears_status_broadcasts_without_counting_them_as_garbage(
    socket_enabled: None,
) -> None:
    """Devices (this one included: the broadcast loops back) broadcast on the discovery port."""
    stats = LanStats()
    responder = DiscoveryResponder(list, hosts=(BROADCAST,), port=0, stats=stats)
    await responder.start()
    broadcaster = StatusBroadcaster(MAC, [BROADCAST], port=responder.port, stats=stats)
    try:
        broadcaster.send(REPORT_ON)
        async with asyncio.timeout(WAIT):
            while stats.status_broadcasts_heard == 0:
                await asyncio.sleep(0.01)
        assert stats.datagrams_ignored == 0
    finally:
        broadcaster.close()
        responder.stop()
