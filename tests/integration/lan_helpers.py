"""Helpers for the LAN tests: the shared service, a LAN app logged in through the binding
window, its status reports, and entity ids of the LAN entities (fixtures stay in
conftest.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant

from custom_components.gizwits_device.lan import DATA_LAN, GizwitsLanService, LanPorts
from emulator.lan import HEARTBEAT_INTERVAL, LanApp
from emulator.p0 import DataPointCodec, StatusReport

from .helpers import entity_id, wait_state

if TYPE_CHECKING:
    from pytest_homeassistant_custom_component.common import MockConfigEntry


def lan_service(hass: HomeAssistant) -> GizwitsLanService:
    """The one LAN service of this Home Assistant."""
    return hass.data[DATA_LAN]


async def allow_binding(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Press "Allow app binding" and wait for the binary sensor to show the window open."""
    button = entity_id(hass, entry, "button", "allow_app_binding")
    await hass.services.async_call("button", "press", {"entity_id": button}, blocking=True)
    binding = entity_id(hass, entry, "binary_sensor", "app_binding")
    await wait_state(hass, binding, lambda s: s.state == "on")


async def connect(
    hass: HomeAssistant,
    host: str = "127.0.0.1",
    *,
    heartbeat_interval: float = HEARTBEAT_INTERVAL,
    fixed_sn: int | None = None,
) -> LanApp:
    """A TCP connection of a LAN app to the service (not logged in)."""
    return await LanApp.connect(
        host, lan_service(hass).tcp_port, heartbeat_interval=heartbeat_interval, fixed_sn=fixed_sn
    )


async def bound_app(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    *,
    heartbeat_interval: float = HEARTBEAT_INTERVAL,
    fixed_sn: int | None = None,
) -> LanApp:
    """A LAN app that fetched the passcode in the binding window and logged in with it
    (protocol.md §8: 0x0006 → 0x0007, then 0x0008 → 0x0009)."""
    await allow_binding(hass, entry)
    app = await connect(hass, heartbeat_interval=heartbeat_interval, fixed_sn=fixed_sn)
    passcode = await app.request_passcode()
    assert passcode is not None
    assert await app.login(passcode)
    local_apps = entity_id(hass, entry, "sensor", "local_apps")
    await wait_state(hass, local_apps, lambda s: s.state != "0")
    return app


async def switch_reported(app: LanApp, codec: DataPointCodec, switch: bool) -> StatusReport:
    """The app's next status report (0x0091, P0 0x04) showing the switch as given."""
    while True:
        report = await app.wait_report(codec)
        if report.values["switch"] is switch:
            return report


def vars_of(ports: LanPorts) -> dict[str, object]:
    """The fields of a LanPorts (slots dataclass: no __dict__)."""
    return {name: getattr(ports, name) for name in ports.__slots__}
