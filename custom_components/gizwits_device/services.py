"""Service actions: send a passthrough, send a device log."""

from __future__ import annotations

import base64
import binascii
from typing import cast

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
import probatio as vol  # HA's voluptuous-compatible schema library (HA >= 2026.x)

from .const import DOMAIN
from .errors import translated
from .protocol import (
    MAX_PAYLOAD,
    AckTimeoutError,
    FirmwareType,
    GizwitsValueError,
    LogLevel,
    M2MError,
)
from .protocol.device import Device
from .runtime import GizwitsConfigEntry

ATTR_DEVICE_ID = "device_id"
ATTR_CONFIG_ENTRY_ID = "config_entry_id"
ATTR_PAYLOAD = "payload"
ATTR_ENCODING = "encoding"
ATTR_APP_CLIENT_ID = "app_client_id"
ATTR_ACK = "ack"
ATTR_LEVEL = "level"
ATTR_TAG = "tag"
ATTR_SOURCE = "source"
ATTR_CONTENT = "content"

SERVICE_SEND_PASSTHROUGH = "send_passthrough"
SERVICE_SEND_LOG = "send_log"
SERVICE_CONFIRM_FIRMWARE = "confirm_firmware_installed"
ATTR_FIRMWARE_TYPE = "firmware_type"
ATTR_VERSION = "version"
FIRMWARE_TYPES = {"wifi": FirmwareType.WIFI, "mcu": FirmwareType.MCU}

# One MQTT topic level: no separators or wildcards (protocol.md §4 topics).
_APP_CLIENT_ID = vol.All(cv.string, vol.Match(r"^[^/+#]{1,64}$"))

# Which device sends: its device (the form's device picker) or, as before, its config entry.
_SENDER = {
    vol.Exclusive(ATTR_DEVICE_ID, "sender"): cv.string,
    vol.Exclusive(ATTR_CONFIG_ENTRY_ID, "sender"): cv.string,
}

SEND_PASSTHROUGH_SCHEMA = vol.Schema(
    {
        **_SENDER,
        vol.Required(ATTR_PAYLOAD): cv.string,
        vol.Optional(ATTR_ENCODING, default="hex"): vol.In(["hex", "base64"]),
        vol.Optional(ATTR_APP_CLIENT_ID): _APP_CLIENT_ID,
        vol.Optional(ATTR_ACK, default=False): cv.boolean,
    }
)
SEND_LOG_SCHEMA = vol.Schema(
    {
        **_SENDER,
        vol.Required(ATTR_LEVEL): vol.In(["error", "warning", "info"]),
        vol.Required(ATTR_CONTENT): cv.string,
        vol.Optional(ATTR_TAG, default=""): cv.string,
        vol.Optional(ATTR_SOURCE, default="homeassistant"): cv.string,
    }
)


CONFIRM_FIRMWARE_SCHEMA = vol.Schema(
    {
        **_SENDER,
        vol.Required(ATTR_FIRMWARE_TYPE): vol.In(list(FIRMWARE_TYPES)),
        vol.Optional(ATTR_VERSION): cv.string,
    }
)


def _entry_id(call: ServiceCall) -> str:
    """The config entry of the called device (device_id) or the config_entry_id given."""
    if ATTR_CONFIG_ENTRY_ID in call.data:
        return str(call.data[ATTR_CONFIG_ENTRY_ID])
    device_id = call.data.get(ATTR_DEVICE_ID)
    if device_id is None:
        raise translated(ServiceValidationError, "no_device")
    device = dr.async_get(call.hass).async_get(device_id)
    # A device belongs to one config entry (config_entry_id; the config_entries set is gone
    # in Home Assistant 2027.10).
    if device is not None:
        entry = call.hass.config_entries.async_get_entry(device.config_entry_id)
        if entry is not None and entry.domain == DOMAIN:
            return entry.entry_id
    raise translated(ServiceValidationError, "unknown_device", device_id=str(device_id))


def _device(call: ServiceCall) -> Device:
    entry_id = _entry_id(call)
    entry = call.hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise translated(ServiceValidationError, "unknown_entry", entry_id=entry_id)
    if entry.state is not ConfigEntryState.LOADED:
        raise translated(ServiceValidationError, "entry_not_loaded", title=entry.title)
    return cast(GizwitsConfigEntry, entry).runtime_data.device


def decode_payload(text: str, encoding: str) -> bytes:
    """Hex (spaces and colons allowed) or base64 text → bytes; ServiceValidationError if bad."""
    try:
        if encoding == "hex":
            payload = bytes.fromhex(text.replace(":", " "))
        else:
            payload = base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error) as err:
        raise translated(ServiceValidationError, "invalid_payload", encoding=encoding) from err
    if len(payload) > MAX_PAYLOAD:
        raise translated(ServiceValidationError, "payload_too_long", max=str(MAX_PAYLOAD))
    return payload


def _send_failed(err: M2MError) -> HomeAssistantError:
    key = "ack_timeout" if isinstance(err, AckTimeoutError) else "not_connected_send"
    return translated(HomeAssistantError, key, error=str(err))


async def _send_passthrough(call: ServiceCall) -> ServiceResponse:
    device = _device(call)
    payload = decode_payload(call.data[ATTR_PAYLOAD], call.data[ATTR_ENCODING])
    app = call.data.get(ATTR_APP_CLIENT_ID)
    try:
        if call.data[ATTR_ACK]:
            ack = await device.session.send_acked_passthrough(payload, app)
            result: ServiceResponse = {"sn": ack.sn, "payload": ack.payload.hex()}
        else:
            # Without an app: every logged-in LAN app and the cloud.
            await device.send_passthrough(payload, app)
            # Nothing comes back from a 0x0091, but a caller asking for a response gets a dict.
            result = {}
    except M2MError as err:
        raise _send_failed(err) from err
    return result if call.return_response else None


async def _send_log(call: ServiceCall) -> None:
    device = _device(call)
    try:
        await device.send_log(
            LogLevel[call.data[ATTR_LEVEL].upper()],
            call.data[ATTR_TAG],
            call.data[ATTR_SOURCE],
            call.data[ATTR_CONTENT],
        )
    except M2MError as err:
        raise _send_failed(err) from err


async def _confirm_firmware(call: ServiceCall) -> None:
    """The user's hardware was flashed: the installed version changes and GService hears of it."""
    device = _device(call)
    firmware_type = FIRMWARE_TYPES[call.data[ATTR_FIRMWARE_TYPE]]
    version = call.data.get(ATTR_VERSION)
    try:
        await device.firmware.confirm(firmware_type, version.strip() if version else None)
    except LookupError as err:
        raise translated(
            ServiceValidationError,
            "nothing_downloaded",
            firmware_type=call.data[ATTR_FIRMWARE_TYPE],
        ) from err
    except GizwitsValueError as err:
        raise translated(ServiceValidationError, "invalid_version", version=str(version)) from err


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's service actions."""
    hass.services.async_register(
        DOMAIN,
        SERVICE_SEND_PASSTHROUGH,
        _send_passthrough,
        schema=SEND_PASSTHROUGH_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(DOMAIN, SERVICE_SEND_LOG, _send_log, schema=SEND_LOG_SCHEMA)
    hass.services.async_register(
        DOMAIN, SERVICE_CONFIRM_FIRMWARE, _confirm_firmware, schema=CONFIRM_FIRMWARE_SCHEMA
    )
