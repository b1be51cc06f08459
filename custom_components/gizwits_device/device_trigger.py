"""Device triggers: "a Gizwits app sent a command", "firmware downloaded", "apps came online".

Each attaches an event trigger on a bus event the coordinator fires with the device_id, so a
reload, reconfigure, re-authentication, reconnect or restart never fires one (a state trigger
on an event entity does, whenever the entity comes back from unavailable).
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import (
    ATTR_DEVICE_ID,
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_EVENT,
    CONF_EVENT_DATA,
    CONF_PLATFORM,
    CONF_TYPE,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType
import probatio as vol

from .const import (
    BUS_EVENT_APP_COMMAND,
    BUS_EVENT_APPS_ONLINE,
    BUS_EVENT_FIRMWARE_DOWNLOADED,
    DOMAIN,
)
from .protocol import MAX_PAYLOAD

TRIGGER_APP_COMMAND: Final = "app_command"
TRIGGER_FIRMWARE_DOWNLOADED: Final = "firmware_downloaded"
TRIGGER_APPS_ONLINE: Final = "apps_online"
BUS_EVENTS: Final = {
    TRIGGER_APP_COMMAND: BUS_EVENT_APP_COMMAND,
    TRIGGER_FIRMWARE_DOWNLOADED: BUS_EVENT_FIRMWARE_DOWNLOADED,
    TRIGGER_APPS_ONLINE: BUS_EVENT_APPS_ONLINE,
}

CONF_PAYLOAD: Final = "payload"
CONF_APP_CLIENT_ID: Final = "app_client_id"
CONF_SN: Final = "sn"
CONF_FIRMWARE_TYPE: Final = "firmware_type"


def hex_payload(value: Any) -> str:
    """A payload filter as the event carries it: lower-case hex, no spaces or colons."""
    text = str(value).replace(":", "").replace(" ", "").lower()
    try:
        payload = bytes.fromhex(text)
    except ValueError as err:
        raise vol.Invalid("payload must be hexadecimal, e.g. 0102ff") from err
    if not payload or len(payload) > MAX_PAYLOAD:
        raise vol.Invalid(f"payload must be 1 to {MAX_PAYLOAD} bytes")
    return payload.hex()


_SN = vol.All(vol.Coerce(int), vol.Range(min=0, max=0xFFFFFFFF))
_FIRMWARE_TYPE = vol.In(["wifi", "mcu"])

# The filters of each trigger (all optional: empty = any), as validated in a configuration.
FILTERS: Final[dict[str, dict[Any, Any]]] = {
    TRIGGER_APP_COMMAND: {
        vol.Optional(CONF_PAYLOAD): hex_payload,
        vol.Optional(CONF_APP_CLIENT_ID): vol.All(cv.string, vol.Length(min=1, max=64)),
        vol.Optional(CONF_SN): _SN,
    },
    TRIGGER_FIRMWARE_DOWNLOADED: {vol.Optional(CONF_FIRMWARE_TYPE): _FIRMWARE_TYPE},
    TRIGGER_APPS_ONLINE: {},
}
# The same filters as the automation editor draws them (plain types it can serialize).
EDITOR_FIELDS: Final[dict[str, dict[Any, Any]]] = {
    TRIGGER_APP_COMMAND: {
        vol.Optional(CONF_PAYLOAD): str,
        vol.Optional(CONF_APP_CLIENT_ID): str,
        vol.Optional(CONF_SN): _SN,
    },
    TRIGGER_FIRMWARE_DOWNLOADED: {vol.Optional(CONF_FIRMWARE_TYPE): _FIRMWARE_TYPE},
    TRIGGER_APPS_ONLINE: {},
}

TRIGGER_SCHEMA: Final = DEVICE_TRIGGER_BASE_SCHEMA.extend(
    {
        vol.Required(CONF_TYPE): vol.In(list(BUS_EVENTS)),
        **{key: value for fields in FILTERS.values() for key, value in fields.items()},
    }
)


async def async_validate_trigger_config(hass: HomeAssistant, config: ConfigType) -> ConfigType:
    """Validate a trigger; a filter of another trigger type is refused."""
    config = TRIGGER_SCHEMA(config)
    allowed = {str(key) for key in FILTERS[config[CONF_TYPE]]}
    for key in config:
        if key in {str(k) for fields in FILTERS.values() for k in fields} - allowed:
            raise vol.Invalid(f"{key} is not a filter of {config[CONF_TYPE]}")
    return config


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, Any]]:
    """The three triggers every Gizwits device has."""
    return [
        {
            CONF_PLATFORM: "device",
            CONF_DOMAIN: DOMAIN,
            CONF_DEVICE_ID: device_id,
            CONF_TYPE: trigger_type,
        }
        for trigger_type in BUS_EVENTS
    ]


async def async_get_trigger_capabilities(
    hass: HomeAssistant, config: ConfigType
) -> dict[str, vol.Schema]:
    """The optional filters of a trigger type, for the automation editor."""
    fields = EDITOR_FIELDS.get(config[CONF_TYPE], {})
    return {"extra_fields": vol.Schema(fields)} if fields else {}


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Listen for the trigger's bus event of this device (and the filters' values)."""
    trigger_type = config[CONF_TYPE]
    event_data = {ATTR_DEVICE_ID: config[CONF_DEVICE_ID]}
    for key in FILTERS[trigger_type]:
        if str(key) in config:
            event_data[str(key)] = config[str(key)]
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: CONF_EVENT,
            event_trigger.CONF_EVENT_TYPE: BUS_EVENTS[trigger_type],
            CONF_EVENT_DATA: event_data,
        }
    )
    return await event_trigger.async_attach_trigger(
        hass, event_config, action, trigger_info, platform_type="device"
    )
