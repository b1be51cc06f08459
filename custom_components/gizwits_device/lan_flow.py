"""Options step: answer apps on the local network, on which interfaces, and whether status
reports are broadcast there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components import network
from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio as vol  # HA's voluptuous-compatible schema library (HA >= 2026.x)

from .const import (
    CONF_LAN_ENABLED,
    CONF_LAN_INTERFACES,
    CONF_LAN_STATUS_BROADCAST,
    DEFAULT_LAN_ENABLED,
    DEFAULT_LAN_STATUS_BROADCAST,
)


class LanOptionsMixin(OptionsFlow):
    """The "local_network" step of the options flow (applied live: lan_entry)."""

    async def async_step_local_network(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Turn the LAN side on or off and pick its interfaces (none: HA's network settings)."""
        if user_input is not None:
            return self.async_create_entry(
                data=with_local_network(self.config_entry.options, user_input)
            )
        schema = await async_local_network_schema(self.hass)
        return self.async_show_form(
            step_id="local_network",
            data_schema=self.add_suggested_values_to_schema(
                schema, local_network_suggested(self.config_entry.options)
            ),
        )


async def async_local_network_schema(hass: HomeAssistant) -> vol.Schema:
    """LAN on or off, and the interfaces with an IPv4 address (also the repair's form)."""
    adapters = await network.async_get_adapters(hass)
    choices = [
        SelectOptionDict(
            value=adapter["name"],
            label=f"{adapter['name']} ({', '.join(ip['address'] for ip in adapter['ipv4'])})",
        )
        for adapter in adapters
        if adapter["ipv4"]
    ]
    return vol.Schema(
        {
            vol.Required(CONF_LAN_ENABLED): BooleanSelector(),
            vol.Optional(CONF_LAN_INTERFACES): SelectSelector(
                SelectSelectorConfig(options=choices, multiple=True, mode=SelectSelectorMode.LIST)
            ),
            vol.Optional(CONF_LAN_STATUS_BROADCAST): BooleanSelector(),
        }
    )


def local_network_suggested(options: Mapping[str, Any]) -> dict[str, Any]:
    """The form's values from the entry's options."""
    return {
        CONF_LAN_ENABLED: options.get(CONF_LAN_ENABLED, DEFAULT_LAN_ENABLED),
        CONF_LAN_INTERFACES: list(options.get(CONF_LAN_INTERFACES, [])),
        CONF_LAN_STATUS_BROADCAST: options.get(
            CONF_LAN_STATUS_BROADCAST, DEFAULT_LAN_STATUS_BROADCAST
        ),
    }


def with_local_network(options: Mapping[str, Any], user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The entry's options with the form's LAN choice."""
    return {
        **options,
        CONF_LAN_ENABLED: bool(user_input[CONF_LAN_ENABLED]),
        CONF_LAN_INTERFACES: sorted(user_input.get(CONF_LAN_INTERFACES, [])),
        CONF_LAN_STATUS_BROADCAST: bool(
            user_input.get(CONF_LAN_STATUS_BROADCAST, DEFAULT_LAN_STATUS_BROADCAST)
        ),
    }
