"""Forwarding HA log records to the apps as 0x0012 (protocol.md §4), rate-limited."""

from __future__ import annotations

from collections.abc import Iterator
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device import log_forwarder
from custom_components.gizwits_device.const import (
    CONF_LOG_FORWARD_LEVEL,
    CONF_LOG_FORWARD_LOGGERS,
)
from custom_components.gizwits_device.log_forwarder import BURST, QUEUE_SIZE, LogForwarder
from custom_components.gizwits_device.protocol import LogLevel
from emulator.wire import DeviceLog

from .helpers import TestDevice, entity_id, wait_state, wait_until

if TYPE_CHECKING:
    from emulator.app import AppSimulator
    from emulator.server import Emulator

OPTIONS = {CONF_LOG_FORWARD_LOGGERS: ["custom.test"], CONF_LOG_FORWARD_LEVEL: "warning"}


@pytest.fixture
def test_logger() -> Iterator[logging.Logger]:
    """The `custom.test` logger, letting every level through to its handlers."""
    logger = logging.getLogger("custom.test")
    logger.setLevel(logging.DEBUG)
    yield logger
    logger.setLevel(logging.NOTSET)


@pytest.fixture
async def forwarding(hass: HomeAssistant, config_entry: MockConfigEntry) -> MockConfigEntry:
    """The entry set up with OPTIONS."""
    hass.config_entries.async_update_entry(config_entry, options=OPTIONS)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


def _forwarder(entry: MockConfigEntry) -> LogForwarder:
    forwarder = entry.runtime_data.log_forwarder
    assert forwarder is not None
    return forwarder


def _logs(app: AppSimulator) -> list[DeviceLog]:
    return [r.frame for r in app.received if isinstance(r.frame, DeviceLog)]


async def _wait_log(app: AppSimulator, content: str) -> None:
    await app.wait_for(lambda r: isinstance(r.frame, DeviceLog) and r.frame.content == content)


async def test_records_reach_the_app(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    forwarding: MockConfigEntry,
    test_logger: logging.Logger,
) -> None:
    """With logs enabled, records at or above the chosen level become 0x0012 frames."""
    app = await emulator.app(device.did)
    await app.set_log_level(1)
    await wait_until(lambda: forwarding.runtime_data.coordinator.data.log_level == 1)

    test_logger.warning("hello %s", "world")
    test_logger.info("below the chosen level")
    test_logger.error("boom")
    await _wait_log(app, "boom")

    assert _logs(app) == [
        DeviceLog(LogLevel.WARNING, "custom.test", "homeassistant", "hello world"),
        DeviceLog(LogLevel.ERROR, "custom.test", "homeassistant", "boom"),
    ]
    assert _forwarder(forwarding).forwarded == 2
    # The cloud gets device logs too (dev2app/<did>).
    await wait_until(lambda: len(emulator.cloud.device_logs) == 2)
    last_log = entity_id(hass, forwarding, "sensor", "last_log")
    current = await wait_state(hass, last_log, lambda s: s.state == "boom")
    assert current.attributes["tag"] == "custom.test"


async def test_nothing_sent_while_logs_are_off(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    forwarding: MockConfigEntry,
    test_logger: logging.Logger,
) -> None:
    """Log level 0 (the default, or set by an app) means no 0x0012 at all."""
    app = await emulator.app(device.did)
    test_logger.error("not while off")
    await app.set_log_level(3)
    await wait_until(lambda: forwarding.runtime_data.coordinator.data.log_level == 3)
    await app.set_log_level(0)
    await wait_until(lambda: forwarding.runtime_data.coordinator.data.log_level == 0)
    test_logger.error("not while off either")
    await app.set_log_level(1)
    await wait_until(lambda: forwarding.runtime_data.coordinator.data.log_level == 1)
    test_logger.error("marker")
    await _wait_log(app, "marker")

    assert [log.content for log in _logs(app)] == ["marker"]
    forwarder = _forwarder(forwarding)
    assert (forwarder.forwarded, forwarder.dropped) == (1, 0)


async def test_storm_is_rate_limited(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    device: TestDevice,
    forwarding: MockConfigEntry,
    test_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """500 records: a burst of BURST goes out, QUEUE_SIZE wait, the rest are dropped, counted.

    The refill rate is made negligible so what the bucket lets through is exact.
    """
    monkeypatch.setattr(log_forwarder, "RATE_PER_SECOND", 1e-9)
    app = await emulator.app(device.did)
    await app.set_log_level(1)
    await wait_until(lambda: forwarding.runtime_data.coordinator.data.log_level == 1)
    forwarder = _forwarder(forwarding)

    for number in range(500):
        test_logger.warning("storm %d", number)
    await wait_until(lambda: forwarder.forwarded == BURST)
    await _wait_log(app, f"storm {BURST - 1}")

    assert forwarder.dropped == 500 - QUEUE_SIZE
    # One more was taken from the queue and waits for a token.
    await wait_until(lambda: forwarder._queue.qsize() == QUEUE_SIZE - BURST - 1)
    assert forwarder.forwarded == BURST
    assert [log.content for log in _logs(app)] == [f"storm {n}" for n in range(BURST)]


async def test_tokens_refill(
    hass: HomeAssistant,
    *,
    emulator: Emulator,
    device: TestDevice,
    forwarding: MockConfigEntry,
    test_logger: logging.Logger,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the burst, records wait for the bucket to refill instead of being lost."""
    monkeypatch.setattr(log_forwarder, "BURST", 1)
    monkeypatch.setattr(log_forwarder, "RATE_PER_SECOND", 50.0)
    # The sender task read BURST when it started: restart it with the patched values.
    forwarder = _forwarder(forwarding)
    forwarder.close()
    forwarder.apply_options(OPTIONS)
    app = await emulator.app(device.did)
    await app.set_log_level(1)
    await wait_until(lambda: forwarding.runtime_data.coordinator.data.log_level == 1)

    for number in range(4):
        test_logger.warning("paced %d", number)
    await _wait_log(app, "paced 3")
    assert [log.content for log in _logs(app)] == [f"paced {n}" for n in range(4)]
    assert (forwarder.forwarded, forwarder.dropped) == (4, 0)


async def test_options_apply_live(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    forwarding: MockConfigEntry,
    test_logger: logging.Logger,
) -> None:
    """Changing the loggers or level re-attaches the handler at once, without a reload."""
    coordinator = forwarding.runtime_data.coordinator
    forwarder = _forwarder(forwarding)
    other = logging.getLogger("custom.other")
    app = await emulator.app(device.did)
    await app.set_log_level(1)
    await wait_until(lambda: coordinator.data.log_level == 1)
    assert forwarder in test_logger.handlers

    hass.config_entries.async_update_entry(
        forwarding,
        options={CONF_LOG_FORWARD_LOGGERS: [" custom.other ", ""], CONF_LOG_FORWARD_LEVEL: "error"},
    )
    await hass.async_block_till_done()
    assert forwarding.runtime_data.coordinator is coordinator
    assert forwarder.logger_names == ["custom.other"]
    assert forwarder not in test_logger.handlers

    test_logger.error("old logger")
    other.warning("below error")
    other.error("new logger")
    await _wait_log(app, "new logger")
    assert [log.content for log in _logs(app)] == ["new logger"]

    hass.config_entries.async_update_entry(
        forwarding, options={CONF_LOG_FORWARD_LOGGERS: [], CONF_LOG_FORWARD_LEVEL: "info"}
    )
    await hass.async_block_till_done()
    assert forwarder.logger_names == []
    assert forwarder not in other.handlers


async def test_info_level_and_own_records(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    config_entry: MockConfigEntry,
) -> None:
    """Level "info" forwards info records; this integration's own records never (feedback)."""
    options: dict[str, Any] = {
        CONF_LOG_FORWARD_LOGGERS: ["custom_components"],
        CONF_LOG_FORWARD_LEVEL: "info",
    }
    hass.config_entries.async_update_entry(config_entry, options=options)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    parent = logging.getLogger("custom_components")
    parent.setLevel(logging.DEBUG)
    try:
        app = await emulator.app(device.did)
        await app.set_log_level(1)
        await wait_until(lambda: config_entry.runtime_data.coordinator.data.log_level == 1)
        logging.getLogger("custom_components.gizwits_device.test").warning("own record")
        logging.getLogger("custom_components.other").info("someone else")
        await _wait_log(app, "someone else")
    finally:
        parent.setLevel(logging.NOTSET)
    assert _logs(app) == [
        DeviceLog(LogLevel.INFO, "custom_components.other", "homeassistant", "someone else")
    ]


async def test_dropped_while_disconnected_or_unformattable(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    forwarding: MockConfigEntry,
    test_logger: logging.Logger,
) -> None:
    """A record that cannot be sent (M2M down) or formatted is dropped and counted."""
    forwarder = _forwarder(forwarding)
    app = await emulator.app(device.did)
    await app.set_log_level(1)
    await wait_until(lambda: forwarding.runtime_data.coordinator.data.log_level == 1)

    # Formatting fails inside the handler (emitted directly: pytest's own capture handler
    # would raise on this record before ours saw it).
    bad = logging.LogRecord("custom.test", logging.WARNING, __file__, 1, "%d", ("x",), None)
    forwarder.emit(bad)
    assert forwarder.dropped == 1

    connectivity = entity_id(hass, forwarding, "binary_sensor", "connectivity")
    emulator.broker.pause()
    try:
        await wait_state(hass, connectivity, lambda s: s.state == "off")
        test_logger.warning("while down")
        await wait_until(lambda: forwarder.dropped == 2)
    finally:
        emulator.broker.resume()
    await wait_state(hass, connectivity, lambda s: s.state == "on")
    test_logger.warning("marker")
    await _wait_log(app, "marker")
    assert [log.content for log in _logs(app)] == ["marker"]


async def test_unload_detaches(
    hass: HomeAssistant, forwarding: MockConfigEntry, test_logger: logging.Logger
) -> None:
    """Unloading removes the handler and stops the sender task."""
    forwarder = _forwarder(forwarding)
    assert forwarder in test_logger.handlers
    assert await hass.config_entries.async_unload(forwarding.entry_id)
    await hass.async_block_till_done()
    assert forwarder not in test_logger.handlers
    assert forwarder._task is None
