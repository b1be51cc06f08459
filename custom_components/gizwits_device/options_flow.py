"""Options flow: log forwarding and indicator settings, the entity bridge (bridge_flow) and
the local network (lan_flow)."""

from __future__ import annotations

import re
from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
import probatio as vol  # HA's voluptuous-compatible schema library (HA >= 2026.x)

from .bridge_flow import BridgeOptionsMixin
from .const import (
    CONF_DID,
    CONF_INDICATOR_BIT,
    CONF_LOG_FORWARD_LEVEL,
    CONF_LOG_FORWARD_LOGGERS,
    CONF_PASSCODE,
    CONF_PRODUCT,
    CONF_PRODUCT_KEY,
    CONF_PRODUCT_SECRET,
    DEFAULT_INDICATOR_BIT,
    DEFAULT_LOG_FORWARD_LEVEL,
)
from .lan_flow import LanOptionsMixin

LOG_FORWARD_LEVELS = ("error", "warning", "info")
_LOGGER_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


class GizwitsDeviceOptionsFlow(BridgeOptionsMixin, LanOptionsMixin, OptionsFlow):
    """Settings (log forwarding, indicator bit), the entity bridge (product, mapping) and the
    local network."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose what to change (or look up the device's credentials)."""
        menu = ["product"]
        if self.config_entry.options.get(CONF_PRODUCT):
            menu.append("mapping")
        menu += ["settings", "local_network", "credentials"]
        return self.async_show_menu(step_id="init", menu_options=menu)

    async def async_step_credentials(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the DID, passcode and Product Secret to the owner (admins only; never logged or
        in diagnostics). A closing message, not a form: there is nothing to submit."""
        data = self.config_entry.data
        placeholders = {
            "did": data[CONF_DID],
            "passcode": data[CONF_PASSCODE],
            "product_key": data[CONF_PRODUCT_KEY],
        }
        if secret := data.get(CONF_PRODUCT_SECRET):
            return self.async_abort(
                reason="credentials_with_secret",
                description_placeholders={**placeholders, "product_secret": secret},
            )
        return self.async_abort(reason="credentials", description_placeholders=placeholders)

    async def async_step_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and save the log forwarding options (applied live by the update listener)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            names: list[str] = []
            for raw in user_input.get(CONF_LOG_FORWARD_LOGGERS, []):
                name = str(raw).strip()
                if not name or name in names:
                    continue
                if not _LOGGER_NAME_RE.fullmatch(name):
                    errors[CONF_LOG_FORWARD_LOGGERS] = "invalid_logger"
                names.append(name)
            if not errors:
                return self.async_create_entry(
                    data={
                        **self.config_entry.options,
                        CONF_LOG_FORWARD_LOGGERS: names,
                        CONF_LOG_FORWARD_LEVEL: user_input[CONF_LOG_FORWARD_LEVEL],
                        CONF_INDICATOR_BIT: int(user_input[CONF_INDICATOR_BIT]),
                    }
                )
        options = self.config_entry.options
        suggested = {
            CONF_LOG_FORWARD_LOGGERS: list(options.get(CONF_LOG_FORWARD_LOGGERS, [])),
            CONF_LOG_FORWARD_LEVEL: options.get(CONF_LOG_FORWARD_LEVEL, DEFAULT_LOG_FORWARD_LEVEL),
            CONF_INDICATOR_BIT: options.get(CONF_INDICATOR_BIT, DEFAULT_INDICATOR_BIT),
            **(user_input or {}),
        }
        schema = vol.Schema(
            {
                vol.Optional(CONF_LOG_FORWARD_LOGGERS): TextSelector(
                    TextSelectorConfig(multiple=True)
                ),
                vol.Required(CONF_LOG_FORWARD_LEVEL): SelectSelector(
                    SelectSelectorConfig(
                        options=list(LOG_FORWARD_LEVELS),
                        translation_key=CONF_LOG_FORWARD_LEVEL,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Required(CONF_INDICATOR_BIT): NumberSelector(
                    NumberSelectorConfig(min=0, max=15, step=1, mode=NumberSelectorMode.BOX)
                ),
            }
        )
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
        )
