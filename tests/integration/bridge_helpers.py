"""The entity bridge's test products, helper entities and a P0-speaking app (fixtures: conftest)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.bridge import GizwitsBridge
from custom_components.gizwits_device.const import CONF_MAPPING, CONF_PRODUCT
from emulator.app import AppSimulator, Received
from emulator.p0 import Control, DataPointCodec, ReadReply, ReadRequest, StatusReport
from emulator.wire import DevicePassthrough
from tests.integration.helpers import wait_until
from tests.products import product_json

PLUG = product_json("smart_plug")
LIGHT = product_json("dimmable_light")

PLUG_MAPPING = {
    "switch": {"entity_id": "input_boolean.plug", "attribute": None},
    "countdown": {"entity_id": "input_number.countdown", "attribute": None},
    "power": {"entity_id": "input_number.power", "attribute": None},
}
LIGHT_MAPPING = {
    "on_off": {"entity_id": "light.lamp", "attribute": None},
    "brightness": {"entity_id": "light.lamp", "attribute": "brightness"},
    "mode": {"entity_id": "input_select.mode", "attribute": None},
}


async def setup_helper_entities(hass: HomeAssistant) -> None:
    """input_boolean/number/select helpers and a template light for the mappings."""
    assert await async_setup_component(
        hass,
        "input_boolean",
        {"input_boolean": {"plug": {"name": "Plug"}, "lamp_on": {"name": "Lamp on"}}},
    )
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                "countdown": {"min": 0, "max": 1440, "step": 1, "name": "Countdown"},
                "power": {"min": 0, "max": 4000, "step": 0.1, "name": "Power"},
                "lamp_level": {"min": 0, "max": 255, "step": 1, "name": "Lamp level"},
            }
        },
    )
    assert await async_setup_component(
        hass,
        "input_select",
        {"input_select": {"mode": {"options": ["Normal", "Reading", "Night", "Party"]}}},
    )
    assert await async_setup_component(
        hass,
        "template",
        {
            "template": [
                {
                    "light": [
                        {
                            "name": "Lamp",
                            "state": "{{ is_state('input_boolean.lamp_on', 'on') }}",
                            "level": "{{ states('input_number.lamp_level') | int }}",
                            "turn_on": {
                                "action": "input_boolean.turn_on",
                                "target": {"entity_id": "input_boolean.lamp_on"},
                            },
                            "turn_off": {
                                "action": "input_boolean.turn_off",
                                "target": {"entity_id": "input_boolean.lamp_on"},
                            },
                            "set_level": [
                                {
                                    "action": "input_number.set_value",
                                    "target": {"entity_id": "input_number.lamp_level"},
                                    "data": {"value": "{{ brightness }}"},
                                },
                                {
                                    "action": "input_boolean.turn_on",
                                    "target": {"entity_id": "input_boolean.lamp_on"},
                                },
                            ],
                        }
                    ]
                }
            ]
        },
    )
    await hass.async_block_till_done()


class P0App:
    """An emulator app plus the product's codec: decoded reports and replies.

    The app side reads and writes P0 with the emulator's own codec, so a mistake in the
    integration's P0 code fails these tests instead of being mirrored.
    """

    def __init__(self, app: AppSimulator, codec: DataPointCodec) -> None:
        self.app = app
        self.codec = codec

    def _is(self, kind: type, *, broadcast: bool) -> Callable[[Received], bool]:
        def match(item: Received) -> bool:
            if not isinstance(item.frame, DevicePassthrough):
                return False
            if broadcast != (item.topic == f"dev2app/{self.app.did}"):
                return False
            return isinstance(self.codec.decode(item.frame.payload), kind)

        return match

    async def report(
        self, predicate: Callable[[dict[str, Any]], bool] = lambda _: True
    ) -> dict[str, Any]:
        """The next 0x04/0x14 report (to all apps) whose values satisfy ``predicate``."""
        while True:
            item = await self.app.wait_for(self._is(StatusReport, broadcast=True))
            assert isinstance(item.frame, DevicePassthrough)
            message = self.codec.decode(item.frame.payload)
            assert isinstance(message, StatusReport)
            if predicate(dict(message.values)):
                return dict(message.values)

    def reports(self) -> list[dict[str, Any]]:
        """Every report received so far (consumed or not)."""
        found = []
        for item in self.app.received:
            if self._is(StatusReport, broadcast=True)(item):
                assert isinstance(item.frame, DevicePassthrough)
                message = self.codec.decode(item.frame.payload)
                assert isinstance(message, StatusReport)
                found.append(dict(message.values))
        return found

    async def control(self, **values: Any) -> None:
        await self.app.send_passthrough(self.codec.encode(Control(values)))

    async def read(self) -> dict[str, Any]:
        await self.app.send_passthrough(self.codec.encode(ReadRequest()))
        item = await self.app.wait_for(self._is(ReadReply, broadcast=False))
        assert item.topic == f"dev2app/{self.app.did}/{self.app.client_id}"
        assert isinstance(item.frame, DevicePassthrough)
        message = self.codec.decode(item.frame.payload)
        assert isinstance(message, ReadReply)
        return dict(message.values)


def bridge_of(entry: MockConfigEntry) -> GizwitsBridge:
    """The loaded entry's bridge (asserting there is one)."""
    found = entry.runtime_data.bridge
    assert found is not None
    return found


async def setup_bridge(
    hass: HomeAssistant, entry: MockConfigEntry, product: dict[str, Any], mapping: dict[str, Any]
) -> GizwitsBridge:
    """Helpers, then the entry set up with `product` and `mapping` in its options."""
    await setup_helper_entities(hass)
    hass.config_entries.async_update_entry(
        entry, options={CONF_PRODUCT: product, CONF_MAPPING: mapping}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    # The cloud's first 0x0210 (0 apps) has arrived: an app binding now is a 0 -> 1 rise.
    await wait_until(lambda: entry.runtime_data.coordinator.data.online_apps == 0)
    return bridge_of(entry)


async def options_step(hass: HomeAssistant, entry: MockConfigEntry, step: str) -> Any:
    """Open the options flow and choose `step` from its menu."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert step in result["menu_options"]
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": step}
    )
