"""Gizwits Device: Home Assistant acting as a Gizwits (机智云) device."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .bridge import BridgeOptions, GizwitsBridge
from .bridge_targets import bridge_config
from .bus_events import async_fire_bus_events
from .const import (
    CONF_BASE_URL,
    CONF_DID,
    CONF_PASSCODE,
    CONF_PRODUCT,
    CONNECT_TIMEOUT,
    DOMAIN,
    LOGGER,
)
from .coordinator import GizwitsDeviceCoordinator
from .device import async_follow_firmware, async_register_device
from .endpoint import create_device
from .errors import translated
from .identity import session_data
from .issues import (
    ENTRY_ISSUES,
    ISSUE_INVALID_PRODUCT,
    async_clear_issues,
    async_raise_issue,
    async_track_connection_issues,
)
from .lan_entry import async_apply_lan_options, async_leave_lan, async_setup_lan, lan_options
from .log_forwarder import LogForwarder
from .migration import async_migrate_entry as _async_migrate_entry
from .naming import async_follow_product
from .native import async_recreate_native_entities, async_remove_stale_native_entities
from .protocol import (
    GServiceClient,
    GServiceError,
    M2MAuthenticationError,
    ProductDefinitionError,
)
from .protocol.device import Device
from .runtime import GizwitsConfigEntry, GizwitsRuntimeData
from .services import async_setup_services
from .setup_notice import SetupNotice, async_remove_notice

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.UPDATE,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the service actions once for all entries."""
    async_setup_services(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: GizwitsConfigEntry) -> bool:
    """Bring an entry saved by an earlier release to the current version (migration.py)."""
    return await _async_migrate_entry(hass, entry)


async def async_setup_entry(hass: HomeAssistant, entry: GizwitsConfigEntry) -> bool:
    """Start the device, wait for the first login, then set up the bridge and entities."""
    # The title (the device's name) follows the product.
    async_follow_product(hass, entry)
    bridge_options = _async_bridge_options(hass, entry)
    device = create_device(
        hass,
        entry,
        None if bridge_options is None else bridge_options.model,
        frozenset(() if bridge_options is None else bridge_options.mapping),
    )
    bridge = None
    if bridge_options is not None:
        # The mapped entities' values are the device's before it reports anything.
        bridge = GizwitsBridge(hass, entry, device, bridge_options)
        entry.async_on_unload(bridge.async_start())
    # The device exists before the first frame, so every bus event can name it.
    device_id = async_register_device(hass, entry)
    entry.async_on_unload(async_fire_bus_events(hass, device, device_id))
    entry.async_on_unload(async_track_connection_issues(hass, entry, device))
    entry.async_on_unload(async_follow_firmware(hass, entry, device))
    coordinator = GizwitsDeviceCoordinator(hass, entry, device)
    await device.start()
    entry.async_on_unload(device.stop)
    if bridge is not None or not entry.options.get(CONF_PRODUCT):
        # (An invalid stored product keeps its entities until it is fixed: see the repair.)
        async_remove_stale_native_entities(hass, entry, bridge)
    entry.async_create_background_task(hass, _async_run(hass, entry, device), f"{DOMAIN} device")
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await device.wait_connected()
    except M2MAuthenticationError as err:
        raise translated(ConfigEntryAuthFailed, "auth_failed") from err
    except TimeoutError as err:
        raise translated(
            ConfigEntryNotReady,
            "not_connected",
            error=device.state.status.last_error or "timeout",
        ) from err

    log_forwarder = LogForwarder(hass, entry, device)
    log_forwarder.apply_options(entry.options)
    entry.async_on_unload(log_forwarder.close)
    lan = await async_setup_lan(hass, entry, device)

    entry.async_on_unload(partial(async_leave_lan, entry))
    entry.runtime_data = GizwitsRuntimeData(
        device=device,
        device_id=device_id,
        coordinator=coordinator,
        log_forwarder=log_forwarder,
        bridge=bridge,
        lan=lan,
        lan_options=lan_options(entry.options),
    )
    entry.async_on_unload(
        entry.add_update_listener(partial(_async_entry_updated, session_data(entry.data)))
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await SetupNotice(hass, entry).async_start()
    return True


async def _async_run(hass: HomeAssistant, entry: GizwitsConfigEntry, device: Device) -> None:
    """Keep the device online; refused credentials start the re-authentication."""
    try:
        await device.run()
    except M2MAuthenticationError as err:
        LOGGER.warning("Gizwits refused this device's DID/passcode: %s", err)
        # The reauth flow comes with Home Assistant's own repair: no second one for it.
        # During set-up, ConfigEntryAuthFailed already starts the reauth flow.
        if entry.state is ConfigEntryState.LOADED:
            entry.async_start_reauth(hass)


def _async_bridge_options(hass: HomeAssistant, entry: GizwitsConfigEntry) -> BridgeOptions | None:
    """The options' product and mapping; an invalid product raises a repair issue."""
    try:
        options = BridgeOptions.from_options(entry.options)
    except ProductDefinitionError as err:
        LOGGER.error("The stored Gizwits product definition is invalid: %s", err)
        async_raise_issue(
            hass, entry, ISSUE_INVALID_PRODUCT, ir.IssueSeverity.ERROR, error=str(err)
        )
        return None
    async_clear_issues(hass, entry.entry_id, (ISSUE_INVALID_PRODUCT,))
    return options


async def _async_entry_updated(
    started_with: dict[str, Any], hass: HomeAssistant, entry: GizwitsConfigEntry
) -> None:
    """Apply changes live, on the same M2M session: log forwarding, indicator bit, the local
    network (lan_entry), a remapping of the same points and the native points' units
    (bridge.async_follow); another product, or a point becoming mapped or native, is taken on
    the same session too (_async_change_product).

    Only new data (re-authentication, reconfiguration: another DID, passcode, Product Secret
    or GService) needs a new session, and an invalid stored product: then the entry reloads
    (the flows leave it to this listener, as Home Assistant asks of an integration that has
    one).
    """
    if session_data(entry.data) != started_with:
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    runtime = entry.runtime_data
    bridge = runtime.bridge
    current = None if bridge is None else bridge.config
    if bridge_config(entry.options) != current:
        recreate = None if bridge is None else bridge.async_follow(entry.options)
        if recreate is None:
            if not _async_change_product(hass, entry):
                hass.config_entries.async_schedule_reload(entry.entry_id)
                return
        else:
            # A changed unit or device class is the registry's too: those entities are
            # made anew.
            async_recreate_native_entities(hass, entry, recreate)
    runtime.log_forwarder.apply_options(entry.options)
    runtime.coordinator.apply_options(entry.options)
    await async_apply_lan_options(hass, entry)


@callback
def _async_change_product(hass: HomeAssistant, entry: GizwitsConfigEntry) -> bool:
    """Another product, a point mapped or made native, or no product: the device takes the
    options' points on the same session, a new bridge follows the mapped entities and the
    native entities are made anew (those of points no longer native leave the registry).

    False for an invalid product (its repair is raised): the entry reloads, keeping the
    entities of the last valid one until it is fixed.
    """
    runtime = entry.runtime_data
    try:
        options = BridgeOptions.from_options(entry.options)
    except ProductDefinitionError:
        return False
    async_clear_issues(hass, entry.entry_id, (ISSUE_INVALID_PRODUCT,))
    if runtime.bridge is not None:
        runtime.bridge.async_stop()
    device = runtime.device
    if options is None:
        device.set_product(None)
        runtime.bridge = None
    else:
        device.set_product(options.model, frozenset(options.mapping))
        runtime.bridge = GizwitsBridge(hass, entry, device, options)
        entry.async_on_unload(runtime.bridge.async_start())
    # The title and the device page's name and model follow the product.
    async_follow_product(hass, entry)
    async_register_device(hass, entry)
    async_remove_stale_native_entities(hass, entry, runtime.bridge)
    async_recreate_native_entities(
        hass,
        entry,
        () if runtime.bridge is None else [p.name for p in runtime.bridge.native_points],
    )
    return True


async def async_unload_entry(hass: HomeAssistant, entry: GizwitsConfigEntry) -> bool:
    """Unload platforms; the session task is cancelled with the entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: GizwitsConfigEntry) -> None:
    """Disable the DID at GService; an unreachable GService must not block removal."""
    async_clear_issues(hass, entry.entry_id, ENTRY_ISSUES)
    await async_remove_notice(hass, entry)
    gservice = GServiceClient(async_get_clientsession(hass), entry.data[CONF_BASE_URL])
    try:
        await gservice.disable(entry.data[CONF_DID], entry.data[CONF_PASSCODE])
    except GServiceError as err:
        LOGGER.warning(
            "Removed %s, but could not disable its DID at Gizwits GService (%s); "
            "the DID stays registered there",
            entry.title,
            err,
        )
