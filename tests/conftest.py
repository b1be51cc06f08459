"""Fixtures shared by every test: a bare mosquitto broker and the full local Gizwits emulator.

Both need real loopback sockets, which pytest-homeassistant-custom-component blocks by default
(pytest-socket): they depend on pytest-socket's `socket_enabled`, which re-allows socket creation
while connections stay limited to 127.0.0.1. Neither depends on `hass`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
import ipaddress
import socket
from typing import TYPE_CHECKING, Any
from unittest.mock import Mock, PropertyMock, patch

import pytest
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.gizwits_device import lan
from emulator.broker import MosquittoBroker

if TYPE_CHECKING:
    from emulator.server import Emulator

# A syntactically plausible Gizwits product key (32 hex chars) known to the emulator fixture.
PRODUCT_KEY = "0123456789abcdef0123456789abcdef"

# The one user of the bare `mosquitto_broker` fixture; it may read and write every topic.
BROKER_USER = "tester"
BROKER_PASSWORD = "tester-password"


def _loopback_only(address: object) -> None:
    """Refuse an IP destination outside 127.0.0.0/8 / ::1 (a test must never leave the machine)."""
    if not isinstance(address, tuple) or not address:
        return  # AF_UNIX paths and the like
    host = address[0]
    if host in ("localhost", ""):
        return
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise AssertionError(f"a test sent to the host name {host!r}") from None
    if not ip.is_loopback:
        raise AssertionError(f"a test sent to {host}, outside the loopback range")


@pytest.fixture(autouse=True)
def no_traffic_off_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every UDP datagram and TCP connect of every test goes to loopback (no broadcast leaves)."""
    original_sendto = socket.socket.sendto
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def sendto(sock: socket.socket, data: Any, *args: Any) -> int:
        _loopback_only(args[-1])
        return original_sendto(sock, data, *args)

    def connect(sock: socket.socket, address: Any) -> None:
        _loopback_only(address)
        original_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        _loopback_only(address)
        return original_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "sendto", sendto)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.fixture
async def mosquitto_broker(socket_enabled: None) -> AsyncIterator[MosquittoBroker]:
    """A running mosquitto (MQTT 3.1 capable) on 127.0.0.1:<free port>, anonymous refused.

    One user: BROKER_USER / BROKER_PASSWORD with `topic readwrite #`. Add more with
    `await mosquitto_broker.add_user(name, password, acl_lines)`.
    """
    broker = MosquittoBroker()
    await broker.add_user(BROKER_USER, BROKER_PASSWORD, ["topic readwrite #"])
    async with broker:
        yield broker


@pytest.fixture
async def emulator(socket_enabled: None) -> AsyncIterator[Emulator]:
    """A running local Gizwits cloud: GService HTTP + mosquitto M2M + cloud agent.

    PRODUCT_KEY is a known product. `emulator.gservice_url` is the GService base URL,
    `emulator.broker` the MosquittoBroker, `emulator.state` the CloudState, `emulator.cloud`
    the cloud agent; `await emulator.app(did)` returns a bound AppSimulator.

    The broker enforces the real cloud's ACL. A publish it denied fails the test at teardown
    (the real cloud would have dropped it silently); a test that provokes one on purpose takes
    it with `await emulator.take_denied_publishes()`.
    """
    from emulator.server import Emulator

    async with Emulator(product_keys=[PRODUCT_KEY]) as emu:
        yield emu
        await fail_on_denied_publishes(emu)


async def fail_on_denied_publishes(emu: Emulator) -> None:
    """Fail the running test if the broker denied a publish it has not taken yet."""
    denied = await emu.take_denied_publishes()
    if denied:
        pytest.fail(
            "the broker denied publishes (topic not allowed for that client by the Gizwits "
            "ACL): " + "; ".join(f"{e.client_id} -> {e.topic!r}" for e in denied),
            pytrace=False,
        )


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Create every entity enabled, including those disabled by default (as HA core tests)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """HA's serializer (volatile ids and times as ANY); snapshots in ./snapshots."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


def _loopback_adapter(name: str, index: int, address: str) -> Mock:
    """What ifaddr reports for one interface (read by HA's network integration)."""
    adapter = Mock(nice_name=name, index=index)
    adapter.ips = [Mock(is_IPv6=False, ip=address, network_prefix=8)]
    return adapter


@pytest.fixture
def lan_loopback(
    monkeypatch: pytest.MonkeyPatch, hass_storage: dict[str, Any]
) -> Iterator[lan.LanPorts]:
    """The LAN service bound to loopback on free ports; never a datagram off the machine."""
    ports = lan.LanPorts(
        discovery=0,
        tcp=0,
        discovery_host="127.0.0.1",
        # No start-up broadcast unless a test listens for it (then on its own port).
        broadcast_count=0,
    )
    monkeypatch.setattr(lan, "LAN_PORTS", ports)
    # Home Assistant's network settings: "lo" enabled, "lo2" available.
    hass_storage["core.network"] = {
        "version": 1,
        "minor_version": 1,
        "key": "core.network",
        "data": {"configured_adapters": ["lo"]},
    }
    adapters = [
        _loopback_adapter("lo", 1, "127.0.0.1"),
        _loopback_adapter("lo2", 2, "127.0.0.2"),
    ]
    with (
        patch("homeassistant.components.network.util.ifaddr.get_adapters", return_value=adapters),
        patch(
            "homeassistant.components.network.util.async_get_source_ip", return_value="127.0.0.1"
        ),
    ):
        yield ports
