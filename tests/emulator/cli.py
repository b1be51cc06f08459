"""Run `python -m emulator app ...` as a subprocess against a running emulator."""

from __future__ import annotations

import asyncio
from pathlib import Path
import sys

from emulator.server import Emulator

REPO = Path(__file__).resolve().parents[2]


async def start_cli(emu: Emulator, did: str, *args: str) -> asyncio.subprocess.Process:
    """Start the app CLI for `did`; stdout/stderr piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "emulator",
        "app",
        "--did",
        did,
        "--url",
        emu.gservice_url,
        *args,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(proc: asyncio.subprocess.Process) -> tuple[int, str, str]:
    """Wait for the CLI to exit: return code, stdout, stderr."""
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def run_cli(emu: Emulator, did: str, *args: str) -> tuple[int, str, str]:
    """Run the CLI to completion."""
    return await finish(await start_cli(emu, did, *args))
