"""LAN clients as they exist in the field, against the real integration (protocol.md §4, §8):
one that sends every 0x0093 with sn 0, one that pings every 20 s (on a shortened clock), and
one that only listens for the UDP status broadcast. The emulator's LAN app and listener (their
own wire code), real mosquitto and the emulator's cloud; loopback only (lo's broadcast address
is 127.255.255.255)."""

from __future__ import annotations

from collections.abc import AsyncIterator
import dataclasses
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device import lan
from custom_components.gizwits_device.bridge import GizwitsBridge
from custom_components.gizwits_device.const import (
    CONF_LAN_ENABLED,
    CONF_LAN_INTERFACES,
    CONF_LAN_STATUS_BROADCAST,
)
from emulator.lan import StatusListener
from emulator.p0 import Control, DataPointCodec

from .bridge_helpers import PLUG, P0App
from .helpers import entity_id, state, wait_state, wait_until
from .lan_helpers import allow_binding, bound_app, connect, lan_service, switch_reported

if TYPE_CHECKING:
    from emulator.server import Emulator

    from .conftest import TestDevice

# The emulator's own P0 codec: the integration's reports are read by an independent witness.
CODEC = DataPointCodec.from_definition(PLUG)
# The real rulings scaled down 60 times: 60 s of silence -> 1 s, a ping every 20 s -> 1/3 s.
SCALED_TIMEOUT = 1.0
SCALED_PING = 1.0 / 3


@pytest.fixture
async def listener(
    monkeypatch: pytest.MonkeyPatch, lan_loopback: lan.LanPorts
) -> AsyncIterator[StatusListener]:
    """A LAN client listening for status broadcasts on 127.255.255.255 (a free port, which
    the service broadcasts to), and the service's TCP timeouts on the scaled clock."""
    async with await StatusListener.bind("127.255.255.255", 0) as heard:
        ports = dataclasses.replace(
            lan_loopback,
            status_broadcast=heard.port,
            heartbeat_timeout=SCALED_TIMEOUT,
            login_timeout=SCALED_TIMEOUT,
        )
        monkeypatch.setattr(lan, "LAN_PORTS", ports)
        yield heard


@pytest.fixture
async def heard_plug(
    listener: StatusListener, plug: tuple[GizwitsBridge, P0App]
) -> tuple[GizwitsBridge, P0App]:
    """The smart plug bridge, set up after `listener` patched the ports."""
    return plug


async def _switch_heard(listener: StatusListener, mac: str, switch: bool) -> None:
    """Wait for a status broadcast of this device showing the switch as given."""
    while True:
        heard, report = await listener.next_p0(CODEC)
        assert heard.mac == mac
        if report.values["switch"] is switch:
            return


async def test_status_reports_are_broadcast_and_sn_0_commands_all_run(
    hass: HomeAssistant,
    device: TestDevice,
    config_entry: MockConfigEntry,
    listener: StatusListener,
    heard_plug: tuple[GizwitsBridge, P0App],
) -> None:
    """protocol.md §8: every status report (HA-side changes and after-command ones) also goes
    as ``0x0091 | 06 <MAC> | report`` to UDP 12414; §4: a client sending every 0x0093 with
    sn 0 gets each command run, and only an exact repeat within 10 s is not run again; §8: a
    client pinging at a third of the timeout stays logged in."""
    _, cloud = heard_plug
    mac = device.mac.lower()
    # The full report when the first cloud app came online was broadcast too.
    heard, _ = await listener.next_p0(CODEC)
    assert heard.mac == mac
    assert heard.address[0] == "127.0.0.1"

    # An HA-side change: reported to the cloud and broadcast.
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.plug"}, blocking=True
    )
    await _switch_heard(listener, mac, True)

    async with await bound_app(
        hass, config_entry, heartbeat_interval=SCALED_PING, fixed_sn=0
    ) as app:
        # "Switch off" then "switch on", both with sn 0: both run (protocol.md §4, amended).
        await app.control(CODEC, {"switch": False}, acked=True)
        await wait_state(hass, "input_boolean.plug", lambda s: s.state == "off")
        await _switch_heard(listener, mac, False)
        await app.control(CODEC, {"switch": True}, acked=True)
        await wait_state(hass, "input_boolean.plug", lambda s: s.state == "on")
        await _switch_heard(listener, mac, True)
        # The exact same 0x0093 again within 10 s: a retransmission, acked, not run.
        await app.control(CODEC, {"switch": True}, acked=True)
        assert lan_service(hass).stats.duplicates == 1

        # Pinging every "20 s": twelve pings span four "60 s" timeouts; still logged in.
        await wait_until(lambda: app.pings_sent >= 12, 30)
        assert not app.closed.is_set()
        local_apps = entity_id(hass, config_entry, "sensor", "local_apps")
        assert state(hass, local_apps).state == "1"
        assert lan_service(hass).stats.heartbeat_timeouts == 0
    stats = lan_service(hass).diagnostics()["stats"]
    assert isinstance(stats, dict)
    assert stats["status_broadcasts_sent"] >= 4
    assert listener.garbage == []
    await cloud.report(lambda v: v["switch"] is True)


async def test_silent_client_is_closed_after_the_timeout(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    listener: StatusListener,
    heard_plug: tuple[GizwitsBridge, P0App],
) -> None:
    """protocol.md §8: a logged-in client that stops pinging is closed (scaled 60 s)."""
    # Logged in by hand: bound_app's wait for the sensor could miss a client closed at once.
    await allow_binding(hass, config_entry)
    async with await connect(hass, heartbeat_interval=3600) as app:
        passcode = await app.request_passcode()
        assert passcode is not None
        assert await app.login(passcode)
        await wait_until(app.closed.is_set, 30)
    assert lan_service(hass).stats.heartbeat_timeouts == 1


async def _set_status_broadcast(
    hass: HomeAssistant, entry: MockConfigEntry, broadcast: bool
) -> None:
    """Save the *Local network* options step with LAN on and `broadcast`."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "local_network"}
    )
    assert result["type"] is FlowResultType.FORM
    assert CONF_LAN_STATUS_BROADCAST in result["data_schema"].schema
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {CONF_LAN_ENABLED: True, CONF_LAN_INTERFACES: [], CONF_LAN_STATUS_BROADCAST: broadcast},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_LAN_STATUS_BROADCAST] is broadcast
    await hass.async_block_till_done()


async def test_the_option_turns_the_status_broadcast_off_and_on(
    hass: HomeAssistant,
    device: TestDevice,
    config_entry: MockConfigEntry,
    listener: StatusListener,
    heard_plug: tuple[GizwitsBridge, P0App],
) -> None:
    """The *Local network* options step turns the UDP status broadcast off and on again in
    place: reports still go to the cloud and to a logged-in LAN app, which stays connected."""
    _, cloud = heard_plug
    await listener.next_p0(CODEC)  # the report when the cloud app came online
    async with await bound_app(hass, config_entry, heartbeat_interval=SCALED_PING) as app:
        await _set_status_broadcast(hass, config_entry, False)
        sent = lan_service(hass).stats.status_broadcasts_sent

        await hass.services.async_call(
            "input_boolean", "turn_on", {"entity_id": "input_boolean.plug"}, blocking=True
        )
        await cloud.report(lambda v: v["switch"] is True)
        await switch_reported(app, CODEC, True)
        assert lan_service(hass).stats.status_broadcasts_sent == sent
        with pytest.raises(TimeoutError):
            await listener.next(timeout=0.5)

        await _set_status_broadcast(hass, config_entry, True)
        await hass.services.async_call(
            "input_boolean", "turn_off", {"entity_id": "input_boolean.plug"}, blocking=True
        )
        await _switch_heard(listener, device.mac.lower(), False)
        await switch_reported(app, CODEC, False)
        assert not app.closed.is_set()
        assert lan_service(hass).stats.logins_accepted == 1


async def test_cloud_app_sending_sn_0_gets_every_command_run(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    config_entry: MockConfigEntry,
    plug: tuple[GizwitsBridge, P0App],
) -> None:
    """protocol.md §4: the retransmission rule is the same over M2M as on the LAN."""
    app = await emulator.app(device.did, fixed_sn=0)
    off, on = (CODEC.encode(Control({"switch": value})) for value in (False, True))
    assert await app.send_acked(on) == b""
    await wait_state(hass, "input_boolean.plug", lambda s: s.state == "on")
    assert await app.send_acked(off) == b""
    await wait_state(hass, "input_boolean.plug", lambda s: s.state == "off")
    assert await app.send_acked(off) == b""  # the exact repeat: acked, not run
    session = config_entry.runtime_data.device.session
    assert session.stats.duplicates == 1
    await app.close()
