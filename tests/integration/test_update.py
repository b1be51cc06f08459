"""Firmware update entities: OTA v4.1 (0x0211 → check) and v4.0 (0x020E), protocol.md §4, §7."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from homeassistant.components.update import (
    ATTR_IN_PROGRESS,
    ATTR_INSTALLED_VERSION,
    ATTR_LATEST_VERSION,
    ATTR_UPDATE_PERCENTAGE,
    DOMAIN as UPDATE_DOMAIN,
    SERVICE_INSTALL,
)
from homeassistant.components.update.const import DATA_COMPONENT
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.gizwits_device.const import (
    BUS_EVENT_FIRMWARE_DOWNLOADED,
    CONF_MCU_SOFT_VERSION,
    CONF_WIFI_SOFT_VERSION,
    DOMAIN,
    FIRMWARE_DIR,
)
from custom_components.gizwits_device.protocol import FirmwareType
from emulator.state import FirmwareOffer as EmulatorOffer
from tests.conftest import PRODUCT_KEY
from tests.gservice_servers import scripted_app, serve

from .helpers import StateRecorder, TestDevice, entity_id, state, wait_state, wait_until

if TYPE_CHECKING:
    from emulator.server import Emulator

NEW_VERSION = "00000002"
# Several download chunks, so progress is reported more than once.
FIRMWARE = bytes(range(256)) * 200


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A throw-away HA config dir, so downloads never land in the test package's one."""
    hass.config.config_dir = str(tmp_path)
    return tmp_path


@pytest.fixture
async def loaded(hass: HomeAssistant, setup_integration: MockConfigEntry) -> MockConfigEntry:
    """The entry, logged in, with the OTA check run at login finished (nothing offered)."""
    coordinator = setup_integration.runtime_data.coordinator
    await wait_until(
        lambda: (
            coordinator.device.firmware._task is not None
            and coordinator.device.firmware._task.done()
        )
    )
    return setup_integration


def _firmware_dir(config_dir: Path, entry: MockConfigEntry) -> Path:
    return config_dir / FIRMWARE_DIR / entry.entry_id


async def _install(hass: HomeAssistant, entity: str) -> None:
    await hass.services.async_call(
        UPDATE_DOMAIN, SERVICE_INSTALL, {ATTR_ENTITY_ID: entity}, blocking=True
    )


async def _confirm(hass: HomeAssistant, entry: MockConfigEntry, firmware: str, **data: Any) -> None:
    """The flashing automation's last step: the hardware runs the downloaded firmware now."""
    await hass.services.async_call(
        DOMAIN,
        "confirm_firmware_installed",
        {"config_entry_id": entry.entry_id, "firmware_type": firmware, **data},
        blocking=True,
    )
    await hass.async_block_till_done()


async def _offer_wifi_via_0x0211(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, entry: MockConfigEntry
) -> tuple[str, EmulatorOffer]:
    offer = emulator.state.set_offer(
        EmulatorOffer(firmware_type=1, soft_version=NEW_VERSION, data=FIRMWARE),
        product_key=PRODUCT_KEY,
    )
    wifi = entity_id(hass, entry, "update", "wifi_firmware")
    # Offered at GService, but the device only learns of it when told to check.
    assert state(hass, wifi).state == "off"
    await emulator.cloud.notify_ota_check(device.did, FirmwareType.WIFI)
    await wait_state(hass, wifi, lambda s: s.state == "on")
    return wifi, offer


async def test_install_v41_offer(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    loaded: MockConfigEntry,
    config_dir: Path,
) -> None:
    """0x0211 → v4.1 check → offer; install downloads, verifies, announces, reports back."""
    entry = loaded
    wifi, offer = await _offer_wifi_via_0x0211(hass, emulator, device, entry)
    current = state(hass, wifi)
    assert current.attributes[ATTR_LATEST_VERSION] == NEW_VERSION
    assert current.attributes[ATTR_INSTALLED_VERSION] == "00000001"
    # Before Install: it says that Install only downloads, and which action confirms.
    assert current.attributes["firmware_state"] == "offered"
    summary = current.attributes["release_summary"]
    assert summary.startswith("Install only downloads this firmware")
    assert "gizwits_device.confirm_firmware_installed" in summary
    mcu = entity_id(hass, entry, "update", "mcu_firmware")
    assert state(hass, mcu).state == "off"  # only the WiFi firmware was checked

    firmware_event = entity_id(hass, entry, "event", "firmware")
    events = StateRecorder(hass, firmware_event)
    progress = StateRecorder(hass, wifi)
    await _install(hass, wifi)
    await hass.async_block_till_done()

    path = _firmware_dir(config_dir, entry) / f"wifi-{NEW_VERSION}.bin"
    assert path.read_bytes() == FIRMWARE
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left

    assert len(events.states) == 1
    fired = events.states[0].attributes
    assert fired["event_type"] == "firmware_downloaded"
    assert fired["firmware_type"] == "wifi"
    assert fired["version"] == NEW_VERSION
    assert fired["path"] == str(path)
    assert fired["size"] == len(FIRMWARE)
    assert fired["md5"] == offer.md5 == hashlib.md5(FIRMWARE).hexdigest()
    assert fired["verified"] is True  # against the download's Firmware-MD5 (protocol.md §7)

    # Downloaded is not installed (issue 8.6): nothing changes until the flashing is confirmed.
    current = state(hass, wifi)
    assert current.attributes["checksum_verified"] is True
    assert current.attributes["firmware_path"] == str(path)
    assert current.attributes["firmware_state"] == "waiting_to_be_flashed"
    assert current.attributes["release_summary"].startswith("Downloaded, waiting to be flashed")
    assert "gizwits_device.confirm_firmware_installed" in current.attributes["release_summary"]
    assert current.state == "on"
    assert current.attributes[ATTR_INSTALLED_VERSION] == "00000001"
    assert current.attributes[ATTR_IN_PROGRESS] is False
    assert entry.data[CONF_WIFI_SOFT_VERSION] == "00000001"
    assert emulator.state.devices[device.did].versions[1] == ("00000001", "00000001")
    page = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, str(entry.unique_id)), entry.entry_id
    )
    assert page is not None
    assert page.sw_version == "WiFi 00000001 / MCU 00000001"

    await _confirm(hass, entry, "wifi")
    current = state(hass, wifi)
    assert current.state == "off"
    assert current.attributes[ATTR_INSTALLED_VERSION] == NEW_VERSION
    assert current.attributes["firmware_state"] == "flashed"
    assert current.attributes["release_summary"] is None
    assert entry.data[CONF_WIFI_SOFT_VERSION] == NEW_VERSION
    # The v4.1 call reported the version now installed (protocol.md §7).
    assert emulator.state.devices[device.did].versions[1] == ("00000001", NEW_VERSION)
    # The device card follows without a reload.
    page = dr.async_get(hass).async_get(page.id)
    assert page is not None
    assert page.sw_version == f"WiFi {NEW_VERSION} / MCU 00000001"

    assert any(s.attributes[ATTR_IN_PROGRESS] for s in progress.states)
    percentages = [p for p in progress.attributes(ATTR_UPDATE_PERCENTAGE) if p is not None]
    assert percentages
    assert percentages == sorted(percentages)
    assert percentages[-1] == 100


async def test_install_v40_push(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    device: TestDevice,
    loaded: MockConfigEntry,
    config_dir: Path,
    hass_storage: dict[str, Any],
) -> None:
    """0x020E names a target fid; installing it records the fid (not a version)."""
    entry = loaded
    offer = emulator.state.set_offer(
        EmulatorOffer(firmware_type=2, soft_version="00000009", data=b"mcu image"),
        did=device.did,
    )
    url = f"{emulator.gservice_url}/dev/ota/download/{offer.target_fid}"
    mcu = entity_id(hass, entry, "update", "mcu_firmware")
    await emulator.cloud.notify_ota(device.did, FirmwareType.MCU, offer.target_fid, url)
    current = await wait_state(hass, mcu, lambda s: s.state == "on")
    assert current.attributes[ATTR_LATEST_VERSION] == f"fid {offer.target_fid}"

    await _install(hass, mcu)
    await hass.async_block_till_done()

    path = _firmware_dir(config_dir, entry) / f"mcu-fid_{offer.target_fid}.bin"
    assert path.read_bytes() == b"mcu image"
    coordinator = entry.runtime_data.coordinator
    # Downloaded only: the fid is recorded once the flashing is confirmed.
    assert coordinator.data.firmware.current_fid == {}
    assert state(hass, mcu).state == "on"
    stored = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]
    assert stored["pending"]["2"]["target_fid"] == offer.target_fid
    await _confirm(hass, entry, "mcu")
    assert coordinator.data.firmware.current_fid == {FirmwareType.MCU: offer.target_fid}
    stored = hass_storage[f"{DOMAIN}.{entry.entry_id}"]["data"]
    assert stored["current_fid"] == {"2": offer.target_fid}
    current = state(hass, mcu)
    assert current.state == "off"
    assert current.attributes[ATTR_INSTALLED_VERSION] == entry.data[CONF_MCU_SOFT_VERSION]

    # The fid now installed is not offered again; another one is.
    await emulator.cloud.notify_ota(device.did, FirmwareType.MCU, offer.target_fid, url)
    await emulator.cloud.push_online_apps(device.did, 7)  # a later frame, as a marker
    await wait_until(lambda: coordinator.data.online_apps == 7)
    assert state(hass, mcu).state == "off"
    await emulator.cloud.notify_ota(device.did, FirmwareType.MCU, offer.target_fid + 1, url)
    await wait_state(hass, mcu, lambda s: s.state == "on")


async def test_firmware_without_md5_is_never_called_verified(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, loaded: MockConfigEntry
) -> None:
    """protocol.md §7: a download without a Firmware-MD5 header is kept but not verified;
    the update entity and the firmware_downloaded event say so."""
    served = b"unchecked image"

    async def no_header(request: web.Request) -> web.StreamResponse:
        return web.Response(body=served)

    mcu = entity_id(hass, loaded, "update", "mcu_firmware")
    events = StateRecorder(hass, entity_id(hass, loaded, "event", "firmware"))
    async with serve(scripted_app(no_header)) as url:
        await emulator.cloud.notify_ota(device.did, FirmwareType.MCU, 4242, f"{url}/fw.bin")
        await wait_state(hass, mcu, lambda s: s.state == "on")
        await _install(hass, mcu)
        await hass.async_block_till_done()
    fired = events.states[-1].attributes
    assert fired["verified"] is False
    assert fired["md5"] == hashlib.md5(served).hexdigest()
    current = state(hass, mcu)
    assert current.attributes["checksum_verified"] is False
    assert current.attributes["firmware_md5"] == hashlib.md5(served).hexdigest()


async def test_check_falls_back_to_v40(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, loaded: MockConfigEntry
) -> None:
    """v4.1 answers "no push rule" (any non-200 = no update, §7) → the v4.0 target-fid check
    still offers a newer firmware by its fid; one that is not newer is recorded, not offered."""
    offer = emulator.state.set_offer(
        EmulatorOffer(firmware_type=2, soft_version=NEW_VERSION, data=b"x"),
        product_key=PRODUCT_KEY,
    )
    mcu = entity_id(hass, loaded, "update", "mcu_firmware")
    emulator.state.inject_fault("ota_update_and_check", "status", status=400)
    await emulator.cloud.notify_ota_check(device.did, FirmwareType.MCU)
    current = await wait_state(hass, mcu, lambda s: s.state == "on")
    assert current.attributes[ATTR_LATEST_VERSION] == f"fid {offer.target_fid}"

    # Withdrawn at GService: the next check clears it.
    emulator.state.clear_offers()
    await emulator.cloud.notify_ota_check(device.did, FirmwareType.MCU)
    await wait_state(hass, mcu, lambda s: s.state == "off")

    # A v4.0 target that is the version already running: its fid is remembered, no offer.
    same = emulator.state.set_offer(
        EmulatorOffer(firmware_type=2, soft_version="00000001", data=b"y"),
        product_key=PRODUCT_KEY,
    )
    coordinator = loaded.runtime_data.coordinator
    await emulator.cloud.notify_ota_check(device.did, FirmwareType.MCU)
    await wait_until(
        lambda: coordinator.data.firmware.current_fid.get(FirmwareType.MCU) == same.target_fid
    )
    assert state(hass, mcu).state == "off"


async def test_failed_check_keeps_the_offer(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, loaded: MockConfigEntry
) -> None:
    """A GService error during the check keeps what was known (protocol.md §2)."""
    wifi, _ = await _offer_wifi_via_0x0211(hass, emulator, device, loaded)
    emulator.state.clear_offers()
    emulator.state.inject_fault("ota_update_and_check", "status")
    await emulator.cloud.notify_ota_check(device.did, FirmwareType.WIFI)
    await wait_until(lambda: not emulator.state.faults.get("ota_update_and_check"))
    ota_task = loaded.runtime_data.coordinator.device.firmware._task
    assert ota_task is not None
    await wait_until(ota_task.done)
    assert state(hass, wifi).state == "on"


async def test_bad_checksum_is_refused(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    loaded: MockConfigEntry,
    config_dir: Path,
) -> None:
    """Corrupted bytes (MD5 header mismatch): error, no file kept, no event, still offered."""
    entry = loaded
    wifi, _ = await _offer_wifi_via_0x0211(hass, emulator, device, entry)
    events = StateRecorder(hass, entity_id(hass, entry, "event", "firmware"))
    emulator.state.inject_fault("firmware", "garbage")

    with pytest.raises(HomeAssistantError) as err:
        await _install(hass, wifi)
    assert err.value.translation_key == "firmware_failed"
    assert "MD5" in str(err.value.translation_placeholders)
    await hass.async_block_till_done()

    assert list(_firmware_dir(config_dir, entry).iterdir()) == []
    assert events.states == []
    current = state(hass, wifi)
    assert current.state == "on"
    assert current.attributes[ATTR_IN_PROGRESS] is False
    assert current.attributes[ATTR_INSTALLED_VERSION] == "00000001"
    assert entry.data[CONF_WIFI_SOFT_VERSION] == "00000001"


async def test_download_error_is_refused(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    loaded: MockConfigEntry,
    config_dir: Path,
) -> None:
    """An HTTP error on the download is a HomeAssistantError too."""
    wifi, _ = await _offer_wifi_via_0x0211(hass, emulator, device, loaded)
    emulator.state.inject_fault("firmware", "status", status=503)
    with pytest.raises(HomeAssistantError) as err:
        await _install(hass, wifi)
    assert err.value.translation_key == "firmware_failed"
    assert list(_firmware_dir(config_dir, loaded).iterdir()) == []


async def test_report_failure_still_installs(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    device: TestDevice,
    loaded: MockConfigEntry,
    config_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GService failing the version report only logs a warning; the confirmation stands."""
    wifi, _ = await _offer_wifi_via_0x0211(hass, emulator, device, loaded)
    await _install(hass, wifi)
    emulator.state.inject_fault("ota_update_and_check", "status")
    with caplog.at_level(logging.WARNING):
        await _confirm(hass, loaded, "wifi")
    assert "Could not report the new firmware version" in caplog.text
    assert state(hass, wifi).attributes[ATTR_INSTALLED_VERSION] == NEW_VERSION
    assert (_firmware_dir(config_dir, loaded) / f"wifi-{NEW_VERSION}.bin").exists()


async def test_install_with_nothing_offered(
    hass: HomeAssistant, loaded: MockConfigEntry, config_dir: Path
) -> None:
    """Nothing offered: the install action and the entity itself both refuse."""
    wifi = entity_id(hass, loaded, "update", "wifi_firmware")
    with pytest.raises(HomeAssistantError):
        await _install(hass, wifi)

    entity = hass.data[DATA_COMPONENT].get_entity(wifi)
    assert entity is not None
    with pytest.raises(HomeAssistantError) as err:
        await entity.async_install(None, False)
    assert err.value.translation_key == "no_update"
    assert state(hass, wifi).attributes[ATTR_IN_PROGRESS] is False
    assert not (config_dir / FIRMWARE_DIR).exists()


async def test_new_check_replaces_a_hanging_one(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, loaded: MockConfigEntry
) -> None:
    """A 0x0211 while an earlier check hangs at GService cancels it and checks again."""
    coordinator = loaded.runtime_data.coordinator
    emulator.state.inject_fault("ota_update_and_check", "hang")
    await emulator.cloud.notify_ota_check(device.did, FirmwareType.WIFI)
    await wait_until(lambda: not emulator.state.faults.get("ota_update_and_check"))
    hanging = coordinator.device.firmware._task
    assert hanging is not None
    assert not hanging.done()

    wifi, _ = await _offer_wifi_via_0x0211(hass, emulator, device, loaded)
    assert hanging.cancelled()
    assert state(hass, wifi).attributes[ATTR_LATEST_VERSION] == NEW_VERSION


async def test_installed_v41_firmware_is_not_offered_again_by_v40(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    loaded: MockConfigEntry,
) -> None:
    """After a v4.1 install (which names no fid), the v4.0 check that follows a reload finds
    the same firmware as its target: it is recorded as installed, not offered again."""
    entry = loaded
    wifi, offer = await _offer_wifi_via_0x0211(hass, emulator, device, entry)
    await _install(hass, wifi)
    await hass.async_block_till_done()
    await _confirm(hass, entry, "wifi")
    assert state(hass, wifi).state == "off"

    assert await hass.config_entries.async_reload(entry.entry_id)
    coordinator = entry.runtime_data.coordinator
    await wait_until(
        lambda: (
            coordinator.device.firmware._task is not None
            and coordinator.device.firmware._task.done()
        )
    )
    await hass.async_block_till_done()
    current = state(hass, wifi)
    assert current.state == "off"
    assert current.attributes[ATTR_INSTALLED_VERSION] == NEW_VERSION
    assert coordinator.data.firmware.current_fid[FirmwareType.WIFI] == offer.target_fid


async def test_installing_twice_downloads_and_announces_once(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    loaded: MockConfigEntry,
    config_dir: Path,
) -> None:
    """A firmware already downloaded and intact (same offer, file there, MD5 as recorded) is
    not fetched or announced again: a flashing automation runs once. A missing or changed file
    is downloaded again (protocol.md §7)."""
    served = b"mcu image v7"
    requests: list[str] = []

    async def firmware(request: web.Request) -> web.StreamResponse:
        requests.append(request.path)
        return web.Response(body=served)

    mcu = entity_id(hass, loaded, "update", "mcu_firmware")
    events = StateRecorder(hass, entity_id(hass, loaded, "event", "firmware"))
    announced = async_capture_events(hass, BUS_EVENT_FIRMWARE_DOWNLOADED)
    async with serve(scripted_app(firmware)) as url:
        await emulator.cloud.notify_ota(device.did, FirmwareType.MCU, 77, f"{url}/fw.bin")
        await wait_state(hass, mcu, lambda s: s.state == "on")
        for _ in range(2):
            await _install(hass, mcu)
            await hass.async_block_till_done()
        assert len(requests) == 1
        assert len(events.states) == 1
        assert len(announced) == 1
        path = _firmware_dir(config_dir, loaded) / "mcu-fid_77.bin"
        assert state(hass, mcu).attributes["firmware_path"] == str(path)

        path.write_bytes(b"tampered")
        await _install(hass, mcu)
        await hass.async_block_till_done()
        path.unlink()
        await _install(hass, mcu)
        await hass.async_block_till_done()
    assert len(requests) == 3
    assert len(announced) == 3
    assert path.read_bytes() == served


async def test_release_summary_follows_the_language(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, loaded: MockConfigEntry
) -> None:
    """The summary before Install is in Home Assistant's language (简体中文 here)."""
    hass.config.language = "zh-Hans"
    await async_get_translations(hass, "zh-Hans", "entity", {DOMAIN})
    mcu = entity_id(hass, loaded, "update", "mcu_firmware")
    await emulator.cloud.notify_ota(device.did, FirmwareType.MCU, 88, "http://127.0.0.1:9/fw.bin")
    current = await wait_state(hass, mcu, lambda s: s.state == "on")
    assert current.attributes["release_summary"].startswith("“安装”只会下载此固件")
