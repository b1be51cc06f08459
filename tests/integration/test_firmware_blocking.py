"""Firmware downloads never block the event loop (protocol.md §7: download → store → MD5).

Home Assistant's blocking-call detector (homeassistant.block_async_io, enabled by bootstrap in a
real Home Assistant) is turned on here, with the file operations a download makes added to it
through the same helper (homeassistant.util.loop.protect_loop, strict): each of them called on
the event loop raises RuntimeError and logs "Detected blocking call".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
import os
from pathlib import Path
import tempfile
import threading
from typing import TYPE_CHECKING, Any

from homeassistant import block_async_io
from homeassistant.components.update import DOMAIN as UPDATE_DOMAIN, SERVICE_INSTALL
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.loop import protect_loop
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.const import FIRMWARE_DIR
from custom_components.gizwits_device.protocol import FirmwareType, firmware
from custom_components.gizwits_device.update import FIRMWARE_WAITING
from emulator.state import FirmwareOffer
from tests.conftest import PRODUCT_KEY

from .helpers import TestDevice, entity_id, state, wait_state, wait_until

if TYPE_CHECKING:
    from emulator.server import Emulator

# What a download does with its files, besides HA's own list (open is skipped in tests there).
FILE_OPERATIONS: tuple[tuple[object, str], ...] = (
    (os, "fdopen"),
    (os, "fsync"),
    (os, "chmod"),
    (os, "replace"),
    (os, "unlink"),
    (Path, "unlink"),
    (tempfile, "mkstemp"),
)
FIRMWARE = bytes(range(256)) * 300


@contextmanager
def blocking_detector() -> Iterator[None]:
    """HA's blocking-call detector on, plus the download's file operations; off afterwards.

    Used inside the tests only: fixtures and their teardown do file work on the loop's thread.
    """
    block_async_io.enable()
    loop_thread = threading.get_ident()
    originals = [(owner, name, getattr(owner, name)) for owner, name in FILE_OPERATIONS]
    for owner, name, func in originals:
        setattr(owner, name, protect_loop(func, loop_thread_id=loop_thread, strict=True))
    try:
        yield
    finally:
        for owner, name, func in originals:
            setattr(owner, name, func)
        calls = block_async_io._BLOCKED_CALLS.calls
        for call in calls:
            setattr(call.object, call.function, call.original_func)
        calls.clear()


@pytest.fixture
async def offered(
    hass: HomeAssistant,
    tmp_path: Path,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> tuple[MockConfigEntry, str]:
    """The entry logged in, a WiFi firmware offered (0x0211 check), downloads under tmp_path."""
    hass.config.config_dir = str(tmp_path)
    entry = setup_integration
    coordinator = entry.runtime_data.coordinator
    await wait_until(
        lambda: (
            coordinator.device.firmware._task is not None
            and coordinator.device.firmware._task.done()
        )
    )
    emulator.state.set_offer(
        FirmwareOffer(firmware_type=1, soft_version="00000002", data=FIRMWARE),
        product_key=PRODUCT_KEY,
    )
    wifi = entity_id(hass, entry, "update", "wifi_firmware")
    await emulator.cloud.notify_ota_check(device.did, FirmwareType.WIFI)
    await wait_state(hass, wifi, lambda s: s.state == "on")
    return entry, wifi


async def _install(hass: HomeAssistant, entity: str) -> None:
    await hass.services.async_call(
        UPDATE_DOMAIN, SERVICE_INSTALL, {ATTR_ENTITY_ID: entity}, blocking=True
    )
    await hass.async_block_till_done()


def _files(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    return sorted(p.name for p in Path(hass.config.path(FIRMWARE_DIR, entry.entry_id)).iterdir())


async def test_detector_is_on(tmp_path: Path) -> None:
    """The negative check of the set-up: an unlink on the event loop is caught."""
    part = tmp_path / "firmware.part"
    with blocking_detector(), pytest.raises(RuntimeError, match="Caught blocking call to unlink"):
        part.unlink(missing_ok=True)


async def test_download_and_refused_download_do_not_block(
    hass: HomeAssistant,
    emulator: Emulator,
    offered: tuple[MockConfigEntry, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refused download (temp file discarded) and a good one (renamed into place)."""
    entry, wifi = offered
    emulator.state.inject_fault("firmware", "garbage")
    with blocking_detector():
        with pytest.raises(HomeAssistantError):
            await _install(hass, wifi)
        assert _files(hass, entry) == []
        await _install(hass, wifi)
    assert _files(hass, entry) == ["wifi-00000002.bin"]
    assert state(hass, wifi).attributes["firmware_state"] == FIRMWARE_WAITING
    assert "Detected blocking call" not in caplog.text


async def test_a_discard_on_the_loop_would_be_caught(
    hass: HomeAssistant,
    emulator: Emulator,
    offered: tuple[MockConfigEntry, str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The detector sees the integration's own code: a discard closing and unlinking the temp
    file on the loop (what it did before) is reported and fails the install."""

    async def discard_on_the_loop(self: Any) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)

    monkeypatch.setattr(firmware._TempFile, "discard", discard_on_the_loop)
    _, wifi = offered
    emulator.state.inject_fault("firmware", "garbage")
    with (
        blocking_detector(),
        pytest.raises(RuntimeError, match="Caught blocking call to unlink"),
    ):
        await _install(hass, wifi)
    assert "Detected blocking call to unlink" in caplog.text
    assert "custom integration 'gizwits_device'" in caplog.text
