"""Fix flows of the repair issues: the local network without an interface to listen on."""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow, RepairsFlowResult
from homeassistant.core import HomeAssistant

from .issues import ISSUE_LAN_NO_INTERFACE, issue_id
from .lan_entry import lan_options
from .lan_flow import async_local_network_schema, local_network_suggested, with_local_network


class LanInterfaceRepairFlow(RepairsFlow):
    """The options' local network choice, opened from the repair: pick an interface (or
    turn the local network off); the entry reloads and the repair goes once it listens."""

    def __init__(self, entry_id: str) -> None:
        self._entry_id = entry_id

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Open the interface choice (the input here is only the issue's id)."""
        return await self.async_step_interfaces()

    async def async_step_interfaces(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """The interface choice."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        if user_input is not None:
            # A new choice reloads the entry (the update listener), the same one retries (an
            # address may have come since); its LAN side raises the issue again while the
            # choice still has no IPv4 address.
            options = with_local_network(entry.options, user_input)
            same = lan_options(options) == lan_options(entry.options)
            self.hass.config_entries.async_update_entry(entry, options=options)
            if same:
                self.hass.config_entries.async_schedule_reload(entry.entry_id)
            return self.async_create_entry(data={})
        schema = await async_local_network_schema(self.hass)
        return self.async_show_form(
            step_id="interfaces",
            data_schema=self.add_suggested_values_to_schema(
                schema, local_network_suggested(entry.options)
            ),
            description_placeholders={"title": entry.title},
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The fix flow of a fixable issue of this integration."""
    entry_id = str((data or {}).get("entry_id", ""))
    if entry_id and issue == issue_id(ISSUE_LAN_NO_INTERFACE, entry_id):
        return LanInterfaceRepairFlow(entry_id)
    return ConfirmRepairFlow()
