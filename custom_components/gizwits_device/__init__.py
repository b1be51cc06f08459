"""Gizwits Device: Home Assistant acting as a Gizwits (机智云) device."""

from __future__ import annotations

import asyncio

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .bridge import GizwitsBridge, bridge_config
from .const import (
    CONF_BASE_URL,
    CONF_DID,
    CONF_PASSCODE,
    CONF_PRODUCT_KEY,
    CONNECT_TIMEOUT,
    DOMAIN,
    LOGGER,
)
from .coordinator import (
    ENTRY_ISSUES,
    GizwitsConfigEntry,
    GizwitsDeviceCoordinator,
    create_session,
    issue_id,
)
from .log_forwarder import LogForwarder
from .protocol import GServiceClient, GServiceError, M2MAuthenticationError
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

PLATFORMS = [
    Platform.BINARY_SENSOR,
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


async def async_setup_entry(hass: HomeAssistant, entry: GizwitsConfigEntry) -> bool:
    """Start the M2M session and wait for the first login."""
    gservice, session = create_session(
        hass,
        entry.data[CONF_BASE_URL],
        entry.data[CONF_DID],
        entry.data[CONF_PASSCODE],
        entry.data[CONF_PRODUCT_KEY],
    )
    coordinator = GizwitsDeviceCoordinator(hass, entry, session=session, gservice=gservice)
    entry.runtime_data = coordinator
    entry.async_on_unload(coordinator.async_stop)
    await coordinator.async_start()
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await coordinator.async_wait_connected()
    except M2MAuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="auth_failed"
        ) from err
    except TimeoutError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="not_connected",
            translation_placeholders={"error": session.status.last_error or "timeout"},
        ) from err

    coordinator.log_forwarder = LogForwarder(hass, coordinator)
    coordinator.log_forwarder.apply_options(entry.options)
    entry.async_on_unload(coordinator.log_forwarder.close)
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))

    # The entity bridge exists only when the options hold a product definition.
    coordinator.bridge = GizwitsBridge.from_options(hass, coordinator, entry.options)
    if coordinator.bridge is not None:
        entry.async_on_unload(coordinator.bridge.async_stop)
        await coordinator.bridge.async_start()

    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_options_updated(hass: HomeAssistant, entry: GizwitsConfigEntry) -> None:
    """Apply option changes live (log forwarding, indicator bit) without a reload.

    A changed product or mapping changes the set of native entities: the entry reloads.
    """
    coordinator = entry.runtime_data
    current = None if coordinator.bridge is None else coordinator.bridge.config
    if bridge_config(entry.options) != current:
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    if coordinator.log_forwarder is not None:
        coordinator.log_forwarder.apply_options(entry.options)
    coordinator.async_update_listeners()


async def async_unload_entry(hass: HomeAssistant, entry: GizwitsConfigEntry) -> bool:
    """Unload platforms; the session task is cancelled with the entry."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: GizwitsConfigEntry) -> None:
    """Disable the DID at GService; an unreachable GService must not block removal."""
    for issue in ENTRY_ISSUES:
        ir.async_delete_issue(hass, DOMAIN, issue_id(issue, entry.entry_id))
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
