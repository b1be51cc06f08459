"""Entity bridge options flow: product upload (file_upload) and the attribute step, end to end."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from aiohttp import FormData
from homeassistant.components import file_upload
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.gizwits_device import bridge_flow
from custom_components.gizwits_device.const import CONF_MAPPING, CONF_PRODUCT
from emulator.p0 import DataPointCodec
from tests.integration.bridge_helpers import (
    LIGHT,
    PLUG,
    P0App,
    bridge_of,
    options_step,
    setup_bridge,
    setup_helper_entities,
)
from tests.integration.helpers import (
    entity_id,
    past_product_checks,
    past_units,
    state,
    wait_until,
)

if TYPE_CHECKING:
    from emulator.server import Emulator
    from tests.integration.helpers import TestDevice


@pytest.fixture(autouse=True)
def own_upload_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """file_upload's temp dir has a fixed name: one per test process (pytest -n runs several)."""
    monkeypatch.setattr(file_upload, "TEMP_DIR_NAME", f"gizwits-test-upload-{os.getpid()}")


async def _upload(
    hass_client: ClientSessionGenerator, content: bytes, name: str = "product.json"
) -> str:
    """POST the file to HA's real /api/file_upload endpoint; its file ID."""
    client = await hass_client()
    form = FormData()
    form.add_field("file", content, filename=name, content_type="application/json")
    response = await client.post("/api/file_upload", data=form)
    assert response.status == 200, await response.text()
    file_id: str = (await response.json())["file_id"]
    return file_id


async def _product_form(
    hass: HomeAssistant, entry: MockConfigEntry, source: str = "product_upload"
) -> str:
    """The options flow at the form of one product source (picked in the product menu)."""
    result = await options_step(hass, entry, "product")
    assert result["step_id"] == "product"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": source}
    )
    assert result["step_id"] == source
    flow_id: str = result["flow_id"]
    return flow_id


async def _submit(hass: HomeAssistant, flow_id: str, **data: Any) -> Any:
    result = await hass.config_entries.options.async_configure(flow_id, data)
    return await past_product_checks(hass, result)


# -- upload ----------------------------------------------------------------------------------


async def test_uploaded_product_file_is_used(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    """A console export uploaded through /api/file_upload becomes the product (then deleted)."""
    entry = setup_integration
    await setup_helper_entities(hass)
    flow_id = await _product_form(hass, entry)
    # A byte-order mark (Windows editors) is accepted.
    file_id = await _upload(hass_client, b"\xef\xbb\xbf" + json.dumps(PLUG).encode())
    result = await _submit(hass, flow_id, product_file=file_id)
    assert result["step_id"] == "mapping"
    assert "`power` (Power): uint16 0.0…4000.0" in result["description_placeholders"]["read_only"]
    result = await hass.config_entries.options.async_configure(
        flow_id, {"switch": "input_boolean.plug"}
    )
    result = await past_units(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_PRODUCT] == PLUG
    assert entry.options[CONF_MAPPING] == {
        "switch": {"entity_id": "input_boolean.plug", "attribute": None}
    }
    # The upload was consumed: the same file ID is gone.
    flow_id = await _product_form(hass, entry)
    result = await _submit(hass, flow_id, product_file=file_id)
    assert result["errors"] == {"base": "upload_failed"}
    assert result["description_placeholders"]["error"] == "File does not exist"
    # The form does not offer the consumed file again.
    assert all(
        (marker.description or {}).get("suggested_value") is None
        for marker in result["data_schema"].schema
        if str(marker) == "product_file"
    )
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    "case",
    [
        pytest.param((b"{not json", "invalid_product", "not JSON"), id="not-json"),
        pytest.param((b"[1, 2]", "invalid_product", "must be an object"), id="not-object"),
        pytest.param(
            (json.dumps({**PLUG, "entities": []}).encode(), "invalid_product", "entities"),
            id="no-entities",
        ),
        pytest.param((b"\xff\xfe{}", "upload_failed", "not UTF-8 text"), id="not-utf8"),
        pytest.param(
            (
                b" " * (bridge_flow.MAX_PRODUCT_FILE + 1),
                "file_too_large",
                str(bridge_flow.MAX_PRODUCT_FILE + 1),
            ),
            id="too-large",
        ),
    ],
)
async def test_bad_uploaded_file_is_named(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    case: tuple[bytes, str, str],
) -> None:
    """A bad file is rejected with a message naming the problem; the options stay unchanged."""
    content, error, detail = case
    entry = setup_integration
    flow_id = await _product_form(hass, entry)
    result = await _submit(hass, flow_id, product_file=await _upload(hass_client, content))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert detail in result["description_placeholders"]["error"]
    assert result["description_placeholders"]["max_kib"] == "256"
    assert CONF_PRODUCT not in entry.options


def _field_names(result: Any) -> list[str]:
    return [str(marker) for marker in result["data_schema"].schema]


async def test_one_source_choice_with_its_own_fields(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """The product step is one Source choice; each source's form has only its own field."""
    entry = setup_integration
    result = await options_step(hass, entry, "product")
    assert result["type"] is FlowResultType.MENU
    # Nothing loaded yet: nothing to keep or remove.
    assert result["menu_options"] == [
        "product_paste",
        "product_upload",
        "product_example",
        "product_download",
    ]
    hass.config_entries.options.async_abort(result["flow_id"])
    fields = {
        "product_paste": ["product_json"],
        "product_upload": ["product_file"],
        "product_example": ["example"],
        "product_download": ["app_id"],
    }
    for source, names in fields.items():
        flow = await options_step(hass, entry, "product")
        form = await hass.config_entries.options.async_configure(
            flow["flow_id"], {"next_step_id": source}
        )
        assert _field_names(form) == names
        hass.config_entries.options.async_abort(flow["flow_id"])
    # An example needs no typing: the first one is preselected.
    flow_id = await _product_form(hass, entry, "product_example")
    result = await _submit(hass, flow_id, example="dimmable_light")
    assert result["step_id"] == "mapping"
    hass.config_entries.options.async_abort(flow_id)
    await hass.async_block_till_done()


async def test_pasted_definition_errors_stay_in_the_form(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """A bad paste keeps the text and names the problem; a good one goes on to the mapping."""
    flow_id = await _product_form(hass, setup_integration, "product_paste")
    result = await _submit(hass, flow_id, product_json="{not json")
    assert result["step_id"] == "product_paste"
    assert result["errors"] == {"base": "invalid_product"}
    assert "not JSON" in result["description_placeholders"]["error"]
    assert _suggested_values(result) == {"product_json": "{not json"}
    result = await _submit(hass, flow_id, product_json=json.dumps(PLUG))
    assert result["step_id"] == "mapping"
    hass.config_entries.options.async_abort(flow_id)
    await hass.async_block_till_done()


def _suggested_values(result: Any) -> dict[str, Any]:
    return {
        str(marker): marker.description["suggested_value"]
        for marker in result["data_schema"].schema
        if marker.description and "suggested_value" in marker.description
    }


async def test_keep_and_remove_with_a_loaded_product(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """With a product loaded the menu also offers keep (its mapping) and remove (all of it)."""
    await setup_bridge(hass, config_entry, PLUG, {})
    result = await options_step(hass, config_entry, "product")
    assert result["menu_options"][0] == "mapping"
    assert result["menu_options"][-1] == "product_remove"
    assert result["description_placeholders"] == {"current": "Smart Plug"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "product_remove"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_PRODUCT not in config_entry.options
    await hass.async_block_till_done()
    await wait_until(lambda: config_entry.runtime_data.bridge is None)


# -- attribute choice ------------------------------------------------------------------------


def _fields(result: Any) -> dict[str, Any]:
    return {str(marker): marker for marker in result["data_schema"].schema}


async def test_attribute_step_for_a_light(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    emulator: Emulator,
    device: TestDevice,
) -> None:
    """Light points get an attribute step (suggested default); unsupported choices are refused."""
    entry = setup_integration
    await setup_helper_entities(hass)
    flow_id = await _product_form(hass, entry, "product_example")
    result = await _submit(hass, flow_id, example="dimmable_light")
    assert result["step_id"] == "mapping"
    result = await hass.config_entries.options.async_configure(
        flow_id,
        {
            "on_off": "light.lamp",
            "brightness": "light.lamp",
            "color_temp": "light.lamp",
            "mode": "input_select.mode",
        },
    )
    # on_off (the state) and mode (a select) have one choice: only the uint points are asked.
    assert result["step_id"] == "attributes"
    fields = _fields(result)
    assert fields.keys() == {"brightness", "color_temp"}
    assert fields["brightness"].default() == "brightness"
    assert fields["color_temp"].default() == "color_temp_kelvin"
    assert "`color_temp` → light.lamp" in result["description_placeholders"]["points"]
    # The template lamp only dims: colour temperature is not supported.
    result = await hass.config_entries.options.async_configure(
        flow_id, {"brightness": "brightness", "color_temp": "color_temp_kelvin"}
    )
    assert result["errors"] == {"color_temp": "attribute_unsupported"}
    # A choice outside the offered list is refused by the form itself.
    with pytest.raises(Exception, match="Schema validation failed"):
        await hass.config_entries.options.async_configure(
            flow_id, {"brightness": "temperature", "color_temp": "brightness"}
        )
    result = await hass.config_entries.options.async_configure(
        flow_id, {"brightness": "brightness", "color_temp": "brightness"}
    )
    result = await past_units(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_MAPPING]["color_temp"] == {
        "entity_id": "light.lamp",
        "attribute": "brightness",
    }
    await hass.async_block_till_done()
    await wait_until(lambda: entry.runtime_data.bridge is not None)
    # The engine uses the stored choice: color_temp (2700…6500 K) follows the brightness.
    app = P0App(await emulator.app(device.did), DataPointCodec.from_definition(LIGHT))
    try:
        await hass.services.async_call(
            "light", "turn_on", {"entity_id": "light.lamp", "brightness": 255}, blocking=True
        )
        report = await app.report(lambda v: v["brightness"] == 100)
        assert report["color_temp"] == 6500
    finally:
        await app.app.close()


def _climate(hass: HomeAssistant, **attributes: Any) -> list[ServiceCall]:
    """A climate entity (a plain state) whose preset/temperature services update it."""
    base = {
        "hvac_modes": ["off", "heat"],
        "preset_modes": ["normal", "reading", "night", "party"],
        "preset_mode": "normal",
        "temperature": 20,
        "current_temperature": 18,
        "min_temp": 7,
        "max_temp": 35,
        **attributes,
    }
    hass.states.async_set("climate.thermostat", "heat", base)
    calls: list[ServiceCall] = []

    @callback
    def handle(call: ServiceCall) -> None:
        calls.append(call)
        current = state(hass, "climate.thermostat")
        data = {k: v for k, v in call.data.items() if k != "entity_id"}
        hass.states.async_set("climate.thermostat", current.state, {**current.attributes, **data})

    for service in ("set_preset_mode", "set_temperature"):
        hass.services.async_register("climate", service, handle)
    return calls


async def test_attribute_step_for_a_climate(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    emulator: Emulator,
    device: TestDevice,
) -> None:
    """A writable point on a read-only attribute is refused; a preset choice drives the engine."""
    entry = setup_integration
    await setup_helper_entities(hass)
    calls = _climate(hass)
    flow_id = await _product_form(hass, entry, "product_example")
    result = await _submit(hass, flow_id, example="dimmable_light")
    result = await hass.config_entries.options.async_configure(
        flow_id, {"brightness": "climate.thermostat", "mode": "climate.thermostat"}
    )
    assert result["step_id"] == "attributes"
    fields = _fields(result)
    # brightness is writable: the target temperature; mode: the HVAC mode (the state).
    assert fields["brightness"].default() == "temperature"
    assert fields["mode"].default() == "state"
    result = await hass.config_entries.options.async_configure(
        flow_id, {"brightness": "current_temperature", "mode": "fan_mode"}
    )
    assert result["errors"] == {
        "brightness": "attribute_read_only",
        "mode": "attribute_unsupported",  # no fan_modes on this climate
    }
    # The form keeps the user's (rejected) picks as defaults.
    assert _fields(result)["mode"].default() == "fan_mode"
    result = await hass.config_entries.options.async_configure(
        flow_id, {"brightness": "temperature", "mode": "preset_mode"}
    )
    result = await past_units(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_MAPPING] == {
        "brightness": {"entity_id": "climate.thermostat", "attribute": "temperature"},
        "mode": {"entity_id": "climate.thermostat", "attribute": "preset_mode"},
    }
    await hass.async_block_till_done()
    await wait_until(lambda: entry.runtime_data.bridge is not None)
    app = P0App(await emulator.app(device.did), DataPointCodec.from_definition(LIGHT))
    try:
        await app.control(mode="party", brightness=22)
        report = await app.report(lambda v: v["mode"] == "party")
        assert report["brightness"] == 22
        assert {c.service for c in calls} == {"set_preset_mode", "set_temperature"}
        assert state(hass, "climate.thermostat").attributes["preset_mode"] == "party"
        # Reopening the mapping shows the stored entities and then the stored attributes.
        result = await options_step(hass, entry, "mapping")
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"brightness": "climate.thermostat", "mode": "climate.thermostat"}
        )
        assert _fields(result)["mode"].default() == "preset_mode"
        hass.config_entries.options.async_abort(result["flow_id"])
    finally:
        await app.app.close()


async def test_mapping_without_attribute_keeps_working(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    emulator: Emulator,
    device: TestDevice,
) -> None:
    """Mappings stored before the attribute choice (bare IDs, no attribute key; config entry
    version 1.1) are migrated at set-up; an attribute the point cannot follow gets the default."""
    hass.config_entries.async_update_entry(config_entry, minor_version=1)
    old = {
        "on_off": "light.lamp",
        "brightness": {"entity_id": "light.lamp"},
        "mode": {"entity_id": "input_select.mode", "attribute": "bogus"},
    }
    bridge = await setup_bridge(hass, config_entry, LIGHT, old)
    assert config_entry.options[CONF_MAPPING]["on_off"] == {
        "entity_id": "light.lamp",
        "attribute": None,
    }
    assert {name: t.attribute for name, t in bridge.mapping.items()} == {
        "on_off": None,
        "brightness": "brightness",
        "mode": None,
    }
    app = P0App(await emulator.app(device.did), DataPointCodec.from_definition(LIGHT))
    try:
        await app.report()
        await app.control(on_off=True, brightness=40, mode="night")
        await app.report(lambda v: v["brightness"] == 40 and v["mode"] == "night")
        assert state(hass, "light.lamp").attributes["brightness"] == round(40 * 255 / 100)
    finally:
        await app.app.close()


# -- translated errors from native entities --------------------------------------------------


async def test_native_errors_are_translated(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Setting a mapped point or a bad value raises a translated ServiceValidationError."""
    bridge = await setup_bridge(
        hass, config_entry, PLUG, {"switch": {"entity_id": "input_boolean.plug", "attribute": None}}
    )
    with pytest.raises(ServiceValidationError) as mapped:
        await bridge.async_set_native("switch", True)
    assert mapped.value.translation_key == "point_is_mapped"
    assert mapped.value.translation_placeholders == {
        "point": "switch",
        "entity_id": "input_boolean.plug",
    }
    with pytest.raises(ServiceValidationError) as bad:
        await bridge.async_set_native("countdown", 5000)
    assert bad.value.translation_key == "invalid_point_value"
    assert bad.value.translation_placeholders == {"point": "countdown", "value": "5000"}
    # HA renders the translated message (without its final full stop).
    assert str(bad.value).startswith("5000 is not a valid value of data point countdown")
    assert bridge_of(config_entry).device.state.values["countdown"] == 0
    number = entity_id(hass, config_entry, "number", "point_countdown")
    assert float(state(hass, number).state) == 0
