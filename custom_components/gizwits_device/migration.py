"""Config entry migration: every older stored shape becomes the current one, once, at start-up.

Version 1.1 (integration 0.1.0) may hold:
- firmware versions shorter than the 8 characters of the wire (or none);
- the "Gizwits <key> <MAC>" title of the first releases, not recorded as chosen by the
  integration (so it would never follow the product);
- mappings of a data point to a bare entity ID, or to an entity without an attribute;
- the "did rejected" repair issue, which Home Assistant's own re-authentication replaced.

Version 1.2 has none of these. A major version above ENTRY_VERSION is from a newer release and
is refused (Home Assistant then shows the entry as failed to migrate, its data untouched).
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import HomeAssistant

from .bridge_targets import default_attribute
from .config_flow import VERSION_DEFAULTS
from .const import (
    CONF_AUTO_TITLE,
    CONF_MAC,
    CONF_MAPPING,
    CONF_PRODUCT,
    CONF_PRODUCT_KEY,
    ENTRY_MINOR_VERSION,
    ENTRY_VERSION,
    LOGGER,
)
from .issues import async_clear_issues
from .protocol import GizwitsValueError, ProductDefinitionError, ProductModel, normalize_version

if TYPE_CHECKING:
    from .runtime import GizwitsConfigEntry

# The repair issue version 1.1 raised for a rejected DID (translation key and issue id prefix).
LEGACY_ISSUE_DID_REJECTED: Final = "did_rejected"


def legacy_title(data: Mapping[str, Any]) -> str:
    """The title the first releases gave an entry."""
    return f"Gizwits {data[CONF_PRODUCT_KEY][-6:]} {data[CONF_MAC][-6:]}"


def migrate_versions(data: Mapping[str, Any]) -> dict[str, str]:
    """Each firmware version as 8 characters; a missing or unusable one gets the default."""
    versions: dict[str, str] = {}
    for key, default in VERSION_DEFAULTS.items():
        try:
            versions[key] = normalize_version(str(data[key]))
        except KeyError:
            versions[key] = default
        except GizwitsValueError:
            LOGGER.warning(
                "Stored %s %r is not a Gizwits version; using %s", key, data[key], default
            )
            versions[key] = default
    return versions


def migrate_mapping(options: Mapping[str, Any]) -> dict[str, Any] | None:
    """The mapping with every target as {"entity_id", "attribute"} (None: nothing to change).

    A target without an attribute gets the one the mapping step would choose for its point.
    """
    raw = options.get(CONF_MAPPING)
    if not isinstance(raw, Mapping):
        return None
    product = options.get(CONF_PRODUCT)
    model: ProductModel | None = None
    if isinstance(product, Mapping):
        # An invalid product raises its repair issue at set-up; its mapping keeps no attribute.
        with suppress(ProductDefinitionError):
            model = ProductModel.from_json(product)
    mapping: dict[str, Any] = {}
    for name, value in raw.items():
        target = {"entity_id": value} if isinstance(value, str) else value
        if isinstance(target, Mapping) and "attribute" not in target:
            entity_id = target.get("entity_id")
            attribute = None
            if model is not None and name in model and isinstance(entity_id, str):
                attribute = default_attribute(entity_id.partition(".")[0], model.point(name))
            target = {**target, "attribute": attribute}
        mapping[name] = target
    return None if mapping == raw else mapping


async def async_migrate_entry(hass: HomeAssistant, entry: GizwitsConfigEntry) -> bool:
    """Bring an entry stored by an earlier release to the current version."""
    if entry.version > ENTRY_VERSION:
        LOGGER.error(
            "%s was saved by a newer release of the integration (version %s.%s); "
            "install that release again or remove the entry",
            entry.title,
            entry.version,
            entry.minor_version,
        )
        return False
    if entry.version == ENTRY_VERSION and entry.minor_version < ENTRY_MINOR_VERSION:
        data: dict[str, Any] = {**entry.data, **migrate_versions(entry.data)}
        if entry.title == legacy_title(entry.data):
            data[CONF_AUTO_TITLE] = entry.title
        options = dict(entry.options)
        if (mapping := migrate_mapping(entry.options)) is not None:
            options[CONF_MAPPING] = mapping
        async_clear_issues(hass, entry.entry_id, (LEGACY_ISSUE_DID_REJECTED,))
        hass.config_entries.async_update_entry(
            entry,
            data=data,
            options=options,
            version=ENTRY_VERSION,
            minor_version=ENTRY_MINOR_VERSION,
        )
        LOGGER.debug(
            "Migrated %s to version %s.%s", entry.title, ENTRY_VERSION, ENTRY_MINOR_VERSION
        )
    return True
