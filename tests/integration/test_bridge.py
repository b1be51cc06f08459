"""Entity bridge end to end: emulator apps speak P0 (protocol.md §5) to mapped/native entities."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import json
from typing import TYPE_CHECKING, Any

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.gizwits_device.bridge import GizwitsBridge
from custom_components.gizwits_device.const import (
    CONF_MAPPING,
    CONF_PRODUCT,
    EVENT_APP_CONTROL,
)
from custom_components.gizwits_device.logbook import async_describe_events
from emulator.p0 import Control, DataPointCodec, ReadReply, ReadRequest
from emulator.wire import DevicePassthrough, PassthroughAck
from tests.emulator.cli import finish, run_cli, start_cli
from tests.integration.bridge_helpers import (
    LIGHT,
    PLUG,
    P0App,
    bridge_of,
    options_step,
    setup_bridge,
    setup_helper_entities,
)
from tests.integration.helpers import (
    entity_id,
    past_product_checks,
    past_units,
    state,
    wait_state,
    wait_until,
)
from tests.products import PRODUCTS

if TYPE_CHECKING:
    from emulator.server import Emulator
    from tests.integration.helpers import TestDevice

# -- export mode -----------------------------------------------------------------------------


async def test_app_control_changes_mapped_entities_and_reports(
    hass: HomeAssistant, plug: tuple[GizwitsBridge, P0App]
) -> None:
    """0x01 control → service calls → 0x04 report with the new values (protocol.md §5)."""
    _, app = plug
    await app.control(switch=True, countdown=90)
    report = await app.report(lambda v: v["switch"] is True)
    assert report["countdown"] == 90
    assert state(hass, "input_boolean.plug").state == "on"
    assert float(state(hass, "input_number.countdown").state) == 90


async def test_app_control_context_names_the_app_in_the_logbook(
    hass: HomeAssistant, plug: tuple[GizwitsBridge, P0App], config_entry: MockConfigEntry
) -> None:
    """The service calls carry a context whose origin is the app-control event (logbook)."""
    _, app = plug
    controls = async_capture_events(hass, EVENT_APP_CONTROL)
    await app.control(switch=True)
    await app.report(lambda v: v["switch"] is True)
    changed = state(hass, "input_boolean.plug")
    assert len(controls) == 1
    control = controls[0]
    assert control.data == {
        "entry_id": config_entry.entry_id,
        "app_client_id": app.app.client_id,
        "source": "cloud",
        "points": ["switch"],
    }
    assert changed.context.id == control.context.id
    assert changed.context.origin_event is control
    assert changed.context.user_id is None

    described: dict[str, Any] = {}
    async_describe_events(
        hass, lambda domain, event_type, describe: described.update({event_type: describe})
    )
    assert described[EVENT_APP_CONTROL](control) == {
        "name": config_entry.title,
        "message": f"{app.app.client_id} set switch",
    }


async def test_light_brightness_and_enum_options(
    hass: HomeAssistant, light: tuple[GizwitsBridge, P0App]
) -> None:
    """uint 0..100 → brightness_pct; enum option ↔ input_select option by name (var_len)."""
    _, app = light
    await app.control(on_off=True, brightness=40, mode="night")
    report = await app.report(lambda v: v["brightness"] == 40)
    assert report["on_off"] is True
    assert report["mode"] == "night"
    lamp = state(hass, "light.lamp")
    assert lamp.state == "on"
    assert lamp.attributes["brightness"] == round(40 * 255 / 100)
    assert state(hass, "input_select.mode").state == "Night"
    await app.control(on_off=False)
    report = await app.report(lambda v: v["on_off"] is False)
    assert state(hass, "light.lamp").state == "off"


async def test_read_replies_to_the_asking_app_only(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    plug: tuple[GizwitsBridge, P0App],
) -> None:
    """0x02 read → 0x03 on dev2app/<did>/<app> only; another app sees nothing of it."""
    _, app = plug
    other = P0App(await emulator.app(device.did), app.codec)
    try:
        await hass.services.async_call(
            "input_boolean", "turn_on", {"entity_id": "input_boolean.plug"}, blocking=True
        )
        await app.report(lambda v: v["switch"] is True)
        reply = await app.read()
        assert reply["switch"] is True
        assert reply["overload"] is False
        replies = [
            item
            for item in other.app.received
            if isinstance(item.frame, DevicePassthrough)
            and isinstance(other.codec.decode(item.frame.payload), ReadReply)
        ]
        assert replies == []
    finally:
        await other.app.close()


async def test_acked_read_is_answered_inside_the_ack(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    plug: tuple[GizwitsBridge, P0App],
) -> None:
    """protocol.md §4 ruling: a 0x0093 read is answered inside the 0x0094 (same sn,
    0x03 + status) to the asking app only, with no separate 0x0091."""
    _, app = plug
    other = P0App(await emulator.app(device.did), app.codec)
    try:
        await hass.services.async_call(
            "input_boolean", "turn_on", {"entity_id": "input_boolean.plug"}, blocking=True
        )
        await app.report(lambda v: v["switch"] is True)
        # send_acked matches the 0x0094 by sn and returns its body.
        body = await app.app.send_acked(app.codec.encode(ReadRequest()), sn=77)
        reply = app.codec.decode(body or b"")
        assert isinstance(reply, ReadReply)
        assert reply.values["switch"] is True
        assert reply.values["overload"] is False
        # A plain 0x0090 read still gets its 0x0091; after it nothing else went to this app.
        await app.read()
        direct = [
            item
            for item in app.app.received
            if isinstance(item.frame, DevicePassthrough) and item.topic != f"dev2app/{device.did}"
        ]
        assert len(direct) == 1
        assert not [i for i in other.app.received if isinstance(i.frame, PassthroughAck)]
    finally:
        await other.app.close()


async def test_acked_control_is_acked_once_applied_and_reported_to_all(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    plug: tuple[GizwitsBridge, P0App],
) -> None:
    """protocol.md §4 ruling: a 0x0093 control is acked (empty) once applied or refused;
    the resulting 0x04 goes to every app."""
    bridge, app = plug
    other = P0App(await emulator.app(device.did), app.codec)
    try:
        # While an earlier control still holds the bridge, this one is not applied: no ack.
        async with bridge.device.points._lock:
            await app.app.send_acked(app.codec.encode(Control({"switch": True})), sn=5, wait=False)
            with pytest.raises(TimeoutError):
                await app.app.wait_for(PassthroughAck, timeout=0.5)
        ack = await app.app.wait_for(PassthroughAck)
        assert ack.frame == PassthroughAck(5, b"")
        # The ack came after the service call had been made.
        assert state(hass, "input_boolean.plug").state == "on"
        assert (await other.report(lambda v: v["switch"] is True))["switch"] is True
        await app.report(lambda v: v["switch"] is True)
        # Refused (out of range): still acked, empty, after the refusal's status report.
        payload = bytearray(app.codec.encode(Control({"countdown": 1})))
        payload[-2:] = (0xFFFF).to_bytes(2, "big")
        assert await app.app.send_acked(bytes(payload), sn=6) == b""
        assert bridge.device.points.stats.rejected == 1
    finally:
        await other.app.close()


async def test_rejected_controls_change_nothing_and_report_status(
    hass: HomeAssistant,
    plug: tuple[GizwitsBridge, P0App],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Out of range / entity range / unavailable entity: ignored, current status reported."""
    bridge, app = plug
    # countdown raw max is 1440: 0xFFFF is out of the point's range (decode rejects it).
    payload = bytearray(app.codec.encode(Control({"countdown": 1})))
    payload[-2:] = (0xFFFF).to_bytes(2, "big")
    await app.app.send_passthrough(bytes(payload))
    report = await app.report()
    assert report["countdown"] == 0
    assert bridge.device.points.stats.rejected == 1
    # A switch change plus an unavailable entity: nothing is applied (no half-apply).
    hass.states.async_set("input_number.countdown", STATE_UNAVAILABLE)
    await app.control(switch=True, countdown=5)
    report = await app.report()
    assert report["switch"] is False
    assert state(hass, "input_boolean.plug").state == "off"
    assert bridge.device.points.stats.rejected == 2
    await app.control(switch=True, countdown=5)
    await app.report()
    warnings = [
        r for r in caplog.records if r.levelname == "WARNING" and "is unavailable" in r.getMessage()
    ]
    assert len(warnings) == 1


async def test_undecodable_payload_is_dropped(
    hass: HomeAssistant, plug: tuple[GizwitsBridge, P0App]
) -> None:
    """A payload that is not P0 for this product: counted and dropped; raw events still fire."""
    bridge, app = plug
    await app.app.send_passthrough(b"\x42\x00")
    await app.app.send_passthrough(b"\x01")  # truncated control
    await wait_until(lambda: bridge.device.points.stats.undecodable == 2)
    reply = await app.read()
    assert reply["switch"] is False


async def test_reconnect_sends_a_full_report(
    hass: HomeAssistant, emulator: Emulator, plug: tuple[GizwitsBridge, P0App]
) -> None:
    """After every (re)connect the device reports its whole status."""
    bridge, app = plug
    sent = bridge.device.points.stats.reports_sent
    emulator.broker.pause()
    try:
        await wait_until(lambda: not bridge.device.connected)
    finally:
        emulator.broker.resume()
    await wait_until(lambda: bridge.device.connected)
    await wait_until(lambda: bridge.device.points.stats.reports_sent > sent)
    await app.report()


async def test_reload_sends_a_full_report(
    hass: HomeAssistant, config_entry: MockConfigEntry, plug: tuple[GizwitsBridge, P0App]
) -> None:
    """A reload logs in again and reports the full status."""
    _, app = plug
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    await app.report()


async def test_online_apps_rising_from_zero_brings_a_full_report(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    plug: tuple[GizwitsBridge, P0App],
) -> None:
    """0x0210 going 0 → N (protocol.md §4) makes the device report its whole status."""
    bridge, app = plug
    await emulator.cloud.push_online_apps(device.did, 0)
    await wait_until(lambda: bridge.device.state.online_apps == 0)
    sent = bridge.device.points.stats.reports_sent
    await emulator.cloud.push_online_apps(device.did, 3)
    await app.report()
    assert bridge.device.points.stats.reports_sent == sent + 1
    # 3 → 4 is not a rise from zero: no report (a read is answered, nothing else is sent).
    await emulator.cloud.push_online_apps(device.did, 4)
    await wait_until(lambda: bridge.device.state.online_apps == 4)
    await app.read()
    assert bridge.device.points.stats.reports_sent == sent + 1


async def test_full_report_every_600_s_while_apps_are_online(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    plug: tuple[GizwitsBridge, P0App],
) -> None:
    """protocol.md §5 (MCU SDK): a periodic full status report every 600 s, only while
    apps are online. Time travels by firing HA's timers (the broker keeps real time)."""
    bridge, app = plug
    sent = bridge.device.points.stats.reports_sent
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=590))
    await hass.async_block_till_done()
    assert bridge.device.points.stats.reports_sent == sent
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=601))
    await hass.async_block_till_done()
    assert bridge.device.points.stats.reports_sent == sent + 1
    assert (await app.report())["switch"] is False
    # No app online: nothing is sent when the next period comes.
    await emulator.cloud.push_online_apps(device.did, 0)
    await wait_until(lambda: bridge.device.state.online_apps == 0)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=1201))
    await hass.async_block_till_done()
    assert bridge.device.points.stats.reports_sent == sent + 1


async def test_var_len_write_to_a_fault_point_is_rejected(
    hass: HomeAssistant, light: tuple[GizwitsBridge, P0App]
) -> None:
    """A var_len control flagging a fault point (not writable): ignored, status reported."""
    bridge, app = light
    # 0x11 control, flags bit 4 (lamp_fault), one bit-field byte with the bit set.
    await app.app.send_passthrough(bytes([0x11, 0x10, 0x01]))
    report = await app.report()
    assert report["lamp_fault"] is False
    assert bridge.device.points.stats.rejected == 1


# -- native mode -----------------------------------------------------------------------------


async def test_native_entities_end_to_end(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    emulator: Emulator,
    device: TestDevice,
) -> None:
    """No mapping: every point is a native entity; app and HA changes meet in the reports."""
    await setup_bridge(hass, config_entry, LIGHT, {})
    app = P0App(await emulator.app(device.did), DataPointCodec.from_definition(LIGHT))
    try:
        await app.report()
        switch = entity_id(hass, config_entry, "switch", "point_on_off")
        number = entity_id(hass, config_entry, "number", "point_brightness")
        select = entity_id(hass, config_entry, "select", "point_mode")
        fault = entity_id(hass, config_entry, "binary_sensor", "point_lamp_fault")
        assert state(hass, switch).name.endswith("On/off")
        assert state(hass, fault).attributes["device_class"] == "problem"
        assert state(hass, number).attributes["max"] == 100
        assert state(hass, select).attributes["options"] == ["normal", "reading", "night", "party"]
        # App → native entities.
        await app.control(on_off=True, brightness=70, mode="party", color_temp=4000)
        report = await app.report(lambda v: v["on_off"] is True)
        assert report == {
            "on_off": True,
            "brightness": 70,
            "color_temp": 4000,
            "mode": "party",
            "lamp_fault": False,
        }
        await wait_state(hass, switch, lambda s: s.state == "on")
        assert float(state(hass, number).state) == 70
        assert state(hass, select).state == "party"
        # HA → report (a user toggles, an automation sets the number).
        await hass.services.async_call("switch", "turn_off", {"entity_id": switch}, blocking=True)
        await hass.services.async_call(
            "number", "set_value", {"entity_id": number, "value": 15}, blocking=True
        )
        report = await app.report(lambda v: v["brightness"] == 15)
        assert report["on_off"] is False
        # Out of range from HA: the number entity refuses it, nothing changes.
        with pytest.raises(ServiceValidationError):
            await hass.services.async_call(
                "number", "set_value", {"entity_id": number, "value": 101}, blocking=True
            )
        assert (await app.read())["brightness"] == 15
    finally:
        await app.app.close()


async def test_native_values_survive_a_restart(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    emulator: Emulator,
    device: TestDevice,
) -> None:
    """Native values are stored: an unload + set-up (as at restart) keeps them."""
    bridge = await setup_bridge(hass, config_entry, PLUG, {})
    await bridge.async_set_native("countdown", 33)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert bridge_of(config_entry).device.state.values["countdown"] == 33
    number = entity_id(hass, config_entry, "number", "point_countdown")
    assert float(state(hass, number).state) == 33


async def test_raw_passthrough_event_still_fires_with_a_product(
    hass: HomeAssistant, config_entry: MockConfigEntry, plug: tuple[GizwitsBridge, P0App]
) -> None:
    """The app_command event entity fires for every passthrough, P0 or not."""
    _, app = plug
    event = entity_id(hass, config_entry, "event", "app_command")
    payload = app.codec.encode(ReadRequest())
    await app.app.send_passthrough(payload)
    await wait_state(hass, event, lambda s: s.attributes.get("payload") == payload.hex())


# -- options flow ----------------------------------------------------------------------------


async def test_options_flow_product_and_mapping(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """Bad JSON and a bad definition are named; an example shows its points; mapping saves."""
    entry = setup_integration
    await setup_helper_entities(hass)
    result = await options_step(hass, entry, "product")
    assert result["step_id"] == "product"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "product_paste"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"product_json": "{not json"}
    )
    assert result["errors"] == {"base": "invalid_product"}
    assert result["description_placeholders"]["error"].startswith("not JSON")
    broken = json.loads(json.dumps(PLUG))
    broken["entities"][0]["attrs"][1]["uint_spec"]["max"] = 70000
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"product_json": json.dumps(broken)}
    )
    assert result["errors"] == {"base": "invalid_product"}
    assert "does not fit in uint16" in result["description_placeholders"]["error"]

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"product_json": json.dumps(PLUG)}
    )
    result = await past_product_checks(hass, result)
    assert result["step_id"] == "mapping"
    assert (
        "`countdown` (Countdown): uint16 0…1440" in result["description_placeholders"]["writable"]
    )
    # Suggestions by name among compatible domains; no name match → left native.
    hints = {
        str(marker): (marker.description or {}).get("suggested_value")
        for marker in result["data_schema"].schema
    }
    assert hints["countdown"] == "input_number.countdown"
    assert hints["power"] == "input_number.power"
    # Two toggles (plug, lamp_on), neither named like the point: the one named like the
    # product ("Smart Plug").
    assert hints["switch"] == "input_boolean.plug"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"switch": "input_boolean.plug", "countdown": "input_number.countdown"}
    )
    result = await past_units(hass, result)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_MAPPING] == {
        "switch": {"entity_id": "input_boolean.plug", "attribute": None},
        "countdown": {"entity_id": "input_number.countdown", "attribute": None},
    }
    # The changed product reloads the entry: the bridge and the native entities appear.
    await hass.async_block_till_done()
    await wait_until(lambda: entry.runtime_data.bridge is not None)
    await hass.async_block_till_done()
    power = entity_id(hass, entry, "sensor", "point_power")
    overload = entity_id(hass, entry, "binary_sensor", "point_overload")
    assert float(state(hass, power).state) == 0
    assert state(hass, overload).attributes["device_class"] == "problem"

    # The settings step keeps the product; the mapping step shows what is stored.
    result = await options_step(hass, entry, "settings")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"log_forward_loggers": [], "log_forward_level": "error", "indicator_bit": 8},
    )
    assert entry.options[CONF_PRODUCT] == PLUG
    result = await options_step(hass, entry, "mapping")
    hints = {
        str(marker): (marker.description or {}).get("suggested_value")
        for marker in result["data_schema"].schema
    }
    assert hints["switch"] == "input_boolean.plug"
    assert hints["power"] is None


# -- emulator CLI ----------------------------------------------------------------------------


async def test_cli_control_read_and_listen(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    plug: tuple[GizwitsBridge, P0App],
) -> None:
    """`python -m emulator app --product FILE control/read/listen` speak P0 to the bridge."""
    product = str(PRODUCTS / "smart_plug.json")
    code, out, err = await run_cli(
        emulator, device.did, "--product", product, "control", "switch=on", "countdown=15"
    )
    assert code == 0, err
    assert "StatusReport switch=True countdown=15" in out
    assert state(hass, "input_boolean.plug").state == "on"
    code, out, err = await run_cli(emulator, device.did, "--product", product, "read")
    assert code == 0, err
    assert out.startswith("ReadReply switch=True countdown=15 power=0")
    listener = await start_cli(emulator, device.did, "--product", product, "listen", "--count", "1")
    # It says so on stderr once subscribed.
    assert listener.stderr is not None
    async with asyncio.timeout(30):
        assert (await listener.stderr.readline()).startswith(b"bound as app")
    await hass.services.async_call(
        "input_boolean", "turn_off", {"entity_id": "input_boolean.plug"}, blocking=True
    )
    code, out, err = await finish(listener)
    assert code == 0, err
    assert f"dev2app/{device.did} StatusReport switch=False" in out
    code, _, err = await run_cli(emulator, device.did, "--product", product, "control", "nope=1")
    assert code == 1
    assert "no data point 'nope'" in err
