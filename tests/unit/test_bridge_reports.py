"""The bridge's status reports for HA-side changes, on the fake session; time moved by HA.

protocol.md §5 (MCU SDK): a burst of changes becomes one report after the debounce, at most six
a second. The report timer is the event loop's; `async_fire_time_changed` runs it when due, so
nothing here waits for real time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.gizwits_device.const import (
    CONF_MAPPING,
    CONF_PRODUCT,
    REPORT_DEBOUNCE,
)
from custom_components.gizwits_device.protocol import P0Codec, ProductModel, StatusReport
from tests.products import product_json

from .fake_session import FakeSessionControl

PLUG = product_json("smart_plug")
CODEC = P0Codec(ProductModel.from_json(PLUG))


def _reports(session: FakeSessionControl) -> list[dict[str, Any]]:
    """The values of every status report sent to all apps so far."""
    found = []
    for call in session.session.send_passthrough.await_args_list:
        message = CODEC.decode(call.args[0])
        assert isinstance(message, StatusReport)
        found.append(dict(message.values))
    return found


async def _set(hass: HomeAssistant, entity_id: str, value: float) -> None:
    await hass.services.async_call(
        "input_number", "set_value", {"entity_id": entity_id, "value": value}, blocking=True
    )


@pytest.fixture
async def plug_entry(
    hass: HomeAssistant, config_entry: MockConfigEntry, mock_session: FakeSessionControl
) -> MockConfigEntry:
    """The smart plug with countdown and power mapped to input_numbers, set up and connected."""
    assert await async_setup_component(
        hass,
        "input_number",
        {
            "input_number": {
                "countdown": {"min": 0, "max": 1440, "step": 1},
                "power": {"min": 0, "max": 4000, "step": 0.1},
            }
        },
    )
    hass.config_entries.async_update_entry(
        config_entry,
        options={
            CONF_PRODUCT: PLUG,
            CONF_MAPPING: {
                "countdown": {"entity_id": "input_number.countdown", "attribute": None},
                "power": {"entity_id": "input_number.power", "attribute": None},
            },
        },
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


@pytest.mark.usefixtures("plug_entry")
async def test_a_burst_of_changes_is_one_report(
    hass: HomeAssistant, mock_session: FakeSessionControl
) -> None:
    """Four changes inside the debounce: nothing until it ends, then one report of all."""
    assert len(_reports(mock_session)) == 1  # the full report when the bridge started
    for value in (10, 20, 30):
        await _set(hass, "input_number.countdown", value)
    await _set(hass, "input_number.power", 12.3)
    await hass.async_block_till_done()
    assert len(_reports(mock_session)) == 1

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=REPORT_DEBOUNCE * 2))
    await hass.async_block_till_done()
    reports = _reports(mock_session)
    assert len(reports) == 2
    assert reports[-1]["countdown"] == 30
    assert reports[-1]["power"] == pytest.approx(12.3)


@pytest.mark.usefixtures("plug_entry")
async def test_nothing_is_reported_when_nothing_changed(
    hass: HomeAssistant, mock_session: FakeSessionControl
) -> None:
    """Setting a value the apps already have sends no report."""
    await _set(hass, "input_number.countdown", 0)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=REPORT_DEBOUNCE * 2))
    await hass.async_block_till_done()
    assert len(_reports(mock_session)) == 1
