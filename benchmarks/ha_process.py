"""The driver's handle on the Home Assistant process (`ha_host`) and its probe.

`HaProcess` starts `python -m benchmarks.ha_host` with a throw-away config dir, waits for the
probe to answer, sends commands (`call(op, **args)`), reads the process's RSS and CPU time
(psutil) and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
import shutil
import signal
import sys
import tempfile
from typing import Any

import psutil

from emulator.broker import free_port
from emulator.lifecycle import Service

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 120.0
ANSWER_LIMIT = 64 * 1024 * 1024  # one answer can list every state change of a long run
# The HA process must not outlive a crashed driver (as the emulator does for mosquitto).
_SETPRIV = shutil.which("setpriv")
_PDEATHSIG: tuple[str, ...] = (_SETPRIV, "--pdeathsig", "TERM") if _SETPRIV else ()


class ProbeError(RuntimeError):
    """The probe answered with an error, or Home Assistant did not start."""


class HaProcess(Service):
    """Start/stop Home Assistant and talk to its probe; async context manager (a failed start
    stops what it started)."""

    def __init__(self, root: Path = ROOT, host_args: tuple[str, ...] = ()) -> None:
        """`root`: the source tree whose `benchmarks.ha_host` and integration HA runs (another
        commit's `git worktree` to compare old and new code in one run); `host_args`: more
        options for `ha_host`."""
        self.root = root
        self.host_args = host_args
        self.dir = Path(tempfile.mkdtemp(prefix="gizwits-bench-ha-"))
        self.port = free_port()
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.process: psutil.Process | None = None

    async def start(self) -> None:
        """Start HA and wait until the probe answers (HA and the helpers are set up)."""
        log = (self.dir / "ha.log").open("wb")
        self._proc = await asyncio.create_subprocess_exec(
            *_PDEATHSIG,
            sys.executable,
            "-m",
            "benchmarks.ha_host",
            "--port",
            str(self.port),
            "--config-dir",
            str(self.dir),
            *self.host_args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd=self.root,
        )
        log.close()
        self.process = psutil.Process(self._proc.pid)
        async with asyncio.timeout(START_TIMEOUT):
            while True:
                if self._proc.returncode is not None:
                    raise ProbeError(f"Home Assistant exited: {self.log_tail()}")
                with contextlib.suppress(OSError):  # not listening yet
                    self._reader, self._writer = await asyncio.open_connection(
                        "127.0.0.1", self.port, limit=ANSWER_LIMIT
                    )
                    break
                await asyncio.sleep(0.2)
        await self.call("ping")

    async def call(self, op: str, **args: Any) -> dict[str, Any]:
        """One probe command; raises ProbeError when it failed."""
        assert self._reader is not None
        assert self._writer is not None
        self._writer.write(json.dumps({"op": op, **args}).encode() + b"\n")
        await self._writer.drain()
        answer: dict[str, Any] = json.loads(await self._reader.readline())
        if "error" in answer:
            raise ProbeError(f"{op}: {answer['error']}")
        return answer

    def rss(self) -> int:
        """Resident set size of the HA process, bytes."""
        assert self.process is not None
        return int(self.process.memory_info().rss)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the HA process (all threads) so far."""
        assert self.process is not None
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the HA process's output (post mortem)."""
        path = self.dir / "ha.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else "<no log>"

    async def stop(self) -> None:
        """Ask HA to stop (it unloads the integration), SIGKILL after 30 s; delete the dir."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is not None:  # died on its own: say why
            print(f"Home Assistant exited with {proc.returncode}:\n{self.log_tail()}")
        if self._writer is not None:
            with contextlib.suppress(OSError, ProbeError, ValueError):
                await asyncio.wait_for(self.call("stop"), 5)
            self._writer.close()
            self._writer = None
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
