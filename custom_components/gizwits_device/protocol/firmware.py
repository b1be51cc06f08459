"""Firmware download with size limit and MD5 check (protocol.md §7: download → store → MD5).

GAgent reads the expected MD5 from the download response's `Firmware-MD5` header (32 hex
digits) and compares it with the MD5 of the received bytes. Here the bytes are streamed to a
temporary file next to the destination and renamed into place only when everything checks
out, so no half-written or unverified file is ever left behind. Nothing is executed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
import hashlib
import os
from pathlib import Path
import re
import tempfile
from typing import Any, BinaryIO, Final

import aiohttp

from .errors import GizwitsError, GizwitsValueError

MD5_HEADER: Final = "Firmware-MD5"
FILE_MODE: Final = 0o644
CHUNK_SIZE: Final = 64 * 1024
# Writes are batched so each executor hop carries a useful amount of data.
WRITE_BATCH: Final = 256 * 1024

_MD5_RE: Final = re.compile(r"[0-9A-Fa-f]{32}")

type ProgressCallback = Callable[[int, int | None], None]


class FirmwareError(GizwitsError):
    """Any firmware download failure (also local I/O errors)."""


class FirmwareTooLarge(FirmwareError):
    """The firmware is larger than allowed."""


class FirmwareChecksumError(FirmwareError):
    """The MD5 does not match or is malformed."""


class FirmwareDownloadError(FirmwareError):
    """HTTP error status, connection failure, timeout or truncated body."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class DownloadedFirmware:
    """A downloaded firmware file and its MD5.

    `verified` is True only when a checksum was given (the `Firmware-MD5` header or the
    caller's) and matched; without one the MD5 is just what arrived.
    """

    path: Path
    size: int
    md5: str
    verified: bool


def _check_md5(value: str, source: str) -> str:
    if not _MD5_RE.fullmatch(value):
        raise FirmwareChecksumError(f"{source} is not 32 hex digits: {value[:40]!r}")
    return value.lower()


class _TempFile:
    """A temp file in the destination directory; every file operation runs in a thread.

    Each operation is shielded: a cancellation never leaves a thread writing to a closed file,
    a rename half done, or the temp file behind.
    """

    def __init__(self, file: BinaryIO, path: Path) -> None:
        self.path = path
        self._file = file
        self._pending: asyncio.Future[Any] | None = None

    @classmethod
    async def create(cls, dest: Path) -> _TempFile:
        def open_temp() -> tuple[BinaryIO, Path]:
            fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
            return os.fdopen(fd, "wb"), Path(name)

        file, path = await asyncio.to_thread(open_temp)
        return cls(file, path)

    async def _run(self, func: Callable[[], object]) -> None:
        task = asyncio.ensure_future(asyncio.to_thread(func))
        self._pending = task
        await asyncio.shield(task)

    async def write(self, data: bytes) -> None:
        await self._run(partial(self._file.write, data))

    async def commit(self, dest: Path) -> None:
        def finish() -> None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.chmod(self.path, FILE_MODE)
            os.replace(self.path, dest)

        # Once started, the rename either happens fully or not at all.
        await self._run(finish)

    async def discard(self) -> None:
        """Remove the temp file; safe to call during cancellation and more than once."""
        # Let an in-flight write or rename finish first; instant if already done.
        if self._pending is not None:
            await asyncio.wait([self._pending])

        def remove() -> None:
            self._file.close()
            self.path.unlink(missing_ok=True)

        await self._run(remove)


async def download_firmware(
    session: aiohttp.ClientSession,
    url: str,
    dest: Path,
    *,
    max_size: int,
    expected_md5: str | None,
    progress: ProgressCallback | None = None,
    timeout: float = 60.0,  # noqa: ASYNC109 - per-read/connect limit, not a deadline
) -> DownloadedFirmware:
    """Download `url` to `dest` (atomically); verify size and MD5.

    The MD5 is checked against `expected_md5` and against the `Firmware-MD5` header when
    present; a mismatch is refused and nothing is kept. With neither, the file is kept but
    not called verified. `timeout` bounds connecting and each read.
    """
    if max_size <= 0:
        raise GizwitsValueError("max_size must be positive")
    wanted = _check_md5(expected_md5, "expected_md5") if expected_md5 is not None else None
    client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
    temp: _TempFile | None = None
    committed = False
    try:
        async with session.get(url, timeout=client_timeout) as resp:
            if resp.status != 200:
                raise FirmwareDownloadError(
                    f"download failed: HTTP {resp.status}", status=resp.status
                )
            header = resp.headers.get(MD5_HEADER)
            header_md5 = _check_md5(header.strip(), MD5_HEADER) if header is not None else None
            # Verified when the cloud (or the caller) gives a checksum; otherwise the MD5 of
            # what arrived is still computed and returned so the user can check it.
            total = resp.content_length
            if total is not None and total > max_size:
                raise FirmwareTooLarge(f"firmware is {total} bytes, limit is {max_size}")
            try:
                temp = await _TempFile.create(dest)
            except OSError as err:
                raise FirmwareError(f"cannot create a file next to {dest}: {err}") from err
            digest = hashlib.md5(usedforsecurity=False)
            received = 0
            batch = bytearray()
            async for chunk in resp.content.iter_chunked(CHUNK_SIZE):
                received += len(chunk)
                if received > max_size:
                    raise FirmwareTooLarge(f"firmware exceeds the limit of {max_size} bytes")
                digest.update(chunk)
                batch += chunk
                if len(batch) >= WRITE_BATCH:
                    await temp.write(bytes(batch))
                    batch.clear()
                if progress is not None:
                    progress(received, total)
            if batch:
                await temp.write(bytes(batch))
        if received == 0:
            raise FirmwareDownloadError("firmware is empty", status=200)
        actual = digest.hexdigest()
        for source, md5 in (("expected", wanted), (MD5_HEADER, header_md5)):
            if md5 is not None and md5 != actual:
                raise FirmwareChecksumError(f"MD5 mismatch: {source} {md5}, got {actual}")
        await temp.commit(dest)
        committed = True
        return DownloadedFirmware(
            dest, received, actual, verified=wanted is not None or header_md5 is not None
        )
    except FirmwareError:
        raise
    except TimeoutError as err:
        raise FirmwareDownloadError("download timed out") from err
    except aiohttp.ClientError as err:
        raise FirmwareDownloadError(f"download failed: {err}") from err
    except OSError as err:
        raise FirmwareError(f"cannot write firmware to {dest}: {err}") from err
    finally:
        if temp is not None and not committed:
            await temp.discard()


__all__ = [
    "DownloadedFirmware",
    "FirmwareChecksumError",
    "FirmwareDownloadError",
    "FirmwareError",
    "FirmwareTooLarge",
    "download_firmware",
]
