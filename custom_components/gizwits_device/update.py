"""Update entities for the WiFi and MCU firmware (OTA v4.0 / v4.1, protocol.md §2.4, §7)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from homeassistant.components.update import (
    UpdateDeviceClass,
    UpdateEntity,
    UpdateEntityDescription,
    UpdateEntityFeature,
)
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.translation import async_get_cached_translations

from .const import DOMAIN
from .coordinator import GizwitsDeviceCoordinator
from .entity import GizwitsEntity
from .errors import translated
from .protocol import FirmwareError, FirmwareType
from .protocol.device import FirmwareDownload
from .runtime import GizwitsConfigEntry

PARALLEL_UPDATES = 1

# firmware_state: offered (Install would download it), the last download waits to be
# flashed, or was confirmed as flashed.
FIRMWARE_OFFERED = "offered"
FIRMWARE_WAITING = "waiting_to_be_flashed"
FIRMWARE_FLASHED = "flashed"
# The release summaries when translations are not loaded (strings.json has the same text).
_SUMMARIES = {
    FIRMWARE_OFFERED: (
        "Install only downloads this firmware (Home Assistant cannot flash your hardware) and "
        "fires “Firmware downloaded”. Flash it, then run the action “Confirm firmware installed” "
        "(gizwits_device.confirm_firmware_installed)."
    ),
    FIRMWARE_WAITING: (
        "Downloaded, waiting to be flashed. Flash it, then run the action “Confirm firmware "
        "installed” (gizwits_device.confirm_firmware_installed)."
    ),
}


@dataclass(frozen=True, kw_only=True)
class GizwitsUpdateDescription(UpdateEntityDescription):
    """Which firmware an update entity tracks."""

    firmware_type: FirmwareType


DESCRIPTIONS = (
    GizwitsUpdateDescription(
        key="wifi_firmware", translation_key="wifi_firmware", firmware_type=FirmwareType.WIFI
    ),
    GizwitsUpdateDescription(
        key="mcu_firmware", translation_key="mcu_firmware", firmware_type=FirmwareType.MCU
    ),
)


class GizwitsUpdate(GizwitsEntity, UpdateEntity):
    """A firmware the cloud can offer; installing downloads it for the user's hardware."""

    entity_description: GizwitsUpdateDescription
    _attr_device_class = UpdateDeviceClass.FIRMWARE
    _attr_supported_features = UpdateEntityFeature.INSTALL | UpdateEntityFeature.PROGRESS

    def __init__(
        self, coordinator: GizwitsDeviceCoordinator, description: GizwitsUpdateDescription
    ) -> None:
        super().__init__(coordinator, description)
        self._attr_in_progress = False

    @property
    def installed_version(self) -> str:
        """The configured soft version."""
        return self.coordinator.data.firmware.installed[self.entity_description.firmware_type]

    @property
    def _pending(self) -> FirmwareDownload | None:
        return self.coordinator.data.firmware.pending.get(self.entity_description.firmware_type)

    @property
    def latest_version(self) -> str:
        """The offered (or downloaded) version, or the installed one when there is none."""
        offer = self.coordinator.data.firmware.offers.get(self.entity_description.firmware_type)
        if offer is not None:
            return offer.version
        pending = self._pending
        return self.installed_version if pending is None else pending.version

    @property
    def release_summary(self) -> str | None:
        """Before Install: that it only downloads, and the action that confirms the flashing;
        after: that the download waits to be flashed (in Home Assistant's language)."""
        firmware_type = self.entity_description.firmware_type
        if self._pending is not None:
            state = FIRMWARE_WAITING
        elif firmware_type in self.coordinator.data.firmware.offers:
            state = FIRMWARE_OFFERED
        else:
            return None
        key = self.entity_description.translation_key
        translations = async_get_cached_translations(
            self.hass, self.hass.config.language, "entity", DOMAIN
        )
        text = translations.get(
            f"component.{DOMAIN}.entity.update.{key}.state_attributes.firmware_state.state.{state}"
        )
        return text or _SUMMARIES[state]

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """This firmware's last download, whether its MD5 was verified (protocol.md §7), and
        whether it waits to be flashed; or that one is offered."""
        firmware_type = self.entity_description.firmware_type
        firmware = self.coordinator.data.firmware
        if self._pending is None and firmware_type in firmware.offers:
            return {"firmware_state": FIRMWARE_OFFERED}
        download = self._pending or firmware.last_download
        if download is None or download.firmware_type != firmware_type:
            return None
        return {
            "firmware_state": FIRMWARE_WAITING if self._pending is not None else FIRMWARE_FLASHED,
            "firmware_path": str(download.path),
            "firmware_md5": download.md5,
            "checksum_verified": download.verified,
        }

    def version_is_newer(self, latest_version: str, installed_version: str) -> bool:
        """An offer is only kept when the cloud says it is newer (§7), so any offer is; a
        download waiting to be flashed is newer too."""
        firmware = self.coordinator.data.firmware
        firmware_type = self.entity_description.firmware_type
        return firmware_type in firmware.offers or firmware_type in firmware.pending

    async def async_install(self, version: str | None, backup: bool, **kwargs: Any) -> None:
        """Download, verify and store the firmware, then announce it (it is not flashed)."""
        self._attr_in_progress = True
        self._attr_update_percentage = None
        self.async_write_ha_state()

        def progress(done: int, total: int | None) -> None:
            if total:
                self._attr_update_percentage = min(100, done * 100 // total)
                self.async_write_ha_state()

        try:
            await self.coordinator.device.firmware.install(
                self.entity_description.firmware_type, progress
            )
        except LookupError as err:
            raise translated(HomeAssistantError, "no_update") from err
        except FirmwareError as err:
            raise translated(HomeAssistantError, "firmware_failed", error=str(err)) from err
        finally:
            self._attr_in_progress = False
            self._attr_update_percentage = None
            self.async_write_ha_state()


async def async_setup_entry(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The WiFi and MCU firmware update entities."""
    coordinator = entry.runtime_data.coordinator
    async_add_entities(GizwitsUpdate(coordinator, description) for description in DESCRIPTIONS)
