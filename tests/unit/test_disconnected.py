"""While the session is down: what the HA layer does with sends the library refuses.

The library refuses to publish without a login (M2MNotConnectedError, tested against the real
broker in tests/protocol/test_session.py); here the fake session refuses the same way.
"""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.const import CONF_MAPPING, CONF_PRODUCT, DOMAIN
from custom_components.gizwits_device.protocol import (
    ConnectionState,
    M2MNotConnectedError,
    P0Codec,
    ProductModel,
    StatusReport,
)
from tests.products import product_json

from .fake_session import FakeSessionControl

PLUG = product_json("smart_plug")


async def test_service_actions_say_the_session_is_down(
    hass: HomeAssistant, init_integration: MockConfigEntry, mock_session: FakeSessionControl
) -> None:
    """Sending while the M2M session is down is an error, not a silent drop."""
    refused = M2MNotConnectedError("not logged in")
    mock_session.session.send_passthrough.side_effect = refused
    mock_session.session.send_log.side_effect = refused
    mock_session.push_status(ConnectionState.WAITING, failures=1)
    entry_id = init_integration.entry_id
    for service, data in (
        ("send_passthrough", {"payload": "01"}),
        ("send_log", {"level": "info", "content": "x"}),
    ):
        with pytest.raises(HomeAssistantError) as err:
            await hass.services.async_call(
                DOMAIN, service, {"config_entry_id": entry_id, **data}, blocking=True
            )
        assert err.value.translation_key == "not_connected_send"


async def test_report_while_down_is_dropped_and_the_login_reports_it(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    mock_session: FakeSessionControl,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A report that cannot be sent is dropped; the next login's full report has the value."""
    caplog.set_level(logging.DEBUG, "custom_components.gizwits_device")
    hass.config_entries.async_update_entry(
        config_entry, options={CONF_PRODUCT: PLUG, CONF_MAPPING: {}}
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    bridge = config_entry.runtime_data.bridge
    assert bridge is not None
    send = mock_session.session.send_passthrough

    mock_session.push_status(ConnectionState.WAITING, failures=1)
    send.side_effect = M2MNotConnectedError("not logged in")
    bridge.device.points.report_now()  # what a change does once its debounce has passed
    await bridge.async_set_native("countdown", 7)
    await hass.async_block_till_done()
    assert "Could not send a Gizwits status" in caplog.text

    send.side_effect = None
    send.reset_mock()
    mock_session.push_status(ConnectionState.CONNECTED)
    await hass.async_block_till_done()
    assert send.await_count == 1
    report = P0Codec(ProductModel.from_json(PLUG)).decode(send.await_args.args[0])
    assert isinstance(report, StatusReport)
    assert report.values["countdown"] == 7
