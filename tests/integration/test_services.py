"""Service actions send_passthrough (0x0091/0x0093) and send_log (0x0012), protocol.md §4."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device.const import DOMAIN
from custom_components.gizwits_device.protocol import MAX_PAYLOAD, LogLevel
from custom_components.gizwits_device.protocol.frame_fields import MAX_CONTENT, MAX_SOURCE, MAX_TAG
from emulator.wire import AckedPassthrough, DeviceLog, DevicePassthrough

from .helpers import TestDevice, entity_id, state, wait_state
from .test_flow_deprecations import assert_no_deprecation

if TYPE_CHECKING:
    from emulator.app import AppSimulator, Received
    from emulator.server import Emulator


async def _call(
    hass: HomeAssistant, service: str, data: dict[str, Any], *, response: bool = False
) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=response
    )


def _passthroughs(app: AppSimulator) -> list[Received]:
    return [r for r in app.received if isinstance(r.frame, DevicePassthrough)]


async def test_passthrough_hex_to_all_apps(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """Hex (spaces and colons allowed) → one 0x0091 on dev2app/<did>, the exact bytes."""
    first = await emulator.app(device.did)
    second = await emulator.app(device.did)
    result = await _call(
        hass,
        "send_passthrough",
        {"config_entry_id": setup_integration.entry_id, "payload": "01 02:0a FF 00"},
    )
    assert result is None
    for app in (first, second):
        got = await app.wait_for(DevicePassthrough)
        assert got.topic == f"dev2app/{device.did}"
        assert isinstance(got.frame, DevicePassthrough)
        assert got.frame.payload == b"\x01\x02\x0a\xff\x00"


async def test_passthrough_base64_to_one_app(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """base64 to one app: only that app's topic; others get nothing."""
    target = await emulator.app(device.did)
    other = await emulator.app(device.did)
    payload = bytes(range(256))
    await _call(
        hass,
        "send_passthrough",
        {
            "config_entry_id": setup_integration.entry_id,
            "payload": base64.b64encode(payload).decode(),
            "encoding": "base64",
            "app_client_id": target.client_id,
        },
    )
    got = await target.wait_for(DevicePassthrough)
    assert got.topic == f"dev2app/{device.did}/{target.client_id}"
    assert isinstance(got.frame, DevicePassthrough)
    assert got.frame.payload == payload

    # A later broadcast reaches `other` after anything sent before it: nothing was.
    await _call(
        hass,
        "send_passthrough",
        {"config_entry_id": setup_integration.entry_id, "payload": "ee"},
    )
    marker = await other.wait_for(DevicePassthrough)
    assert isinstance(marker.frame, DevicePassthrough)
    assert marker.frame.payload == b"\xee"
    assert len(_passthroughs(other)) == 1


async def test_passthrough_max_size(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """A payload of exactly MAX_PAYLOAD bytes is sent whole."""
    app = await emulator.app(device.did)
    payload = bytes(i % 251 for i in range(MAX_PAYLOAD))
    await _call(
        hass,
        "send_passthrough",
        {"config_entry_id": setup_integration.entry_id, "payload": payload.hex()},
    )
    got = await app.wait_for(DevicePassthrough)
    assert isinstance(got.frame, DevicePassthrough)
    assert got.frame.payload == payload


async def test_the_form_names_the_device(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The service form picks a device (not an "Integration"); config_entry_id still works.
    Finding the device's entry reads nothing deprecated (DeviceEntry.config_entries goes in
    Home Assistant 2027.10)."""
    gizwits = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, str(setup_integration.unique_id)), setup_integration.entry_id
    )
    assert gizwits is not None
    app = await emulator.app(device.did)
    await _call(hass, "send_passthrough", {"device_id": gizwits.id, "payload": "0c"})
    got = await app.wait_for(DevicePassthrough)
    assert isinstance(got.frame, DevicePassthrough)
    assert got.frame.payload == b"\x0c"
    await _call(hass, "send_log", {"device_id": gizwits.id, "level": "info", "content": "hi"})

    other_entry = MockConfigEntry(domain="other")
    other_entry.add_to_hass(hass)
    other = dr.async_get(hass).async_get_or_create(
        config_entry_id=other_entry.entry_id, identifiers={("other", "x")}
    )
    for data, key in (
        ({"device_id": other.id}, "unknown_device"),
        ({"device_id": "nope"}, "unknown_device"),
        ({}, "no_device"),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await _call(hass, "send_passthrough", {**data, "payload": "00"})
        assert err.value.translation_key == key
    assert_no_deprecation(caplog)
    with pytest.raises(vol.Invalid):
        await _call(
            hass,
            "send_passthrough",
            {
                "device_id": gizwits.id,
                "config_entry_id": setup_integration.entry_id,
                "payload": "00",
            },
        )


async def test_passthrough_without_ack_returns_an_empty_response(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """Developer tools ask for a response: a plain 0x0091 answers {} (not None, an error)."""
    app = await emulator.app(device.did)
    result = await _call(
        hass,
        "send_passthrough",
        {"config_entry_id": setup_integration.entry_id, "payload": "0a0b"},
        response=True,
    )
    assert result == {}
    got = await app.wait_for(DevicePassthrough)
    assert isinstance(got.frame, DevicePassthrough)
    assert got.frame.payload == b"\x0a\x0b"


@pytest.mark.parametrize("to_one_app", [False, True])
async def test_acked_passthrough_returns_the_ack(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
    to_one_app: bool,
) -> None:
    """ack=True sends 0x0093 and returns the app's 0x0094 (sn, payload) as response data."""
    app = await emulator.app(device.did)
    data: dict[str, Any] = {
        "config_entry_id": setup_integration.entry_id,
        "payload": "c0ffee",
        "ack": True,
    }
    if to_one_app:
        data["app_client_id"] = app.client_id
    result = await _call(hass, "send_passthrough", data, response=True)

    got = await app.wait_for(AckedPassthrough)
    assert isinstance(got.frame, AckedPassthrough)
    assert got.frame.payload == b"\xc0\xff\xee"
    assert result == {"sn": got.frame.sn, "payload": ""}
    expected_topic = f"dev2app/{device.did}" + (f"/{app.client_id}" if to_one_app else "")
    assert got.topic == expected_topic


async def test_acked_passthrough_without_response(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """Called without asking for a response, an acked send still waits but returns nothing."""
    app = await emulator.app(device.did)
    result = await _call(
        hass,
        "send_passthrough",
        {"config_entry_id": setup_integration.entry_id, "payload": "01", "ack": True},
    )
    assert result is None
    assert len(app.acks_sent) == 1


async def test_ack_timeout(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """An app that never acks: retried with the same sn (protocol.md §4), then an error."""
    app = await emulator.app(device.did, auto_ack=False)
    with pytest.raises(HomeAssistantError) as err:
        await _call(
            hass,
            "send_passthrough",
            {
                "config_entry_id": setup_integration.entry_id,
                "payload": "01",
                "ack": True,
                "app_client_id": app.client_id,
            },
            response=True,
        )
    assert err.value.translation_key == "ack_timeout"
    stats = setup_integration.runtime_data.device.session.stats
    assert stats.ack_timeouts == 1
    assert stats.ack_retries == 3
    # The last retry may still be on its way when the error is raised.
    for _ in range(4):
        await app.wait_for(AckedPassthrough)
    sns = {r.frame.sn for r in app.received if isinstance(r.frame, AckedPassthrough)}
    assert len(sns) == 1


@pytest.mark.parametrize(
    ("payload", "encoding", "key"),
    [
        ("zz", "hex", "invalid_payload"),
        ("0", "hex", "invalid_payload"),
        ("!!!not base64", "base64", "invalid_payload"),
        ("AQI", "base64", "invalid_payload"),
        ("00" * (MAX_PAYLOAD + 1), "hex", "payload_too_long"),
    ],
    ids=["hex-letters", "hex-odd", "base64-chars", "base64-padding", "too-long"],
)
async def test_invalid_payload(
    hass: HomeAssistant,
    setup_integration: MockConfigEntry,
    payload: str,
    encoding: str,
    key: str,
) -> None:
    """Undecodable or over-long payloads are the caller's error."""
    with pytest.raises(ServiceValidationError) as err:
        await _call(
            hass,
            "send_passthrough",
            {
                "config_entry_id": setup_integration.entry_id,
                "payload": payload,
                "encoding": encoding,
            },
        )
    assert err.value.translation_key == key


async def test_invalid_app_client_id(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """An app client id must be one topic level (no `/`, `+`, `#`)."""
    with pytest.raises(Exception, match="app_client_id"):
        await _call(
            hass,
            "send_passthrough",
            {
                "config_entry_id": setup_integration.entry_id,
                "payload": "01",
                "app_client_id": "app/#",
            },
        )


@pytest.mark.parametrize("service", ["send_passthrough", "send_log"])
async def test_unknown_and_unloaded_entries(
    hass: HomeAssistant, setup_integration: MockConfigEntry, service: str
) -> None:
    """Unknown ids, other integrations' entries and unloaded entries are refused."""
    data = {"payload": "01", "level": "info", "content": "x"}
    if service == "send_log":
        del data["payload"]
    else:
        del data["level"], data["content"]

    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, service, {**data, "config_entry_id": "no-such-entry"})
    assert err.value.translation_key == "unknown_entry"

    other = MockConfigEntry(domain="other_domain")
    other.add_to_hass(hass)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, service, {**data, "config_entry_id": other.entry_id})
    assert err.value.translation_key == "unknown_entry"

    assert await hass.config_entries.async_unload(setup_integration.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, service, {**data, "config_entry_id": setup_integration.entry_id})
    assert err.value.translation_key == "entry_not_loaded"


async def test_send_log(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """0x0012 to every bound app and the cloud; the last-log sensor shows it."""
    app = await emulator.app(device.did)
    await _call(
        hass,
        "send_log",
        {
            "config_entry_id": setup_integration.entry_id,
            "level": "warning",
            "tag": "door",
            "content": "opened",
        },
    )
    got = await app.wait_for(DeviceLog)
    assert got.topic == f"dev2app/{device.did}"
    assert got.frame == DeviceLog(LogLevel.WARNING, "door", "homeassistant", "opened")

    last_log = entity_id(hass, setup_integration, "sensor", "last_log")
    current = await wait_state(hass, last_log, lambda s: s.state == "opened")
    assert current.attributes["level"] == "warning"
    assert current.attributes["tag"] == "door"
    assert current.attributes["source"] == "homeassistant"
    assert current.attributes["content"] == "opened"
    assert "sent_at" in current.attributes


async def test_send_log_truncates_at_limits(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """protocol.md §4: over-long fields are cut at a UTF-8 boundary, never split or over-long."""
    app = await emulator.app(device.did)
    tag = "t" * (MAX_TAG + 10)
    source = "a" + "é" * 20  # 41 bytes; 32 would split an "é"
    content = "€" * (MAX_CONTENT // 3 + 5)  # 3 bytes each
    await _call(
        hass,
        "send_log",
        {
            "config_entry_id": setup_integration.entry_id,
            "level": "error",
            "tag": tag,
            "source": source,
            "content": content,
        },
    )
    got = await app.wait_for(DeviceLog)
    frame = got.frame
    assert isinstance(frame, DeviceLog)
    assert frame.level == LogLevel.ERROR
    assert frame.tag == "t" * MAX_TAG
    assert frame.source == "a" + "é" * 15
    assert len(frame.source.encode()) == MAX_SOURCE - 1
    assert frame.content == "€" * (MAX_CONTENT // 3)
    assert len(frame.content.encode()) == MAX_CONTENT

    # The sensor state holds what fits (255 characters); the attribute holds the whole log.
    last_log = entity_id(hass, setup_integration, "sensor", "last_log")
    current = await wait_state(hass, last_log, lambda s: s.state.startswith("€"))
    assert current.state == "€" * 255
    assert current.attributes["content"] == frame.content
    assert current.attributes["tag"] == frame.tag
    assert current.attributes["level"] == "error"
    assert state(hass, last_log).attributes["source"] == frame.source
