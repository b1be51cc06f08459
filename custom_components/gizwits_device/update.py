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
from homeassistant.exceptions import HomeAssistantError

from .const import DOMAIN
from .coordinator import GizwitsDeviceCoordinator
from .entity import GizwitsEntity, entry_platform
from .protocol import FirmwareError, FirmwareType
from .runtime import GizwitsConfigEntry

PARALLEL_UPDATES = 1


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
        return self.coordinator.firmware.installed_version(self.entity_description.firmware_type)

    @property
    def latest_version(self) -> str:
        """The offered version, or the installed one when nothing is offered."""
        offer = self.coordinator.data.firmware.offers.get(self.entity_description.firmware_type)
        return self.installed_version if offer is None else offer.version

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """This firmware's last download and whether its MD5 was verified (protocol.md §7)."""
        download = self.coordinator.data.firmware.last_download
        if download is None or download.firmware_type != self.entity_description.firmware_type:
            return None
        return {
            "firmware_path": str(download.path),
            "firmware_md5": download.md5,
            "checksum_verified": download.verified,
        }

    def version_is_newer(self, latest_version: str, installed_version: str) -> bool:
        """An offer is only kept when the cloud says it is newer (§7), so any offer is."""
        return self.entity_description.firmware_type in self.coordinator.data.firmware.offers

    async def async_install(self, version: str | None, backup: bool, **kwargs: Any) -> None:
        """Download, verify and store the firmware, then announce it."""
        self._attr_in_progress = True
        self._attr_update_percentage = None
        self.async_write_ha_state()

        def progress(done: int, total: int | None) -> None:
            if total:
                self._attr_update_percentage = min(100, done * 100 // total)
                self.async_write_ha_state()

        try:
            await self.coordinator.firmware.async_install(
                self.entity_description.firmware_type, progress
            )
        except LookupError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key="no_update"
            ) from err
        except FirmwareError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="firmware_failed",
                translation_placeholders={"error": str(err)},
            ) from err
        finally:
            self._attr_in_progress = False
            self._attr_update_percentage = None
            self.async_write_ha_state()


def _entities(entry: GizwitsConfigEntry) -> list[UpdateEntity]:
    """The WiFi and MCU firmware update entities."""
    coordinator = entry.runtime_data.coordinator
    return [GizwitsUpdate(coordinator, description) for description in DESCRIPTIONS]


async_setup_entry = entry_platform(_entities)
