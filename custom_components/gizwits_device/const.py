"""Constants of the Gizwits Device integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

from .protocol import FirmwareType

DOMAIN: Final = "gizwits_device"
LOGGER = logging.getLogger(__package__)

# Config entry data.
CONF_REGION: Final = "region"
CONF_BASE_URL: Final = "base_url"
CONF_PRODUCT_KEY: Final = "product_key"
CONF_MAC: Final = "mac"
CONF_PASSCODE: Final = "passcode"
CONF_DID: Final = "did"
# Optional: the product's secret for the encrypted ("safe") register and provision.
CONF_PRODUCT_SECRET: Final = "product_secret"  # noqa: S105 - a key name, not a secret
CONF_WIFI_HARD_VERSION: Final = "wifi_hard_version"
CONF_WIFI_SOFT_VERSION: Final = "wifi_soft_version"
CONF_MCU_HARD_VERSION: Final = "mcu_hard_version"
CONF_MCU_SOFT_VERSION: Final = "mcu_soft_version"
# The entry data keys of each firmware's versions.
SOFT_VERSION_KEYS: Final = {
    FirmwareType.WIFI: CONF_WIFI_SOFT_VERSION,
    FirmwareType.MCU: CONF_MCU_SOFT_VERSION,
}
HARD_VERSION_KEYS: Final = {
    FirmwareType.WIFI: CONF_WIFI_HARD_VERSION,
    FirmwareType.MCU: CONF_MCU_HARD_VERSION,
}
REGION_CUSTOM: Final = "custom"

# Options.
CONF_LOG_FORWARD_LOGGERS: Final = "log_forward_loggers"
CONF_LOG_FORWARD_LEVEL: Final = "log_forward_level"
CONF_INDICATOR_BIT: Final = "indicator_bit"
DEFAULT_INDICATOR_BIT: Final = 8
DEFAULT_LOG_FORWARD_LEVEL: Final = "warning"
# Answer Gizwits apps on the local network (on unless turned off), on which interfaces
# (network adapter names; none chosen: the adapters enabled in Home Assistant's network settings).
CONF_LAN_ENABLED: Final = "lan_enabled"
CONF_LAN_INTERFACES: Final = "lan_interfaces"
DEFAULT_LAN_ENABLED: Final = True
# Broadcast every status report on UDP 12414 like real devices (protocol.md §8).
CONF_LAN_STATUS_BROADCAST: Final = "lan_status_broadcast"
DEFAULT_LAN_STATUS_BROADCAST: Final = True
# How long "Allow app binding" lets LAN apps fetch the passcode (GAgent's binding mode).
BINDING_DURATION: Final = 180.0
# LAN apps expect GAgent's passcodes: 10 capital letters.
LAN_PASSCODE_LENGTH: Final = 10

# Versions are 8 characters on the wire (protocol.md §7, OTA v4.1).
DEFAULT_HARD_VERSION: Final = "00000001"
DEFAULT_SOFT_VERSION: Final = "00000001"

# How long set-up and the config flow wait for the first M2M login.
CONNECT_TIMEOUT: Final = 20.0
# After this long without reaching GService/M2M a repair issue is raised.
UNREACHABLE_REPAIR_AFTER: Final = 30 * 60.0

# Firmware downloads: size cap and where they are kept (under the HA config dir).
FIRMWARE_MAX_SIZE: Final = 16 * 1024 * 1024
FIRMWARE_DIR: Final = "gizwits_device/firmware"

STORAGE_VERSION: Final = 1

EVENT_FIRMWARE_DOWNLOADED: Final = "firmware_downloaded"
# Bus events with the device_id, behind the device triggers (device_trigger.py). Unlike a state
# trigger on an event entity, they never fire when an entry reloads or reconnects.
BUS_EVENT_APP_COMMAND: Final = f"{DOMAIN}_app_command"
BUS_EVENT_FIRMWARE_DOWNLOADED: Final = f"{DOMAIN}_firmware_downloaded"
BUS_EVENT_APPS_ONLINE: Final = f"{DOMAIN}_apps_online"
# Fired (on the bus) before the bridge applies an app's control; the origin of its context.
EVENT_APP_CONTROL: Final = f"{DOMAIN}_app_control"

# Entity bridge (options): the product's data-point JSON and the point -> entity mapping.
CONF_PRODUCT: Final = "product"
CONF_MAPPING: Final = "mapping"
# Units of native number/sensor points: {point name: preset key or a typed unit} (units.py).
CONF_UNITS: Final = "units"
# Status reports for HA-side changes: coalesced over this long, at most 6 per second (MCU SDK).
REPORT_DEBOUNCE: Final = 0.1
REPORT_MIN_INTERVAL: Final = 1 / 6
# The MCU SDK's periodic full status report while apps are online (every 10 minutes).
PERIODIC_REPORT_INTERVAL: Final = timedelta(seconds=600)

# Config entry version (migration.py brings older entries to it).
ENTRY_VERSION: Final = 1
ENTRY_MINOR_VERSION: Final = 2
# The title the integration chose (entry data): it follows the product until the user renames it.
CONF_AUTO_TITLE = "auto_title"
