"""strings.json / translations / icons.json cover everything the integration uses, consistently."""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations
import pytest
import yaml

from custom_components.gizwits_device import config_flow, options_flow
from custom_components.gizwits_device.bridge_targets import (
    attribute_choices,
    selector_domains,
)
from custom_components.gizwits_device.bridge_values import (
    STATE,
)
from custom_components.gizwits_device.const import DOMAIN
from custom_components.gizwits_device.product_source import EXAMPLES
from custom_components.gizwits_device.protocol import ProductModel
from custom_components.gizwits_device.protocol.product_download import (
    ProductDownloadNotJson,
    ProductDownloadUnreachable,
)
from custom_components.gizwits_device.units import NO_UNIT, PRESETS

PACKAGE = Path(config_flow.__file__).parent
STRINGS = json.loads((PACKAGE / "strings.json").read_text(encoding="utf-8"))
ZH = json.loads((PACKAGE / "translations" / "zh-Hans.json").read_text(encoding="utf-8"))
ICONS = json.loads((PACKAGE / "icons.json").read_text(encoding="utf-8"))
SERVICES = yaml.safe_load((PACKAGE / "services.yaml").read_text(encoding="utf-8"))
_PLACEHOLDER = re.compile(r"\{(\w+)\}")

# Placeholders the code passes (services.py, update.py, __init__.py, bridge.py).
EXCEPTION_PLACEHOLDERS = {
    "auth_failed": set(),
    "not_connected": {"error"},
    "no_device": set(),
    "unknown_device": {"device_id"},
    "unknown_entry": {"entry_id"},
    "entry_not_loaded": {"title"},
    "invalid_payload": {"encoding"},
    "payload_too_long": {"max"},
    "ack_timeout": {"error"},
    "not_connected_send": {"error"},
    "no_update": set(),
    "firmware_failed": {"error"},
    "nothing_downloaded": {"firmware_type"},
    "invalid_version": {"version"},
    "point_is_mapped": {"point", "entity_id"},
    "invalid_point_value": {"point", "value"},
}
ISSUE_PLACEHOLDERS = {
    "unreachable": {"title", "error"},
    "invalid_product": {"title", "error"},
    "lan_port_in_use": {"transport", "port", "error"},
    "lan_bind_failed": {"transport", "port", "error"},
    "lan_duplicate_passcode": {"title", "other"},
    "lan_no_interface": {"title"},
}


def leaves(tree: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            yield from leaves(value, path)
        else:
            yield path, value


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def source(name: str) -> str:
    return (PACKAGE / name).read_text(encoding="utf-8")


def test_en_is_strings() -> None:
    """Custom integrations ship translations/en.json themselves: it must equal strings.json."""
    en = json.loads((PACKAGE / "translations" / "en.json").read_text(encoding="utf-8"))
    assert en == STRINGS


def test_zh_hans_matches_keys_and_placeholders() -> None:
    english = dict(leaves(STRINGS))
    chinese = dict(leaves(ZH))
    assert chinese.keys() == english.keys()
    for path, text in english.items():
        assert placeholders(chinese[path]) == placeholders(text), path
        assert chinese[path].strip(), path


def test_config_flow_errors_are_translated() -> None:
    code = source("config_flow.py") + source("options_flow.py")
    used = (
        set(re.findall(r'return "([a-z0-9_]+)"', code))
        | set(re.findall(r'errors\["base"\] = "([a-z0-9_]+)"', code))
        | set(re.findall(r'"(invalid_[a-z_]+)"', code))
    )
    assert {"cannot_connect", "m2m_timeout", "invalid_mac", "invalid_logger"} <= used
    known = STRINGS["config"]["error"].keys() | STRINGS["options"]["error"].keys()
    assert used <= known
    assert {
        "already_configured",
        "reauth_successful",
        "reconfigure_successful",
    } <= STRINGS["config"]["abort"].keys()


def test_every_form_field_has_a_description() -> None:
    for section in (STRINGS["config"]["step"], STRINGS["options"]["step"]):
        for step, texts in section.items():
            data = texts.get("data", {})
            assert data.keys() == texts.get("data_description", {}).keys(), step


def test_entity_translation_keys() -> None:
    used: set[tuple[str, str]] = set()
    for platform in ("binary_sensor", "button", "sensor", "update", "event"):
        for key in re.findall(r'translation_key="([a-z_]+)"', source(f"{platform}.py")):
            if key not in STRINGS["exceptions"]:  # raised errors use translation_key too
                used.add((platform, key))
    translated = {(platform, key) for platform, keys in STRINGS["entity"].items() for key in keys}
    assert used == translated
    events = STRINGS["entity"]["event"]
    assert events["app_command"]["state_attributes"]["event_type"]["state"].keys() == {
        "passthrough",
        "acked_passthrough",
    }
    assert "firmware_downloaded" in events["firmware"]["state_attributes"]["event_type"]["state"]
    for platform, keys in ICONS["entity"].items():
        assert keys.keys() <= STRINGS["entity"][platform].keys()


def test_services_and_selectors() -> None:
    assert STRINGS["services"].keys() == SERVICES.keys()
    assert ICONS["services"].keys() == SERVICES.keys()
    for service, spec in SERVICES.items():
        assert STRINGS["services"][service]["fields"].keys() == spec["fields"].keys()
        for field in spec["fields"].values():
            select = field["selector"].get("select")
            if select is not None:
                options = STRINGS["selector"][select["translation_key"]]["options"]
                assert options.keys() == set(select["options"])
    assert STRINGS["selector"]["region"]["options"].keys() == {"cn", "eu", "us", "custom"}
    levels = set(options_flow.LOG_FORWARD_LEVELS)
    assert STRINGS["selector"]["log_forward_level"]["options"].keys() == levels


@pytest.mark.parametrize(
    ("section", "expected"),
    [("exceptions", EXCEPTION_PLACEHOLDERS), ("issues", ISSUE_PLACEHOLDERS)],
)
def test_exception_and_issue_placeholders(section: str, expected: dict[str, set[str]]) -> None:
    assert STRINGS[section].keys() == expected.keys()
    for key, names in expected.items():
        texts = STRINGS[section][key]  # a fixable issue's fix flow is nested
        found = set().union(*(placeholders(text) for _, text in leaves(texts)))
        assert found == names, key


async def test_home_assistant_loads_translations(hass: HomeAssistant) -> None:
    """HA's own loader finds both languages for the custom integration."""
    for language, title in (("en", "Set up a Gizwits device"), ("zh-Hans", "添加机智云设备")):
        loaded = await async_get_translations(hass, language, "config", {DOMAIN})
        assert loaded[f"component.{DOMAIN}.config.step.user.title"] == title


def test_bridge_flow_errors_and_attribute_options_are_translated() -> None:
    """Every error the product/attribute steps set, and every attribute offered, has text."""
    code = source("bridge_flow.py") + source("bridge_targets.py") + source("product_source.py")
    used = set(re.findall(r'ProductFileError\(\s*"([a-z_]+)"', code))
    used |= set(re.findall(r'return "(attribute_[a-z_]+)"', code))
    # product_source names a download failure by its reason: download_<reason>.
    used |= {f"download_{e.reason}" for e in (ProductDownloadNotJson, ProductDownloadUnreachable)}
    assert used == {
        "file_too_large",
        "upload_failed",
        "invalid_app_id",
        "download_refused",
        "download_unreachable",
        "download_not_json",
        "attribute_invalid",
        "attribute_read_only",
        "attribute_unsupported",
    }
    assert used | {"invalid_product"} <= STRINGS["options"]["error"].keys()
    light = ProductModel.from_json((PACKAGE / "products" / "dimmable_light.json").read_text())
    offered = {
        STATE if attribute is None else attribute
        for point in light.points
        for domain in selector_domains(point)
        for attribute in attribute_choices(domain, point)
    }
    assert STRINGS["selector"]["point_attribute"]["options"].keys() == offered
    assert STRINGS["selector"]["point_unit"]["options"].keys() == {NO_UNIT, *PRESETS}
    assert STRINGS["selector"]["example"]["options"].keys() == set(EXAMPLES)


@pytest.mark.parametrize("strings", [STRINGS, ZH], ids=["en", "zh-Hans"])
def test_menu_titles_have_no_placeholders(strings: dict[str, Any]) -> None:
    """The frontend localizes a menu step's title without its placeholders.

    A `{title}` there renders as a raw formatjs MISSING_VALUE error in the dialog header (the
    re-authentication menu did); placeholders work in a menu's description and options only.
    """
    menus = [
        (flow, step, texts)
        for flow in ("config", "options")
        for step, texts in strings[flow]["step"].items()
        if "menu_options" in texts
    ]
    assert ("options", "init") in {(flow, step) for flow, step, _ in menus}
    for flow, step, texts in menus:
        assert not placeholders(texts.get("title", "")), f"{flow}.{step}"
