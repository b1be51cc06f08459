"""Optional sampling profile of the HA process with py-spy (not a requirement of the project).

Used when `py-spy` is on PATH or named by $PY_SPY (e.g. `pip install --target /tmp/s py-spy`,
then PY_SPY=/tmp/s/bin/py-spy). It samples without instrumenting, so unlike cProfile it does
not inflate Python-heavy code; idle waiting in epoll is not sampled.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
import contextlib
import os
from pathlib import Path
import shutil
import signal
import tempfile
from typing import Any

from benchmarks.ha_probe import CODEC_FILES


def find() -> str | None:
    """The py-spy executable, if any."""
    return os.environ.get("PY_SPY") or shutil.which("py-spy")


@contextlib.asynccontextmanager
async def recording(executable: str, pid: int, result: dict[str, Any]) -> AsyncIterator[None]:
    """Sample `pid` for the duration of the block; fills `result` with a summary."""
    out = Path(tempfile.mkdtemp(prefix="gizwits-bench-pyspy-")) / "stacks.txt"
    proc = await asyncio.create_subprocess_exec(
        executable,
        "record",
        "--pid",
        str(pid),
        "--rate",
        "250",
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(1.0)  # attached
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        _, stderr = await proc.communicate()
        if out.exists():
            result.update(summarise(out.read_text()))
        else:
            result["error"] = stderr.decode(errors="replace")[-500:]
        shutil.rmtree(out.parent, ignore_errors=True)


def summarise(raw: str, top: int = 15) -> dict[str, Any]:
    """Own samples per function (the leaf frame) and the codec's share of all samples."""
    own: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    total = codec = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        leaf = stack.rsplit(";", 1)[-1]
        own[_short(leaf)] += count
        parts[_part(leaf)] += count
        total += count
        if any(f"{name}:" in leaf for name in CODEC_FILES):
            codec += count
    return {
        "samples": total,
        "codec_share": codec / total if total else 0.0,
        "top_own": [(name, count / total) for name, count in own.most_common(top)],
        "by_part": {name: count / total for name, count in parts.most_common()},
    }


def _part(leaf: str) -> str:
    """Which layer a leaf frame (where the time was spent) belongs to."""
    if "_sock_send" in leaf:
        return "socket send (loopback TCP in the kernel, and waits for a CPU)"
    for marker, part in (
        ("gizwits_device/protocol/", "integration: protocol library"),
        ("gizwits_device/", "integration: HA layer"),
        ("homeassistant/", "Home Assistant core"),
        ("paho/", "paho + aiomqtt"),
        ("aiomqtt/", "paho + aiomqtt"),
        ("asyncio/", "asyncio"),
        ("selectors.py", "asyncio"),
    ):
        if marker in leaf:
            return part
    return "other (stdlib, schema validation, ulid …)"


def _short(frame: str) -> str:
    """`func (…/site-packages/pkg/mod.py:12)` → `func (pkg/mod.py:12)`."""
    name, _, where = frame.partition(" (")
    for marker in ("site-packages/", "custom_components/", "python3.14/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where}" if where else name
