"""The LAN service's edges (protocol.md §8): no interface to listen on, a second entry on
another interface rebinding the listener, the start-up broadcast failing or outliving its
entry. Loopback only."""

from __future__ import annotations

import asyncio
import errno
from ipaddress import IPv4Interface
import logging
import socket
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device import lan
from custom_components.gizwits_device.const import (
    CONF_LAN_INTERFACES,
    DOMAIN,
    ENTRY_MINOR_VERSION,
)
from emulator.broker import free_port
from tests.conftest import PRODUCT_KEY

from .helpers import TestDevice, entity_id, entry_data, state, wait_until
from .lan_helpers import bound_app, lan_service, vars_of

if TYPE_CHECKING:
    from emulator.server import Emulator


def _use_ports(monkeypatch: pytest.MonkeyPatch, ports: lan.LanPorts, **changes: Any) -> None:
    monkeypatch.setattr(lan, "LAN_PORTS", lan.LanPorts(**{**vars_of(ports), **changes}))


async def test_pinned_interfaces_replace_the_network_settings(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, lan_loopback: lan.LanPorts
) -> None:
    """LanPorts.interfaces (a harness without HA's network integration) wins over both the
    chosen adapter names and HA's enabled adapters."""
    _use_ports(monkeypatch, lan_loopback, interfaces=("127.0.0.2/8",))
    expected = {"127.0.0.2": IPv4Interface("127.0.0.2/8")}
    assert await lan.async_lan_interfaces(hass) == expected
    assert await lan.async_lan_interfaces(hass, ["lo"]) == expected


async def test_no_interface_keeps_the_cloud_and_says_why(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    lan_loopback: lan.LanPorts,
) -> None:
    """No IPv4 interface to listen on: the entry loads and logs in to the cloud, no TCP
    listener, the local network sensor off with the reason; no start-up broadcast."""
    _use_ports(monkeypatch, lan_loopback, interfaces=())
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED
    assert config_entry.runtime_data.coordinator.connected
    service = lan_service(hass)
    assert not service.listening
    diagnostics = service.diagnostics()
    assert diagnostics["errors"] == {"tcp": lan.NO_INTERFACE}
    assert diagnostics["tcp"] == {"hosts": [], "port": lan_loopback.tcp}
    network = state(hass, entity_id(hass, config_entry, "binary_sensor", "local_network"))
    assert network.state == "off"
    assert network.attributes["error"] == lan.NO_INTERFACE
    assert service.stats.broadcasts_sent == 0


async def test_an_entry_on_another_interface_rebinds_the_listener(
    hass: HomeAssistant,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    lan_loopback: lan.LanPorts,
) -> None:
    """A second entry choosing "lo2" adds 127.0.0.2 to the listener (rebound on both
    addresses, the first device still reachable); unloading it shrinks it back."""
    # One fixed port, as on a real LAN: with port 0 each address would get a port of its own.
    _use_ports(monkeypatch, lan_loopback, tcp=free_port())
    first = config_entry
    assert await hass.config_entries.async_setup(first.entry_id)
    await hass.async_block_till_done()
    service = lan_service(hass)
    assert service.diagnostics()["tcp"]["hosts"] == ["127.0.0.1"]
    mac = "A0B1C2D3E4F8"
    registered = emulator.state.register(PRODUCT_KEY, mac, "ZXCVBNMASD")
    await emulator.settle()
    second = MockConfigEntry(
        domain=DOMAIN,
        title=f"Gizwits {mac[-6:]}",
        minor_version=ENTRY_MINOR_VERSION,
        unique_id=f"{PRODUCT_KEY}_{mac}",
        data=entry_data(emulator, TestDevice(registered.did, "ZXCVBNMASD", PRODUCT_KEY, mac)),
        options={CONF_LAN_INTERFACES: ["lo2"]},
    )
    second.add_to_hass(hass)
    assert await hass.config_entries.async_setup(second.entry_id)
    await hass.async_block_till_done()

    assert service.listening
    assert service.diagnostics()["tcp"]["hosts"] == ["127.0.0.1", "127.0.0.2"]
    app = await bound_app(hass, first)  # the rebound listener still serves the first device
    await app.close()

    assert await hass.config_entries.async_unload(second.entry_id)
    assert service.listening
    assert service.diagnostics()["tcp"]["hosts"] == ["127.0.0.1"]
    app = await bound_app(hass, first)
    await app.close()


async def test_unloading_cancels_a_running_startup_broadcast(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    lan_loopback: lan.LanPorts,
) -> None:
    """An entry unloaded between two rounds of its start-up broadcast ends the broadcast
    (no 0x0005 for a device that is gone)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.255.255.255", 0))
    try:
        port = listener.getsockname()[1]
        # The second round would come an hour later: the unload always lands in between.
        _use_ports(
            monkeypatch,
            lan_loopback,
            broadcast=port,
            broadcast_count=2,
            broadcast_interval=3600.0,
        )
        assert await hass.config_entries.async_setup(config_entry.entry_id)
        service = lan_service(hass)
        await wait_until(lambda: service.stats.broadcasts_sent == 1)
        task = service._broadcasts[config_entry.entry_id]

        assert await hass.config_entries.async_unload(config_entry.entry_id)
        await asyncio.wait([task], timeout=10)
        assert task.cancelled()
        assert service._broadcasts == {}
        assert service.stats.broadcasts_sent == 1
    finally:
        listener.close()


async def test_a_failing_startup_broadcast_leaves_the_service_listening(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No socket for the broadcast (here: out of file descriptors): logged at debug level,
    the device still answers discovery and logins; nothing is left running."""
    loop = asyncio.get_running_loop()
    create_endpoint = loop.create_datagram_endpoint

    async def no_broadcast_socket(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("allow_broadcast"):
            raise OSError(errno.EMFILE, "Too many open files")
        return await create_endpoint(*args, **kwargs)

    monkeypatch.setattr(loop, "create_datagram_endpoint", no_broadcast_socket)
    caplog.set_level(logging.DEBUG, logger=lan.__name__)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    service = lan_service(hass)
    await wait_until(lambda: not service._broadcasts)

    assert "start-up broadcast failed: [Errno 24] Too many open files" in caplog.text
    # Not an error (an uncaught one: "Task exception was never retrieved"), not a warning.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in caplog.records if r.name == lan.__name__ and r.levelno > logging.DEBUG]
    assert service.stats.broadcasts_sent == 0
    assert service.listening
    app = await bound_app(hass, config_entry)
    await app.close()
