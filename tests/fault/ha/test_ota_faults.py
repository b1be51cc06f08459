"""Firmware downloads that go wrong (protocol.md §7: download → store → MD5 check → upgrade).

The cloud pushes a v4.0 OTA notification (0x020E) whose URL points at a scripted loopback
server; the user installs it from the update entity. Too large (declared or streamed),
truncated, stalled, 404, redirected to another scheme, an MD5 that does not match or is not
an MD5, an empty body: the install fails with a clear, translated error, no file (not even a
partial one) is left in the firmware directory, the offer stays for a retry, and nothing is
announced. A good download is stored without any execute permission.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import functools
import hashlib
from pathlib import Path
import stat
from typing import TYPE_CHECKING

from aiohttp import web
from homeassistant.components.update import DOMAIN as UPDATE_DOMAIN, SERVICE_INSTALL
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device import endpoint
from custom_components.gizwits_device.const import BUS_EVENT_FIRMWARE_DOWNLOADED, FIRMWARE_DIR
from custom_components.gizwits_device.protocol import FirmwareType, download_firmware
from custom_components.gizwits_device.protocol.device import firmware as device_firmware
from tests.gservice_servers import scripted_app, serve
from tests.integration.helpers import entity_id, wait_state

if TYPE_CHECKING:
    from emulator.server import Emulator
    from tests.integration.conftest import TestDevice

LIMIT = 64 * 1024
IMAGE = bytes(range(256)) * 64  # 16 KiB
IMAGE_MD5 = hashlib.md5(IMAGE).hexdigest()
OTHER_MD5 = hashlib.md5(b"another image").hexdigest()
READ_TIMEOUT = 0.5


async def _too_large_declared(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b"\x00" * (LIMIT + 1))


async def _too_large_streamed(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.enable_chunked_encoding()
    await response.prepare(request)
    for _ in range(LIMIT // 4096 + 2):
        await response.write(b"\x00" * 4096)
    await response.write_eof()
    return response


async def _truncated(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.content_length = len(IMAGE)
    await response.prepare(request)
    await response.write(IMAGE[: len(IMAGE) // 2])
    assert request.transport is not None
    request.transport.close()
    return response


async def _stalled(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    response.content_length = len(IMAGE)
    await response.prepare(request)
    await response.write(IMAGE[:100])
    await request.app[STALL_RELEASE].wait()
    return response


async def _not_found(request: web.Request) -> web.StreamResponse:
    return web.Response(status=404, text="firmware not found!")


async def _to_ftp(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("ftp://127.0.0.1/firmware.bin")


async def _to_file(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("file:///etc/hostname")


async def _wrong_md5(request: web.Request) -> web.StreamResponse:
    return web.Response(body=IMAGE, headers={"Firmware-MD5": OTHER_MD5})


async def _not_an_md5(request: web.Request) -> web.StreamResponse:
    return web.Response(body=IMAGE, headers={"Firmware-MD5": "../../bin/sh"})


async def _empty(request: web.Request) -> web.StreamResponse:
    return web.Response(body=b"")


async def _good(request: web.Request) -> web.StreamResponse:
    return web.Response(body=IMAGE, headers={"Firmware-MD5": IMAGE_MD5})


STALL_RELEASE = web.AppKey("stall_release", asyncio.Event)
# case → (handler, what the error message says)
CASES = {
    "too_large_declared": (_too_large_declared, "limit"),
    "too_large_streamed": (_too_large_streamed, "limit"),
    "truncated": (_truncated, "download failed"),
    "stalled": (_stalled, "timed out"),
    "404": (_not_found, "HTTP 404"),
    "redirect_to_ftp": (_to_ftp, "download failed"),
    "redirect_to_file": (_to_file, "download failed"),
    "wrong_md5": (_wrong_md5, "MD5 mismatch"),
    "not_an_md5": (_not_an_md5, "32 hex digits"),
    "empty": (_empty, "empty"),
}
HANDLERS = {name: handler for name, (handler, _) in CASES.items()} | {"good": _good}


async def _route(request: web.Request) -> web.StreamResponse:
    return await HANDLERS[request.path.strip("/")](request)


@pytest.fixture
async def firmware_server() -> AsyncIterator[str]:
    app = scripted_app(_route)
    release = asyncio.Event()
    app[STALL_RELEASE] = release

    async def _release(_app: web.Application) -> None:
        release.set()

    app.on_shutdown.append(_release)
    async with serve(app) as url:
        yield url


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A throw-away HA config dir for the downloads."""
    hass.config.config_dir = str(tmp_path)
    return tmp_path


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 64 KiB size limit and a 0.5 s read timeout, so the faults are quick to provoke."""
    monkeypatch.setattr(endpoint, "FIRMWARE_MAX_SIZE", LIMIT)
    monkeypatch.setattr(
        device_firmware,
        "download_firmware",
        functools.partial(download_firmware, timeout=READ_TIMEOUT),
    )


async def _offer_and_install(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    entry: MockConfigEntry,
    url: str,
) -> str:
    """0x020E with `url` (a fresh fid each time), then the update entity's install action."""
    mcu = entity_id(hass, entry, "update", "mcu_firmware")
    fid = abs(hash(url)) % 100_000 + 1
    await emulator.cloud.notify_ota(device.did, FirmwareType.MCU, fid, url)
    await wait_state(hass, mcu, lambda s: s.state == "on")
    await hass.services.async_call(
        UPDATE_DOMAIN, SERVICE_INSTALL, {ATTR_ENTITY_ID: mcu}, blocking=True
    )
    return mcu


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_download_fails_cleanly(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
    firmware_server: str,
    config_dir: Path,
    case: str,
) -> None:
    """A clear translated error; no file left; the offer kept; no download announced."""
    events = []
    hass.bus.async_listen(BUS_EVENT_FIRMWARE_DOWNLOADED, events.append)
    with pytest.raises(HomeAssistantError) as raised:
        await _offer_and_install(
            hass, emulator, device, setup_integration, f"{firmware_server}/{case}"
        )
    assert raised.value.translation_key == "firmware_failed"
    message = raised.value.translation_placeholders["error"]
    assert CASES[case][1] in message, message
    firmware_dir = config_dir / FIRMWARE_DIR
    assert not [p for p in firmware_dir.rglob("*") if p.is_file()]
    coordinator = setup_integration.runtime_data.coordinator
    assert FirmwareType.MCU in coordinator.data.firmware.offers
    assert not coordinator.data.firmware.current_fid
    mcu = entity_id(hass, setup_integration, "update", "mcu_firmware")
    current = hass.states.get(mcu)
    assert current is not None
    assert current.state == "on"
    assert current.attributes["in_progress"] is False
    await hass.async_block_till_done()
    assert events == []


async def test_good_download_is_stored_not_executable(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
    firmware_server: str,
    config_dir: Path,
) -> None:
    """The same path works with a good server: one verified file, no execute bit."""
    await _offer_and_install(hass, emulator, device, setup_integration, f"{firmware_server}/good")
    files = [p for p in (config_dir / FIRMWARE_DIR).rglob("*") if p.is_file()]
    assert len(files) == 1
    assert files[0].read_bytes() == IMAGE
    assert stat.S_IMODE(files[0].stat().st_mode) & 0o111 == 0
