"""The README's examples work as written: after the set-up it documents (add the integration,
then the *Smart plug* product mapped onto the user's relay), every entity ID it names exists and
every YAML example passes Home Assistant's own automation validation."""

from __future__ import annotations

from pathlib import Path
import re
from typing import Any

from homeassistant.components.automation.config import async_validate_config_item
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.gizwits_device.const import CONF_MAPPING, CONF_PRODUCT, DOMAIN
from custom_components.gizwits_device.naming import DEFAULT_TITLE
from emulator.server import Emulator

from .bridge_helpers import PLUG
from .helpers import TestDevice, entry_data

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
_YAML_BLOCK = re.compile(r"```yaml\n(.*?)```", re.DOTALL)
# `domain.object_id` as inline code; placeholders such as `event.<device>_app_command` do not
# match, nor do template paths such as `trigger.event.data`.
_ENTITY_LIKE = re.compile(
    r"`((?:event|switch|sensor|binary_sensor|number|select|button|update|light|input_\w+)"
    r"\.[a-z0-9_]+)`"
)
_STATES_CALL = re.compile(r"states\('([a-z_]+\.[a-z0-9_]+)'\)")

# The user's own entities the examples assume (the worked example's relay and its power
# meter, a pump, a freezer thermometer): made here as template entities.
USER_ENTITIES: dict[str, Any] = {
    "template": [
        {
            "switch": [
                {"name": "Kitchen relay", "state": "{{ false }}", "turn_on": [], "turn_off": []},
                {"name": "Pump", "state": "{{ false }}", "turn_on": [], "turn_off": []},
            ],
            "sensor": [
                {"name": "Kitchen relay power", "state": "12.3", "unit_of_measurement": "W"},
                {"name": "Freezer temperature", "state": "-18", "unit_of_measurement": "°C"},
            ],
        }
    ]
}
WORKED_EXAMPLE_MAPPING = {
    "switch": {"entity_id": "switch.kitchen_relay", "attribute": None},
    "power": {"entity_id": "sensor.kitchen_relay_power", "attribute": None},
}


def yaml_examples(device_id: str) -> list[Any]:
    """Every ```yaml block, `!secret gizwits_device_id` being the set-up device's id."""
    return [
        yaml.safe_load(block.replace("!secret gizwits_device_id", device_id))
        for block in _YAML_BLOCK.findall(README)
    ]


def automations(example: Any) -> list[dict[str, Any]]:
    """The automations of an example: an `automation:` list, a bare `triggers:` fragment, or
    none (e.g. the `logger:` settings)."""
    if "automation" in example:
        found: list[dict[str, Any]] = example["automation"]
        return found
    if "triggers" in example:
        return [{"alias": "README fragment", **example, "actions": []}]
    return []


def entity_ids_in(value: Any) -> set[str]:
    """entity_id values (and states('…') in templates) anywhere in a YAML example."""
    if isinstance(value, dict):
        found = set().union(*(entity_ids_in(v) for v in value.values()))
        if isinstance(value.get("entity_id"), str):
            found.add(value["entity_id"])
        return found
    if isinstance(value, list):
        return set().union(*(entity_ids_in(v) for v in value))
    return set(_STATES_CALL.findall(value)) if isinstance(value, str) else set()


async def set_up_as_documented(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice
) -> MockConfigEntry:
    """Add the integration (a new entry is called *Gizwits device*), then give it the Smart
    plug mapped onto the user's relay (saving the options reloads the entry)."""
    assert await async_setup_component(hass, "template", USER_ENTITIES)
    await hass.async_block_till_done()
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=DEFAULT_TITLE,
        unique_id=f"{device.product_key}_{device.mac}",
        data=entry_data(emulator, device),
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass.config_entries.async_update_entry(
        entry, options={CONF_PRODUCT: PLUG, CONF_MAPPING: WORKED_EXAMPLE_MAPPING}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_readme_entity_ids_exist_and_its_automations_validate(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, unload_entries: None
) -> None:
    """Entity IDs from the YAML and from the text (not services such as `switch.turn_on`)."""
    entry = await set_up_as_documented(hass, emulator, device)
    assert entry.title == PLUG["name"]
    examples = yaml_examples(entry.runtime_data.device_id)
    assert len(examples) >= 4
    named = set().union(*(entity_ids_in(example) for example in examples))
    for found in _ENTITY_LIKE.findall(README):
        domain, _, name = found.partition(".")
        if not hass.services.has_service(domain, name):
            named.add(found)
    assert "event.gizwits_device_app_command" in named
    missing = sorted(entity for entity in named if hass.states.get(entity) is None)
    assert not missing, f"README names entities the documented set-up does not create: {missing}"

    validated = 0
    for example in examples:
        for automation in automations(example):
            assert await async_validate_config_item(hass, "readme", automation) is not None
            validated += 1
    assert validated >= 4
