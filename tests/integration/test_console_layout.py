"""A product stored in the console's bit layout runs in Home Assistant (protocol.md §5, amended).

The Jebao wave maker's real console export keeps every bit field at byte_offset 0 and counts
bit_offset across its 2-byte region (mode at bits 7-8). Stored as it is exported, it loads with
no repair, and the hand-built golden control (tests/vectors/p0.json) drives its entities.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.const import DOMAIN
from emulator.p0 import DataPointCodec
from emulator.wire import DevicePassthrough
from tests.integration.bridge_helpers import P0App, setup_bridge
from tests.integration.helpers import entity_id, state, wait_until
from tests.vectors import p0_vectors, product_text

if TYPE_CHECKING:
    from emulator.server import Emulator
    from tests.integration.helpers import TestDevice

WAVE_MAKER = json.loads(product_text("jebao_wave_maker"))
(CONTROL,) = [
    v for v in p0_vectors() if v.name == "Jebao wave maker: control, constant flow, night flow 40"
]


async def test_console_form_product_loads_without_a_repair(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    emulator: Emulator,
    device: TestDevice,
) -> None:
    # An earlier version refused this definition and raised the repair: loading clears it.
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"invalid_product_{config_entry.entry_id}",
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key="invalid_product",
        translation_placeholders={"title": config_entry.title, "error": "byte_offset"},
    )
    await setup_bridge(hass, config_entry, WAVE_MAKER, {})
    assert config_entry.runtime_data.bridge is not None
    assert (
        issue_registry.async_get_issue(DOMAIN, f"invalid_product_{config_entry.entry_id}") is None
    )
    mode = entity_id(hass, config_entry, "select", "point_mode")
    night_flow = entity_id(hass, config_entry, "number", "point_nightflow")
    app = P0App(await emulator.app(device.did), DataPointCodec.from_definition(WAVE_MAKER))
    try:
        await app.app.send_passthrough(CONTROL.data)  # the app's bytes, built by hand
        report = await app.report(lambda v: v["mode"] == "恒流造浪")
        assert report["nightflow"] == 40
        await wait_until(lambda: state(hass, mode).state == "恒流造浪")
        assert float(state(hass, night_flow).state) == 40
        # HA -> apps: mode 2 is the region's 9th bit alone, the lowest bit of its first byte.
        await hass.services.async_call(
            "select", "select_option", {"entity_id": mode, "option": "随机造浪"}, blocking=True
        )
        await app.app.wait_for(
            lambda item: (
                isinstance(item.frame, DevicePassthrough)
                and item.frame.payload[:3] == bytes.fromhex("04 0100")
            )
        )
        assert state(hass, mode).state == "随机造浪"
    finally:
        await app.app.close()
