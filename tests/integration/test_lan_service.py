"""The one LAN service of Home Assistant (protocol.md §8): shared by several entries, its
interfaces from the options or HA's network settings, a port in use or a duplicate passcode
raising repairs while the cloud keeps working, the start-up broadcast. Loopback only."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device import binary_sensor, button, lan, sensor
from custom_components.gizwits_device.const import (
    CONF_LAN_ENABLED,
    CONF_LAN_INTERFACES,
    DOMAIN,
    ENTRY_MINOR_VERSION,
)
from custom_components.gizwits_device.lan_entry import LAN_ENTITY_KEYS
from emulator.lan import DISCOVERED, LanApp, discover, parse_found, unpack
from tests.conftest import PRODUCT_KEY

from .helpers import TestDevice, entity_id, entry_data, state, wait_state, wait_until
from .lan_helpers import allow_binding, bound_app, connect, lan_service, vars_of

if TYPE_CHECKING:
    from emulator.server import Emulator


async def _add_entry(
    hass: HomeAssistant, emulator: Emulator, mac: str, passcode: str
) -> MockConfigEntry:
    """Another device registered in the emulator, set up as its own entry."""
    registered = emulator.state.register(PRODUCT_KEY, mac, passcode)
    await emulator.settle()
    device = TestDevice(registered.did, passcode, PRODUCT_KEY, mac)
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=f"Gizwits {mac[-6:]}",
        minor_version=ENTRY_MINOR_VERSION,
        unique_id=f"{PRODUCT_KEY}_{mac}",
        data=entry_data(emulator, device),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def test_several_entries_share_one_service(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """One listener for both devices: discovery answers once per device, a login goes to the
    device whose passcode it carries, 0x0006 answers for the most recently opened window."""
    first = setup_integration
    second = await _add_entry(hass, emulator, "A0B1C2D3E4F6", "QWERTYUIOP")
    service = lan_service(hass)
    found = await discover("127.0.0.1", service.discovery_port, expected=2)
    assert sorted(f.did for f in found) == sorted([device.did, second.data["did"]])

    async with await connect(hass) as app:
        assert await app.login("QWERTYUIOP")
        second_apps = entity_id(hass, second, "sensor", "local_apps")
        await wait_state(hass, second_apps, lambda s: s.state == "1")
        assert state(hass, entity_id(hass, first, "sensor", "local_apps")).state == "0"

    await allow_binding(hass, first)
    await allow_binding(hass, second)
    async with await connect(hass) as app:
        assert await app.request_passcode() == "QWERTYUIOP"
    await allow_binding(hass, first)  # re-opened: now the most recent
    async with await connect(hass) as app:
        assert await app.request_passcode() == device.passcode

    # Unloading one entry keeps the service for the other; the last one stops it.
    port = service.tcp_port
    assert await hass.config_entries.async_unload(second.entry_id)
    assert service.listening
    assert len(await discover("127.0.0.1", service.discovery_port, expected=1)) == 1
    assert await hass.config_entries.async_unload(first.entry_id)
    assert not service.listening
    with pytest.raises(ConnectionRefusedError):
        await LanApp.connect("127.0.0.1", port)


async def test_duplicate_passcode_refuses_lan_for_the_second_entry(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """Two entries with one passcode: LAN apps could not tell them apart, so the second does
    not answer on the LAN and gets a repair naming the first; its cloud side works."""
    second = await _add_entry(hass, emulator, "A0B1C2D3E4F7", device.passcode)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"lan_duplicate_passcode_{second.entry_id}")
    assert issue is not None
    assert issue.translation_placeholders == {
        "title": second.title,
        "other": setup_integration.title,
    }
    assert second.runtime_data.coordinator.connected
    network = state(hass, entity_id(hass, second, "binary_sensor", "local_network"))
    assert network.state == "off"
    assert "passcode" in network.attributes["error"]
    assert state(hass, entity_id(hass, second, "button", "allow_app_binding")).state == (
        STATE_UNAVAILABLE
    )
    found = await discover("127.0.0.1", lan_service(hass).discovery_port, expected=2)
    assert [f.did for f in found] == [device.did]
    # Turning LAN off for the second entry clears its repair.
    hass.config_entries.async_update_entry(second, options={CONF_LAN_ENABLED: False})
    await hass.async_block_till_done()
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"lan_duplicate_passcode_{second.entry_id}")
        is None
    )


async def test_port_in_use_raises_a_repair_and_the_cloud_keeps_working(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    lan_loopback: lan.LanPorts,
) -> None:
    """Another program on the TCP port: the entry loads and logs in to the cloud, a repair
    says which port, the LAN entities say why; a reload after the port is free listens."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    monkeypatch.setattr(lan, "LAN_PORTS", lan.LanPorts(**{**vars_of(lan_loopback), "tcp": port}))
    try:
        assert await hass.config_entries.async_setup(config_entry.entry_id)
        await hass.async_block_till_done()
        assert config_entry.runtime_data.coordinator.connected
        issue = ir.async_get(hass).async_get_issue(DOMAIN, "lan_tcp")
        assert issue is not None
        assert issue.translation_key == "lan_port_in_use"
        assert issue.translation_placeholders["port"] == str(port)
        assert issue.translation_placeholders["transport"] == "TCP"
        network = state(hass, entity_id(hass, config_entry, "binary_sensor", "local_network"))
        assert network.state == "off"
        assert str(port) in network.attributes["error"]
        button = entity_id(hass, config_entry, "button", "allow_app_binding")
        assert state(hass, button).state == STATE_UNAVAILABLE
    finally:
        holder.close()
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, "lan_tcp") is None
    assert lan_service(hass).listening
    network_id = entity_id(hass, config_entry, "binary_sensor", "local_network")
    assert state(hass, network_id).state == "on"


async def test_options_turn_lan_off_and_choose_interfaces(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """The options step: LAN off stops the service; the "lo2" interface only binds
    127.0.0.2 (the default follows HA's network settings: "lo", 127.0.0.1)."""
    entry = setup_integration
    service = lan_service(hass)
    assert service.diagnostics()["tcp"] == {"hosts": ["127.0.0.1"], "port": service.tcp_port}

    async def configure(data: dict[str, object]) -> None:
        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "local_network"}
        )
        assert result["type"] is FlowResultType.FORM
        labels = [
            o["label"] for o in result["data_schema"].schema[CONF_LAN_INTERFACES].config["options"]
        ]
        assert labels == ["lo (127.0.0.1)", "lo2 (127.0.0.2)"]
        result = await hass.config_entries.options.async_configure(result["flow_id"], data)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()

    await configure({CONF_LAN_ENABLED: False, CONF_LAN_INTERFACES: []})
    assert entry.runtime_data.lan is None
    assert not service.listening
    assert entry.runtime_data.coordinator.connected

    await configure({CONF_LAN_ENABLED: True, CONF_LAN_INTERFACES: ["lo2"]})
    assert service.listening
    assert service.diagnostics()["tcp"] == {"hosts": ["127.0.0.2"], "port": service.tcp_port}
    # Listening on 127.0.0.2 only (the test sandbox lets clients reach 127.0.0.1 alone).
    with pytest.raises(ConnectionRefusedError):
        await LanApp.connect("127.0.0.1", service.tcp_port)

    await configure({CONF_LAN_ENABLED: True, CONF_LAN_INTERFACES: []})
    app = await bound_app(hass, entry)
    await app.close()


def test_lan_entity_keys_are_every_lan_entity() -> None:
    """The registry clean-up knows every entity that exists only while LAN is on."""
    flagged = {
        *(("binary_sensor", d.key) for d in binary_sensor.DESCRIPTIONS if d.lan),
        *(("sensor", d.key) for d in sensor.DESCRIPTIONS if d.lan),
        ("sensor", sensor.BINDING_ENDS.key),
        ("button", button.ALLOW_APP_BINDING.key),
    }
    assert {(str(platform), key) for platform, key in LAN_ENTITY_KEYS} == flagged


async def test_lan_off_removes_its_entities_from_the_registry(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """LAN off in the options: its button and sensors leave the registry (no "unavailable"
    ghosts, as the native entities of a removed product); LAN on again brings them back."""
    entry = setup_integration
    registry = er.async_get(hass)

    def lan_entities() -> set[str | None]:
        return {
            registry.async_get_entity_id(str(platform), DOMAIN, f"{entry.unique_id}_{key}")
            for platform, key in LAN_ENTITY_KEYS
        }

    before = lan_entities()
    assert None not in before
    assert len(before) == len(LAN_ENTITY_KEYS)
    hass.config_entries.async_update_entry(
        entry, options={**entry.options, CONF_LAN_ENABLED: False}
    )
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.lan is None
    assert lan_entities() == {None}
    assert all(hass.states.get(entity) is None for entity in before if entity)
    # The device's other entities stay.
    assert state(hass, entity_id(hass, entry, "sensor", "online_apps"))

    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_LAN_ENABLED: True})
    await hass.async_block_till_done()
    assert lan_entities() == before
    assert state(hass, entity_id(hass, entry, "sensor", "local_apps")).state == "0"


async def test_startup_broadcast_on_the_enabled_interface(
    hass: HomeAssistant,
    device: TestDevice,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    lan_loopback: lan.LanPorts,
) -> None:
    """0x0005 with the discovery body, to the broadcast address of each enabled interface
    (lo: 127.0.0.1/8 → 127.255.255.255), `broadcast_count` times (protocol.md §8)."""
    received: asyncio.Queue[bytes] = asyncio.Queue()

    class Listener(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
            received.put_nowait(data)

    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        Listener, local_addr=("127.255.255.255", 0), family=socket.AF_INET
    )
    try:
        port = transport.get_extra_info("sockname")[1]
        ports = {**vars_of(lan_loopback), "broadcast": port, "broadcast_count": 2}
        monkeypatch.setattr(lan, "LAN_PORTS", lan.LanPorts(**ports))  # type: ignore[arg-type]
        assert await hass.config_entries.async_setup(config_entry.entry_id)
        for _ in range(2):
            async with asyncio.timeout(10):
                buffer = bytearray(await received.get())
            frame = unpack(buffer)
            assert frame is not None
            command, body = frame
            assert command == DISCOVERED + 1  # 0x0005
            assert parse_found(body, ("127.0.0.1", 0)).did == device.did
        await wait_until(lambda: lan_service(hass).stats.broadcasts_sent == 2)
    finally:
        transport.close()
