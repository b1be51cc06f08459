"""Entity bridge engine edge cases and every native entity kind, against the emulator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.bridge_targets import parse_mapping
from custom_components.gizwits_device.bridge_values import (
    Target,
)
from custom_components.gizwits_device.const import CONF_MAPPING, CONF_PRODUCT, DOMAIN
from custom_components.gizwits_device.protocol import P0Error, ProductModel
from emulator.p0 import DataPointCodec
from tests.integration.bridge_helpers import LIGHT, PLUG, P0App, setup_bridge
from tests.integration.helpers import entity_id, state, wait_until
from tests.protocol.p0_models import BOILER

if TYPE_CHECKING:
    from emulator.server import Emulator
    from tests.integration.helpers import TestDevice


async def _app(emulator: Emulator, device: TestDevice, product: dict[str, Any]) -> P0App:
    return P0App(await emulator.app(device.did), DataPointCodec.from_definition(product))


async def test_every_native_entity_kind(
    hass: HomeAssistant, config_entry: MockConfigEntry, emulator: Emulator, device: TestDevice
) -> None:
    """Writable bool/enum → switch/select; read-only enum → enum sensor; binary → hex sensor."""
    await setup_bridge(hass, config_entry, BOILER, {})
    app = await _app(emulator, device, BOILER)
    try:
        await app.report()
        switch = entity_id(hass, config_entry, "switch", "point_Heating_Enable")
        select = entity_id(hass, config_entry, "select", "point_DHW_Function")
        brand = entity_id(hass, config_entry, "sensor", "point_Brand")
        serial = entity_id(hass, config_entry, "sensor", "point_Serial")
        fault = entity_id(hass, config_entry, "binary_sensor", "point_Burner_Fault")
        assert state(hass, brand).attributes["device_class"] == "enum"
        assert state(hass, brand).attributes["options"] == [f"b{i}" for i in range(7)]
        assert state(hass, brand).state == "b0"
        assert state(hass, serial).state == "000000"
        assert state(hass, serial).attributes["data_point"] == "Serial"
        assert state(hass, fault).state == "off"
        # HA → apps: a user turns the switch on and picks an option.
        await hass.services.async_call("switch", "turn_on", {"entity_id": switch}, blocking=True)
        await hass.services.async_call(
            "select", "select_option", {"entity_id": select, "option": "tank"}, blocking=True
        )
        report = await app.report(lambda v: v["DHW_Function"] == "tank")
        assert report["Heating_Enable"] is True
        assert state(hass, switch).state == "on"
        assert state(hass, select).state == "tank"
    finally:
        await app.app.close()


async def test_invalid_stored_product_raises_a_repair(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A stored product that no longer parses: loads without a bridge; a repair says why.

    Storing a valid product again (a reload) clears the repair.
    """
    hass.config_entries.async_update_entry(
        config_entry, options={CONF_PRODUCT: {**PLUG, "entities": []}, CONF_MAPPING: {}}
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.runtime_data.bridge is None
    assert "stored Gizwits product definition is invalid" in caplog.text
    issue = issue_registry.async_get_issue(DOMAIN, f"invalid_product_{config_entry.entry_id}")
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["title"] == config_entry.title
    assert "entities" in issue.translation_placeholders["error"]

    hass.config_entries.async_update_entry(
        config_entry, options={CONF_PRODUCT: PLUG, CONF_MAPPING: {}}
    )
    await hass.async_block_till_done()
    assert config_entry.runtime_data.bridge is not None
    assert (
        issue_registry.async_get_issue(DOMAIN, f"invalid_product_{config_entry.entry_id}") is None
    )


async def test_unreadable_stored_value_falls_back_to_default(
    hass: HomeAssistant, config_entry: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """A stored native value that does not fit the point is ignored (the default is used)."""
    hass_storage[f"{DOMAIN}.{config_entry.entry_id}.bridge"] = {
        "version": 1,
        "key": f"{DOMAIN}.{config_entry.entry_id}.bridge",
        "data": {"values": {"countdown": "soon", "switch": True}},
    }
    bridge = await setup_bridge(hass, config_entry, PLUG, {})
    assert bridge.device.state.values["countdown"] == 0
    assert bridge.device.state.values["switch"] is True


async def test_failing_service_call_rejects_the_control(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    emulator: Emulator,
    device: TestDevice,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A mapped entity whose service fails: the control is rejected, the status reported."""
    # A climate state nobody serves: climate.set_temperature does not exist.
    hass.states.async_set("climate.ghost", "heat", {"temperature": 20, "min_temp": 5})
    mapping = {"countdown": {"entity_id": "climate.ghost", "attribute": "temperature"}}
    bridge = await setup_bridge(hass, config_entry, PLUG, mapping)
    app = await _app(emulator, device, PLUG)
    try:
        await app.report(lambda v: v["countdown"] == 20)
        await app.control(countdown=30)
        report = await app.report()
        assert report["countdown"] == 20
        assert bridge.device.points.stats.rejected == 1
        assert "app control failed: climate.set_temperature" in caplog.text
    finally:
        await app.app.close()


class _BrokenCodec:
    def encode(self, message: object) -> bytes:
        raise P0Error("boom")


async def test_encode_bug_is_logged_not_sent(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Our own status failing to encode (a bug): logged, nothing sent, nothing counted."""
    bridge = await setup_bridge(hass, config_entry, PLUG, {})
    sent = bridge.device.points.stats.reports_sent
    monkeypatch.setattr(bridge.device.points, "codec", _BrokenCodec())
    bridge.device.points.report_now()
    assert "Could not encode a Gizwits status: boom" in caplog.text
    assert bridge.device.points.stats.reports_sent == sent


async def test_bad_read_flags_are_undecodable(
    hass: HomeAssistant, config_entry: MockConfigEntry, emulator: Emulator, device: TestDevice
) -> None:
    """A var_len read naming points the product lacks: dropped as undecodable, not rejected."""
    bridge = await setup_bridge(hass, config_entry, LIGHT, {})
    app = await _app(emulator, device, LIGHT)
    try:
        await app.report()
        await app.app.send_passthrough(bytes([0x12, 0x80]))
        await wait_until(lambda: bridge.device.points.stats.undecodable == 1)
        assert bridge.device.points.stats.rejected == 0
    finally:
        await app.app.close()


def test_parse_mapping_skips_what_cannot_be_mapped() -> None:
    """Not a mapping, unknown points, binary points, junk values, bare IDs: skipped."""
    model = ProductModel.from_json(BOILER)
    assert parse_mapping(model, ["switch.a"]) == {}
    mapping = parse_mapping(
        model,
        {
            "nope": {"entity_id": "switch.a", "attribute": None},
            "Serial": {"entity_id": "sensor.serial", "attribute": None},
            "Heating_Enable": 42,
            "Brand": "select.brand",  # a bare entity ID: the 1.1 shape, migrated at set-up
            "Room_Setpoint": {"entity_id": "climate.c", "attribute": None},
            "DHW_Function": {"entity_id": "select.dhw", "attribute": None},
        },
    )
    # An explicit attribute the point cannot follow becomes the automatic choice.
    assert mapping == {
        "Room_Setpoint": Target("climate.c", "temperature"),
        "DHW_Function": Target("select.dhw"),
    }
