"""One config entry's device on the shared LAN service (lan.py): identity, binding, state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
import time
from typing import TYPE_CHECKING, Any

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.util import dt as dt_util
from yarl import URL

from .const import (
    BINDING_DURATION,
    CONF_BASE_URL,
    CONF_DID,
    CONF_LAN_ENABLED,
    CONF_LAN_INTERFACES,
    CONF_LAN_STATUS_BROADCAST,
    CONF_MAC,
    CONF_MCU_HARD_VERSION,
    CONF_MCU_SOFT_VERSION,
    CONF_PASSCODE,
    CONF_PRODUCT_KEY,
    CONF_WIFI_HARD_VERSION,
    CONF_WIFI_SOFT_VERSION,
    DEFAULT_LAN_ENABLED,
    DEFAULT_LAN_STATUS_BROADCAST,
    DOMAIN,
    LOGGER,
)
from .issues import (
    ISSUE_LAN_DUPLICATE_PASSCODE,
    ISSUE_LAN_NO_INTERFACE,
    async_clear_issues,
    async_raise_issue,
)
from .lan import GizwitsLanService, async_get_lan_service, async_lan_interfaces
from .protocol import lan as gizwits_lan
from .protocol.device import Device, LanState

if TYPE_CHECKING:
    from .runtime import GizwitsConfigEntry


# The local network's entities (platform, description key): the options turning LAN off take
# them out of the registry, else they would stay behind as "unavailable" ghosts.
LAN_ENTITY_KEYS = (
    (Platform.BUTTON, "allow_app_binding"),
    (Platform.BINARY_SENSOR, "local_network"),
    (Platform.BINARY_SENSOR, "app_binding"),
    (Platform.SENSOR, "local_apps"),
    (Platform.SENSOR, "binding_ends"),
)

type LanOptions = tuple[bool, tuple[str, ...], bool]


def lan_joined_signal(entry: GizwitsConfigEntry) -> str:
    """Dispatched when the options turn LAN on: the platforms add the LAN entities."""
    return f"{DOMAIN}_{entry.entry_id}_lan_joined"


class BindingClock:
    """When a binding window ends, as a UTC time (None while closed).

    Computed once per opening: the window counts on the monotonic clock, and recomputing it
    on every coordinator update would move the time by microseconds each time.
    """

    def __init__(self, window: gizwits_lan.BindingWindow) -> None:
        self._window = window
        self._opened_at: float | None = None
        self._ends: datetime | None = None

    @property
    def ends(self) -> datetime | None:
        """The end of the open window, None while it is closed."""
        opened_at = self._window.opened_at
        if opened_at != self._opened_at:
            self._opened_at = opened_at
            self._ends = (
                None
                if opened_at is None
                else (
                    dt_util.utcnow()
                    + timedelta(seconds=opened_at + self._window.duration - time.monotonic())
                ).replace(microsecond=0)
            )
        return self._ends


@dataclass(slots=True)
class GizwitsLanDevice:
    """The entry's device as LAN apps see it (runtime_data.lan while LAN is on)."""

    service: GizwitsLanService
    device: gizwits_lan.LanDevice
    # False when the service refused the device (its passcode is another entry's).
    served: bool
    # Leaves the service (None when it refused the device: there is nothing to leave).
    leave: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)
    # The one clock of the binding window: the sensor and the notification show the same second.
    _clock: BindingClock = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._clock = BindingClock(self.device.binding)

    @property
    def binding_ends(self) -> datetime | None:
        """When the open binding window ends (None while closed, or while not served)."""
        return self._clock.ends if self.served else None

    @callback
    def allow_binding(self) -> None:
        """Open the binding window: LAN apps may fetch the passcode for BINDING_DURATION."""
        if self.served:
            self.device.binding.open()


def lan_options(options: Mapping[str, Any]) -> LanOptions:
    """The LAN options as set up (a change re-joins the service): on, interfaces, and whether
    status reports are broadcast."""
    return (
        bool(options.get(CONF_LAN_ENABLED, DEFAULT_LAN_ENABLED)),
        tuple(sorted(options.get(CONF_LAN_INTERFACES, ()))),
        bool(options.get(CONF_LAN_STATUS_BROADCAST, DEFAULT_LAN_STATUS_BROADCAST)),
    )


def lan_device_for(entry: GizwitsConfigEntry, device: Device) -> gizwits_lan.LanDevice:
    """The gizwits_lan.LanDevice of an entry: its commands run through the M2M session's runner."""
    data = entry.data
    url = URL(data[CONF_BASE_URL])
    module_info = gizwits_lan.ModuleInfo(
        data[CONF_PRODUCT_KEY],
        wifi_hard_version=data[CONF_WIFI_HARD_VERSION],
        wifi_soft_version=data[CONF_WIFI_SOFT_VERSION],
        mcu_hard_version=data[CONF_MCU_HARD_VERSION],
        mcu_soft_version=data[CONF_MCU_SOFT_VERSION],
    )
    # Like current firmware (protocol.md §8): the WiFi soft version in the firmware field and
    # the MCU soft version as the third string; LAN clients identify models by them.
    announcement = gizwits_lan.DeviceAnnouncement(
        did=data[CONF_DID],
        mac=bytes.fromhex(data[CONF_MAC].replace(":", "").replace("-", "")),
        product_key=data[CONF_PRODUCT_KEY],
        wifi_firmware_version=module_info.wifi_soft_version,
        api_server=f"{url.host}:{url.port}",
        mcu_soft_version=module_info.mcu_soft_version,
    )
    return gizwits_lan.LanDevice(
        announcement,
        data[CONF_PASSCODE],
        commands=device.commands,
        module_info=module_info,
        binding=gizwits_lan.BindingWindow(BINDING_DURATION),
    )


@callback
def async_remove_lan_entities(hass: HomeAssistant, entry: GizwitsConfigEntry) -> None:
    """Remove the local network's entities from the registry (LAN turned off)."""
    registry = er.async_get(hass)
    for platform, key in LAN_ENTITY_KEYS:
        found = registry.async_get_entity_id(platform, DOMAIN, f"{entry.unique_id}_{key}")
        if found is not None:
            registry.async_remove(found)


async def async_setup_lan(
    hass: HomeAssistant, entry: GizwitsConfigEntry, device: Device
) -> GizwitsLanDevice | None:
    """Add the entry's device to the LAN service (None when the options turn LAN off)."""
    enabled, interface_names, status_broadcast = lan_options(entry.options)
    if not enabled:
        async_clear_issues(
            hass, entry.entry_id, (ISSUE_LAN_DUPLICATE_PASSCODE, ISSUE_LAN_NO_INTERFACE)
        )
        async_remove_lan_entities(hass, entry)
        return None
    member = lan_device_for(entry, device)
    service = async_get_lan_service(hass)
    interfaces = await async_lan_interfaces(hass, interface_names)
    if interfaces:
        async_clear_issues(hass, entry.entry_id, (ISSUE_LAN_NO_INTERFACE,))
    else:
        # Apps can neither find nor reach the device: say why, and offer the choice.
        async_raise_issue(
            hass, entry, ISSUE_LAN_NO_INTERFACE, ir.IssueSeverity.WARNING, fixable=True
        )
    try:
        await service.async_add(
            entry.entry_id,
            member,
            interfaces,
            device.set_lan_state,
            status_broadcast=status_broadcast,
        )
    except gizwits_lan.LanConfigError as err:
        other = next(
            (
                other.title
                for other in hass.config_entries.async_entries(DOMAIN)
                if other.entry_id != entry.entry_id
                and other.data.get(CONF_PASSCODE) == entry.data[CONF_PASSCODE]
            ),
            "?",
        )
        LOGGER.warning("%s does not answer on the local network: %s", entry.title, err)
        async_raise_issue(
            hass, entry, ISSUE_LAN_DUPLICATE_PASSCODE, ir.IssueSeverity.WARNING, other=other
        )
        device.set_lan_state(LanState(error=str(err)))
        return GizwitsLanDevice(service, member, served=False)
    async_clear_issues(hass, entry.entry_id, (ISSUE_LAN_DUPLICATE_PASSCODE,))
    stop_sending = device.join_lan(partial(service.send_to_all, member.did))

    async def _async_leave() -> None:
        stop_sending()
        await service.async_remove(entry.entry_id)

    return GizwitsLanDevice(service, member, served=True, leave=_async_leave)


async def async_leave_lan(entry: GizwitsConfigEntry) -> None:
    """Leave the LAN service (unloading the entry, or before joining it again)."""
    lan = entry.runtime_data.lan
    if lan is not None and (leave := lan.leave) is not None:
        # Once: unloading after the options left (and joined) must not leave twice.
        lan.leave = None
        await leave()


async def async_apply_lan_options(hass: HomeAssistant, entry: GizwitsConfigEntry) -> None:
    """Follow changed LAN options live: leave the service and join it again as they say
    (only the status broadcast turned on or off is changed in place).

    The M2M session is not touched. LAN turned off takes the LAN entities out of the
    registry (which removes them); turned on, the platforms add them again. While LAN stays
    on, its entities stay and follow the device's new LAN state.
    """
    runtime = entry.runtime_data
    async with runtime.lan_lock:
        wanted = lan_options(entry.options)
        if wanted == runtime.lan_options:
            return
        was_on = runtime.lan is not None
        previous, runtime.lan_options = runtime.lan_options, wanted
        lan = runtime.lan
        if lan is not None and lan.served and wanted[:2] == previous[:2]:
            # Only the status broadcast changed: the logged-in LAN apps stay connected.
            lan.service.set_status_broadcast(entry.entry_id, wanted[2])
            return
        if not wanted[0]:
            async_remove_lan_entities(hass, entry)
        await async_leave_lan(entry)
        runtime.lan = await async_setup_lan(hass, entry, runtime.device)
        if runtime.lan is None:
            runtime.device.set_lan_state(None)
        elif not was_on:
            async_dispatcher_send(hass, lan_joined_signal(entry))
