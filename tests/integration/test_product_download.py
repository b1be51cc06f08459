"""Product step, *Download from Gizwits*: /app/datapoint with an App ID (protocol.md §5).

The emulator's GService serves the Open API route from its own store, refusing an unknown or
unassociated App ID the way Gizwits does (HTTP 400, ``{"error_code": 9003, "error_message":
"appid invalid", ...}``, gizwits-docs Cloud/openapi_apps). Servers the emulator never is (a web
page, a closed port, JSON that is no product) are real loopback servers (tests/gservice_servers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.const import CONF_BASE_URL, CONF_MAPPING, CONF_PRODUCT
from tests.conftest import PRODUCT_KEY
from tests.gservice_servers import closed_port, scripted_app, serve
from tests.integration.bridge_helpers import PLUG, options_step
from tests.integration.helpers import past_units, wait_until

if TYPE_CHECKING:
    from emulator.server import Emulator

OWN_PLUG = {**PLUG, "product_key": PRODUCT_KEY}
APP_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
OTHER_APP_ID = "ffffffffffffffffffffffffffffffff"


async def _download_form(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    result = await options_step(hass, entry, "product")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "product_download"}
    )
    assert result["step_id"] == "product_download"
    return result


async def _download(hass: HomeAssistant, result: Any, app_id: str) -> Any:
    return await hass.config_entries.options.async_configure(result["flow_id"], {"app_id": app_id})


async def test_downloaded_definition_is_used_and_the_app_id_is_not_stored(
    hass: HomeAssistant, setup_integration: MockConfigEntry, emulator: Emulator
) -> None:
    entry = setup_integration
    emulator.datapoints.publish(OWN_PLUG, [APP_ID])
    result = await _download_form(hass, entry)
    placeholders = result["description_placeholders"]
    assert placeholders["product_key"] == PRODUCT_KEY
    assert placeholders["server"] == emulator.gservice_url
    result = await _download(hass, result, APP_ID.upper())  # as the console shows it
    assert result["step_id"] == "mapping"
    assert result["description_placeholders"]["product"] == "Smart Plug"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    result = await past_units(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_PRODUCT] == OWN_PLUG
    assert entry.options[CONF_MAPPING] == {}
    assert APP_ID not in repr(entry.options).lower()
    assert APP_ID not in repr(entry.data).lower()
    await hass.async_block_till_done()
    await wait_until(lambda: entry.runtime_data.bridge is not None)


@pytest.mark.parametrize(
    ("published_to", "app_id"),
    [
        pytest.param([OTHER_APP_ID], APP_ID, id="unknown-app-id"),
        pytest.param([], APP_ID, id="no-app-id-associated"),
    ],
)
async def test_wrong_app_id_shows_gizwits_code_and_message(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    emulator: Emulator,
    published_to: list[str],
    app_id: str,
) -> None:
    emulator.datapoints.publish(OWN_PLUG, published_to)
    result = await _download_form(hass, setup_integration)
    result = await _download(hass, result, app_id)
    assert result["step_id"] == "product_download"
    assert result["errors"] == {"base": "download_refused"}
    assert result["description_placeholders"]["error_code"] == "9003"
    assert result["description_placeholders"]["error_message"] == "appid invalid"
    assert CONF_PRODUCT not in setup_integration.options


async def test_product_gizwits_does_not_serve(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Nothing published for the device's product key: Gizwits' 9002, shown as it says."""
    result = await _download_form(hass, setup_integration)
    result = await _download(hass, result, APP_ID)
    assert result["errors"] == {"base": "download_refused"}
    assert result["description_placeholders"]["error_code"] == "9002"
    assert result["description_placeholders"]["error_message"] == "product_key invalid"


async def test_app_id_format_is_checked_first(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    result = await _download_form(hass, setup_integration)
    result = await _download(hass, result, "not-an-app-id")
    assert result["errors"] == {"app_id": "invalid_app_id"}
    # The form keeps what was typed.
    (marker,) = result["data_schema"].schema
    assert marker.description["suggested_value"] == "not-an-app-id"


async def _answer_page(request: web.Request) -> web.StreamResponse:
    return web.Response(text="<html>It works!</html>", content_type="text/html")


async def _answer_not_found(request: web.Request) -> web.StreamResponse:
    return web.Response(status=404, text="<html>Not Found</html>", content_type="text/html")


async def _answer_no_product(request: web.Request) -> web.StreamResponse:
    return web.json_response({"name": "x", "entities": []})


@pytest.mark.parametrize(
    ("handler", "error", "detail"),
    [
        pytest.param(_answer_page, "download_not_json", "not a JSON object", id="web-page"),
        pytest.param(_answer_not_found, "download_unreachable", "HTTP 404", id="not-gizwits"),
        pytest.param(_answer_no_product, "invalid_product", "product_key", id="not-a-product"),
    ],
)
async def test_answers_that_are_no_definition(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    handler: Any,
    error: str,
    detail: str,
) -> None:
    async with serve(scripted_app(handler)) as url:
        hass.config_entries.async_update_entry(
            config_entry, data={**config_entry.data, CONF_BASE_URL: url}
        )
        result = await _download_form(hass, config_entry)
        result = await _download(hass, result, APP_ID)
    assert result["errors"] == {"base": error}
    assert detail in result["description_placeholders"]["error"]


async def test_unreachable_server(hass: HomeAssistant, config_entry: MockConfigEntry) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_BASE_URL: url}
    )
    result = await _download_form(hass, config_entry)
    result = await _download(hass, result, APP_ID)
    assert result["errors"] == {"base": "download_unreachable"}
    assert url in result["description_placeholders"]["error"]
