"""Forward chosen Home Assistant log records to Gizwits apps as 0x0012 device logs.

Only while the apps asked for logs (log level non-zero, protocol.md §4) and rate-limited with a
token bucket so a log storm cannot flood the broker; what does not fit is dropped and counted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import logging
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback

from .const import CONF_LOG_FORWARD_LEVEL, CONF_LOG_FORWARD_LOGGERS, DEFAULT_LOG_FORWARD_LEVEL
from .protocol import LogLevel, M2MError
from .protocol.device import Device

RATE_PER_SECOND = 2.0
BURST = 10
QUEUE_SIZE = 50
SOURCE = "homeassistant"
LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}
# Records of this integration (and of the libraries it sends with) are never forwarded:
# sending a log may itself log, which would feed back into the forwarder.
_NEVER_FORWARD = ("custom_components.gizwits_device", "aiomqtt", "paho")


def gizwits_level(levelno: int) -> LogLevel:
    """Map a Python log level onto the three Gizwits levels."""
    if levelno >= logging.ERROR:
        return LogLevel.ERROR
    if levelno >= logging.WARNING:
        return LogLevel.WARNING
    return LogLevel.INFO


class LogForwarder(logging.Handler):
    """A logging handler attached to the loggers the user chose in the options."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, device: Device) -> None:
        super().__init__()
        self._hass = hass
        self._entry = entry
        self._device = device
        self._loggers: list[logging.Logger] = []
        self._queue: asyncio.Queue[tuple[LogLevel, str, str]] = asyncio.Queue(QUEUE_SIZE)
        self._task: asyncio.Task[None] | None = None
        self.forwarded = 0
        self.dropped = 0

    @property
    def logger_names(self) -> list[str]:
        """The loggers currently forwarded."""
        return [logger.name for logger in self._loggers]

    @callback
    def apply_options(self, options: Mapping[str, Any]) -> None:
        """(Re)attach to the chosen loggers with the chosen minimum level."""
        self._detach()
        names = [n.strip() for n in options.get(CONF_LOG_FORWARD_LOGGERS, []) if n.strip()]
        level = options.get(CONF_LOG_FORWARD_LEVEL, DEFAULT_LOG_FORWARD_LEVEL)
        self.setLevel(LEVELS.get(level, logging.WARNING))
        for name in names:
            logger = logging.getLogger(name)
            logger.addHandler(self)
            self._loggers.append(logger)
        if self._loggers and self._task is None:
            self._task = self._entry.async_create_background_task(
                self._hass, self._drain(), "gizwits_device log forwarder"
            )

    def _detach(self) -> None:
        for logger in self._loggers:
            logger.removeHandler(self)
        self._loggers.clear()

    @callback
    def close(self) -> None:
        """Stop forwarding (entry unload)."""
        self._detach()
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def emit(self, record: logging.LogRecord) -> None:
        """Called from any thread: hand the record to the event loop, never block."""
        if record.name.startswith(_NEVER_FORWARD) or not self._device.state.log_level:
            return
        try:
            item = (gizwits_level(record.levelno), record.name, self.format(record))
            self._hass.loop.call_soon_threadsafe(self._enqueue, item)
        except Exception:
            self.dropped += 1

    @callback
    def _enqueue(self, item: tuple[LogLevel, str, str]) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _drain(self) -> None:
        tokens = float(BURST)
        last = time.monotonic()
        while True:
            level, tag, content = await self._queue.get()
            now = time.monotonic()
            tokens = min(BURST, tokens + (now - last) * RATE_PER_SECOND)
            last = now
            if tokens < 1:
                await asyncio.sleep((1 - tokens) / RATE_PER_SECOND)
                tokens = 1.0
                last = time.monotonic()
            tokens -= 1
            state = self._device.state
            if not state.connected or not state.log_level:
                self.dropped += 1
                continue
            try:
                await self._device.send_log(level, tag, SOURCE, content)
                self.forwarded += 1
            except M2MError:
                self.dropped += 1
