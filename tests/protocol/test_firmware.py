"""Firmware download: atomic write, size limit, MD5 check (protocol.md §7: GAgent verifies the
`Firmware-MD5` download header, 32 hex digits, against the received bytes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import hashlib
import os
from pathlib import Path
import stat

import aiohttp
from aiohttp import web
import pytest

from custom_components.gizwits_device.protocol import GizwitsError
from custom_components.gizwits_device.protocol.firmware import (
    DownloadedFirmware,
    FirmwareChecksumError,
    FirmwareDownloadError,
    FirmwareError,
    FirmwareTooLarge,
    download_firmware,
)
from emulator.state import CloudState, FirmwareOffer
from tests.gservice_servers import (
    PRODUCT_KEY,
    Handler,
    closed_port,
    new_state,
    scripted_app,
    serve,
    serve_emulator,
)

DATA = bytes(range(256)) * 2400  # 614400 bytes: several write batches
MD5 = hashlib.md5(DATA).hexdigest()


@pytest.fixture
def state() -> CloudState:
    return new_state()


@pytest.fixture
async def firmware_url(state: CloudState) -> AsyncIterator[str]:
    offer = state.set_offer(FirmwareOffer(1, "04020021", DATA), product_key=PRODUCT_KEY)
    async with serve_emulator(state) as url:
        yield f"{url}/firmware/{offer.target_fid}"


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def test_download_good(
    http: aiohttp.ClientSession, firmware_url: str, tmp_path: Path
) -> None:
    dest = tmp_path / "fw.bin"
    seen: list[tuple[int, int | None]] = []
    result = await download_firmware(
        http,
        firmware_url,
        dest,
        max_size=len(DATA),
        expected_md5=None,  # the Firmware-MD5 header is enough
        progress=lambda done, total: seen.append((done, total)),
    )
    assert result == DownloadedFirmware(dest, len(DATA), MD5, verified=True)
    assert dest.read_bytes() == DATA
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert leftovers(tmp_path) == ["fw.bin"]
    assert seen[-1] == (len(DATA), len(DATA))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


async def test_download_replaces_an_existing_file(
    http: aiohttp.ClientSession, firmware_url: str, tmp_path: Path
) -> None:
    dest = tmp_path / "fw.bin"
    dest.write_bytes(b"old")
    await download_firmware(http, firmware_url, dest, max_size=10**7, expected_md5=MD5.upper())
    assert dest.read_bytes() == DATA


async def test_bad_expected_md5(
    http: aiohttp.ClientSession, firmware_url: str, tmp_path: Path
) -> None:
    dest = tmp_path / "fw.bin"
    with pytest.raises(FirmwareChecksumError, match="mismatch") as info:
        await download_firmware(http, firmware_url, dest, max_size=10**7, expected_md5="0" * 32)
    assert isinstance(info.value, GizwitsError)
    assert leftovers(tmp_path) == []


async def test_corrupted_transfer_fails_the_header_md5(
    http: aiohttp.ClientSession, firmware_url: str, state: CloudState, tmp_path: Path
) -> None:
    state.inject_fault("firmware", "garbage")
    with pytest.raises(FirmwareChecksumError, match="Firmware-MD5"):
        await download_firmware(
            http, firmware_url, tmp_path / "fw.bin", max_size=10**7, expected_md5=None
        )
    assert leftovers(tmp_path) == []


async def test_too_large_by_content_length(
    http: aiohttp.ClientSession, firmware_url: str, tmp_path: Path
) -> None:
    with pytest.raises(FirmwareTooLarge):
        await download_firmware(
            http, firmware_url, tmp_path / "fw.bin", max_size=len(DATA) - 1, expected_md5=MD5
        )
    assert leftovers(tmp_path) == []


def chunked(body: bytes, headers: dict[str, str] | None = None) -> Handler:
    """Stream `body` chunked (no Content-Length)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers=headers or {})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 4096):
            await response.write(body[start : start + 4096])
        await response.write_eof()
        return response

    return handler


async def test_too_large_while_streaming(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    async with serve(scripted_app(chunked(DATA))) as url:
        with pytest.raises(FirmwareTooLarge):
            await download_firmware(
                http, url, tmp_path / "fw.bin", max_size=300_000, expected_md5=MD5
            )
    assert leftovers(tmp_path) == []


async def test_chunked_download_reports_unknown_total(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    seen: list[int | None] = []
    async with serve(scripted_app(chunked(DATA[:5000]))) as url:
        result = await download_firmware(
            http,
            url,
            tmp_path / "fw.bin",
            max_size=5000,
            expected_md5=hashlib.md5(DATA[:5000]).hexdigest(),
            progress=lambda _done, total: seen.append(total),
        )
    assert result.size == 5000
    assert set(seen) == {None}


async def test_malformed_md5_header(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    async with serve(scripted_app(chunked(b"data", {"Firmware-MD5": "xyz"}))) as url:
        with pytest.raises(FirmwareChecksumError, match="Firmware-MD5"):
            await download_firmware(http, url, tmp_path / "fw.bin", max_size=10, expected_md5=None)
    assert leftovers(tmp_path) == []


async def test_no_md5_given_still_downloads_and_reports_md5(
    http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    """protocol.md §7: verified only against a Firmware-MD5 header (or a given MD5); without
    one the file is kept, its MD5 reported, and it is not called verified."""
    async with serve(scripted_app(chunked(b"data", {}))) as url:
        result = await download_firmware(
            http, url, tmp_path / "fw.bin", max_size=10, expected_md5=None
        )
        given = await download_firmware(
            http,
            url,
            tmp_path / "fw2.bin",
            max_size=10,
            expected_md5=hashlib.md5(b"data").hexdigest(),
        )
    assert result.md5 == hashlib.md5(b"data").hexdigest()
    assert result.verified is False
    assert given.verified is True
    assert (tmp_path / "fw.bin").read_bytes() == b"data"


async def test_malformed_expected_md5(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    with pytest.raises(FirmwareChecksumError, match="expected_md5"):
        await download_firmware(
            http, "http://127.0.0.1:1/", tmp_path / "f", max_size=1, expected_md5="abc"
        )
    with pytest.raises(ValueError, match="max_size"):
        await download_firmware(
            http, "http://127.0.0.1:1/", tmp_path / "f", max_size=0, expected_md5=None
        )


async def test_empty_firmware(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    headers = {"Firmware-MD5": hashlib.md5(b"").hexdigest()}
    async with serve(scripted_app(chunked(b"", headers))) as url:
        with pytest.raises(FirmwareDownloadError, match="empty"):
            await download_firmware(http, url, tmp_path / "fw.bin", max_size=10, expected_md5=None)
    assert leftovers(tmp_path) == []


async def test_server_error(
    http: aiohttp.ClientSession, firmware_url: str, state: CloudState, tmp_path: Path
) -> None:
    state.inject_fault("firmware", "status", status=502)
    with pytest.raises(FirmwareDownloadError) as info:
        await download_firmware(
            http, firmware_url, tmp_path / "fw.bin", max_size=10**7, expected_md5=MD5
        )
    assert info.value.status == 502
    assert leftovers(tmp_path) == []


async def test_unknown_firmware_id(
    http: aiohttp.ClientSession, firmware_url: str, tmp_path: Path
) -> None:
    url = firmware_url.rsplit("/", 1)[0] + "/999999"
    with pytest.raises(FirmwareDownloadError) as info:
        await download_firmware(http, url, tmp_path / "fw.bin", max_size=10, expected_md5=MD5)
    assert info.value.status == 404


async def test_connection_refused(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/firmware/1"
    with pytest.raises(FirmwareDownloadError, match="download failed"):
        await download_firmware(http, url, tmp_path / "fw.bin", max_size=10, expected_md5=MD5)
    assert leftovers(tmp_path) == []


async def test_truncated_body(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Firmware-MD5": MD5})
        response.content_length = len(DATA)
        await response.prepare(request)
        await response.write(DATA[:1000])
        assert request.transport is not None
        request.transport.close()
        return response

    async with serve(scripted_app(handler)) as url:
        with pytest.raises(FirmwareDownloadError):
            await download_firmware(
                http, url, tmp_path / "fw.bin", max_size=10**7, expected_md5=None
            )
    assert leftovers(tmp_path) == []


async def test_stalled_download_times_out(
    http: aiohttp.ClientSession, firmware_url: str, state: CloudState, tmp_path: Path
) -> None:
    state.inject_fault("firmware", "stall")
    with pytest.raises(FirmwareDownloadError, match="timed out"):
        await download_firmware(
            http,
            firmware_url,
            tmp_path / "fw.bin",
            max_size=10**7,
            expected_md5=MD5,
            timeout=0.3,
        )
    assert leftovers(tmp_path) == []


async def test_cancelled_mid_way_leaves_nothing(
    http: aiohttp.ClientSession, firmware_url: str, state: CloudState, tmp_path: Path
) -> None:
    state.inject_fault("firmware", "stall")
    started = asyncio.Event()
    task = asyncio.create_task(
        download_firmware(
            http,
            firmware_url,
            tmp_path / "fw.bin",
            max_size=10**7,
            expected_md5=MD5,
            progress=lambda _done, _total: started.set(),
        )
    )
    async with asyncio.timeout(10):
        await started.wait()
    assert any(name.endswith(".part") for name in leftovers(tmp_path))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert leftovers(tmp_path) == []


async def test_destination_directory_missing(
    http: aiohttp.ClientSession, firmware_url: str, tmp_path: Path
) -> None:
    with pytest.raises(FirmwareError, match="cannot create"):
        await download_firmware(
            http, firmware_url, tmp_path / "nope" / "fw.bin", max_size=10**7, expected_md5=MD5
        )


async def test_rename_failure_cleans_up(
    http: aiohttp.ClientSession, firmware_url: str, tmp_path: Path
) -> None:
    dest = tmp_path / "fw.bin"
    dest.mkdir()
    (dest / "occupied").write_bytes(b"")  # os.replace cannot overwrite a non-empty directory
    with pytest.raises(FirmwareError, match="cannot write"):
        await download_firmware(http, firmware_url, dest, max_size=10**7, expected_md5=MD5)
    assert leftovers(tmp_path) == ["fw.bin"]
    assert os.listdir(dest) == ["occupied"]
