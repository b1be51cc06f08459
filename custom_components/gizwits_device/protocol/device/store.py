"""Where a device keeps what must survive a restart: an interface its owner implements."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class DeviceStore(Protocol):
    """Loads and saves the device's records (plain JSON-compatible data)."""

    async def load(self) -> Mapping[str, Any] | None:
        """What was saved last, or None before the first save."""

    async def save(self, data: Mapping[str, Any]) -> None:
        """Replace what is saved with ``data``."""


class MemoryStore:
    """A DeviceStore in memory (scripts and tests; nothing survives the process)."""

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self.data = None if data is None else dict(data)

    async def load(self) -> Mapping[str, Any] | None:
        """What was saved last."""
        return self.data

    async def save(self, data: Mapping[str, Any]) -> None:
        """Keep a copy of ``data``."""
        self.data = dict(data)
