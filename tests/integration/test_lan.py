"""The LAN side end to end (protocol.md §8): an app on the local network, written from §8 alone
(the emulator's LAN app, its own wire code), finds Home Assistant's device, binds it in the
binding window, logs in, reads and controls it, with the cloud session up and with the broker
down. Real sockets on 127.0.0.1 only; the real integration and the emulator's cloud."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.gizwits_device import lan_entry
from custom_components.gizwits_device.bridge import GizwitsBridge
from custom_components.gizwits_device.const import (
    CONF_MCU_SOFT_VERSION,
    CONF_WIFI_SOFT_VERSION,
    DOMAIN,
    EVENT_APP_CONTROL,
)
from custom_components.gizwits_device.logbook import async_describe_events
from emulator.lan import LanApp, discover
from emulator.p0 import DataPointCodec, ReadReply, ReadRequest
from emulator.wire import DevicePassthrough

from .bridge_helpers import PLUG, P0App
from .helpers import StateRecorder, entity_id, state, wait_state, wait_until
from .lan_helpers import allow_binding, bound_app, connect, lan_service, switch_reported

if TYPE_CHECKING:
    from emulator.server import Emulator

    from .conftest import TestDevice

# The emulator's own P0 codec: the integration's answers are read by an independent witness.
CODEC = DataPointCodec.from_definition(PLUG)


@pytest.fixture
async def lan_app(
    hass: HomeAssistant, config_entry: MockConfigEntry, plug: tuple[GizwitsBridge, P0App]
) -> AsyncIterator[LanApp]:
    """A LAN app logged in through the binding window."""
    app = await bound_app(hass, config_entry)
    yield app
    await app.close()


async def test_app_discovers_binds_reads_and_controls(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    config_entry: MockConfigEntry,
    plug: tuple[GizwitsBridge, P0App],
) -> None:
    """The "done when" of the LAN side, with the cloud session up (protocol.md §8)."""
    _, cloud = plug
    # Discovery: one 0x0004 for the device, unicast back to the asker.
    found = await discover("127.0.0.1", lan_service(hass).discovery_port, expected=1)
    assert [(f.did, f.product_key, f.mac) for f in found] == [
        (device.did, device.product_key, device.mac.lower())
    ]
    assert found[0].api_server.startswith("127.0.0.1:")
    # Like current firmware: the WiFi and MCU soft versions the entry registered with.
    data = config_entry.data
    assert (found[0].wifi_firmware_version, found[0].mcu_soft_version) == (
        data[CONF_WIFI_SOFT_VERSION],
        data[CONF_MCU_SOFT_VERSION],
    )

    # Outside the binding window the passcode is refused (empty 0x0007, then closed).
    async with await connect(hass) as early:
        assert await early.request_passcode() is None
        await early.closed.wait()

    # "Allow app binding": the passcode, then a login with it.
    await allow_binding(hass, config_entry)
    async with await connect(hass) as app:
        passcode = await app.request_passcode()
        assert passcode == device.passcode
        assert await app.login(passcode)
        local_apps = entity_id(hass, config_entry, "sensor", "local_apps")
        await wait_state(hass, local_apps, lambda s: s.state == "1")
        assert state(hass, local_apps).attributes["clients"] == [
            f"127.0.0.1:{app._writer.get_extra_info('sockname')[1]}"
        ]

        # The P0 status read over 0x0093 is byte-identical to the same read over M2M.
        request = CODEC.encode(ReadRequest())
        over_lan = await app.send_acked(request)
        over_m2m = await cloud.app.send_acked(request)
        assert over_m2m is not None
        assert over_lan == over_m2m
        assert isinstance(CODEC.decode(over_lan), ReadReply)
        # Over 0x0090 the reply is a 0x0091 to this app only.
        direct = await app.read(CODEC)
        assert CODEC.encode(direct) == over_lan

        # A control changes the mapped entity; the report reaches this app and the cloud.
        await app.control(CODEC, {"switch": True}, acked=True)
        await wait_state(hass, "input_boolean.plug", lambda s: s.state == "on")
        await switch_reported(app, CODEC, True)
        await cloud.report(lambda v: v["switch"] is True)
    await wait_state(hass, local_apps, lambda s: s.state == "0")


async def test_lan_keeps_working_while_the_broker_is_down(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    config_entry: MockConfigEntry,
    plug: tuple[GizwitsBridge, P0App],
) -> None:
    """The same "done when" flow with the broker down: discovery, the passcode in the
    binding window, login, a read byte-identical to the M2M read taken before, a control of
    the mapped entity and its report (protocol.md §8)."""
    bridge, cloud = plug
    request = CODEC.encode(ReadRequest())
    over_m2m = await cloud.app.send_acked(request)
    emulator.broker.pause()
    try:
        await wait_until(lambda: not bridge.device.connected)
        found = await discover("127.0.0.1", lan_service(hass).discovery_port, expected=1)
        assert [f.did for f in found] == [device.did]
        app = await bound_app(hass, config_entry)
        try:
            local_apps = entity_id(hass, config_entry, "sensor", "local_apps")
            assert state(hass, local_apps).state == "1"
            assert await app.send_acked(request) == over_m2m
            await app.control(CODEC, {"switch": True, "countdown": 12})
            await wait_state(hass, "input_boolean.plug", lambda s: s.state == "on")
            report = await switch_reported(app, CODEC, True)
            assert report.values["countdown"] == 12
        finally:
            await app.close()
    finally:
        emulator.broker.resume()
    await wait_until(lambda: bridge.device.connected)


async def test_ha_side_change_reaches_lan_apps_and_the_cloud(
    hass: HomeAssistant, plug: tuple[GizwitsBridge, P0App], lan_app: LanApp
) -> None:
    """A change made in Home Assistant is one report, to every LAN app and the cloud (§8)."""
    _, cloud = plug
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.plug"}, blocking=True
    )
    await switch_reported(lan_app, CODEC, True)
    await cloud.report(lambda v: v["switch"] is True)


async def test_app_command_event_names_the_transport(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    plug: tuple[GizwitsBridge, P0App],
    lan_app: LanApp,
) -> None:
    """One command path: LAN commands fire the app-command event with source lan and the
    client's address; cloud ones with source cloud; a repeated 0x0093 sn fires once."""
    _, cloud = plug
    events = StateRecorder(hass, entity_id(hass, config_entry, "event", "app_command"))
    await lan_app.send(b"\x42")
    await lan_app.send_acked(b"\x43")
    await cloud.app.send_passthrough(b"\x44")
    await wait_until(lambda: len(events.states) == 3)
    port = lan_app._writer.get_extra_info("sockname")[1]
    fired = [
        (s.attributes["event_type"], s.attributes["payload"], s.attributes["source"])
        for s in events.states
    ]
    assert fired == [
        ("passthrough", "42", "lan"),
        ("acked_passthrough", "43", "lan"),
        ("passthrough", "44", "cloud"),
    ]
    assert events.attributes("app_client_id")[:2] == [f"127.0.0.1:{port}"] * 2
    assert events.attributes("app_client_id")[2] == cloud.app.client_id


async def test_send_passthrough_reaches_lan_apps_and_the_cloud(
    hass: HomeAssistant,
    emulator: Emulator,
    config_entry: MockConfigEntry,
    plug: tuple[GizwitsBridge, P0App],
    lan_app: LanApp,
) -> None:
    """send_passthrough without an app goes to every LAN app and the cloud; naming an app
    sends to that cloud app only; with the broker down it succeeds while a LAN app got it."""
    bridge, cloud = plug

    async def send(payload: str, **extra: str) -> None:
        await hass.services.async_call(
            DOMAIN,
            "send_passthrough",
            {"config_entry_id": config_entry.entry_id, "payload": payload, **extra},
            blocking=True,
        )

    await send("0a0b")
    assert await lan_app.next_report() == b"\x0a\x0b"
    await cloud.app.wait_for(
        lambda r: r.frame == DevicePassthrough(b"\x0a\x0b") and r.topic.count("/") == 1
    )
    await send("0c", app_client_id=cloud.app.client_id)
    await cloud.app.wait_for(lambda r: r.frame == DevicePassthrough(b"\x0c"))
    emulator.broker.pause()
    try:
        await wait_until(lambda: not bridge.device.connected)
        await send("0d")
        # The LAN app got it; the 0x0c named for the cloud app never reached the LAN.
        assert await lan_app.next_report() == b"\x0d"
        await lan_app.close()
        await wait_until(lambda: bridge.device.state.lan.clients == ())  # type: ignore[union-attr]
        with pytest.raises(HomeAssistantError):
            await send("0e")
    finally:
        emulator.broker.resume()
    await wait_until(lambda: bridge.device.connected)


async def test_binding_window_closes_by_itself(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    plug: tuple[GizwitsBridge, P0App],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The window opens for BINDING_DURATION (3 min; short here) and then refuses again."""
    monkeypatch.setattr(lan_entry, "BINDING_DURATION", 0.3)
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done()
    binding = entity_id(hass, config_entry, "binary_sensor", "app_binding")
    assert state(hass, binding).state == "off"
    await allow_binding(hass, config_entry)
    await wait_state(hass, binding, lambda s: s.state == "off")
    async with await connect(hass) as app:
        assert await app.request_passcode() is None


async def test_full_report_every_600_s_while_only_lan_apps_are_online(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    plug: tuple[GizwitsBridge, P0App],
    lan_app: LanApp,
) -> None:
    """protocol.md §5 (MCU SDK) periodic full report: a LAN app counts as an online app."""
    bridge, _ = plug
    await emulator.cloud.push_online_apps(device.did, 0)
    await wait_until(lambda: bridge.device.state.online_apps == 0)
    sent = bridge.device.points.stats.reports_sent
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=601))
    await hass.async_block_till_done()
    assert bridge.device.points.stats.reports_sent == sent + 1
    await switch_reported(lan_app, CODEC, False)


async def test_lan_control_is_described_in_the_logbook(
    hass: HomeAssistant, config_entry: MockConfigEntry, lan_app: LanApp
) -> None:
    """A LAN app's control is an app-control event with source lan; the logbook names the
    app's address on the local network as what changed the entity."""
    controls = async_capture_events(hass, EVENT_APP_CONTROL)
    await lan_app.control(CODEC, {"switch": True}, acked=True)
    await wait_state(hass, "input_boolean.plug", lambda s: s.state == "on")
    port = lan_app._writer.get_extra_info("sockname")[1]
    assert [(c.data["source"], c.data["app_client_id"]) for c in controls] == [
        ("lan", f"127.0.0.1:{port}")
    ]
    assert state(hass, "input_boolean.plug").context.origin_event is controls[0]
    described: dict[str, Any] = {}
    async_describe_events(
        hass, lambda domain, event_type, describe: described.update({event_type: describe})
    )
    assert described[EVENT_APP_CONTROL](controls[0]) == {
        "name": config_entry.title,
        "message": f"127.0.0.1:{port} (local network) set switch",
    }
