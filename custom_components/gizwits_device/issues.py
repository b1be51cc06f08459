"""Repair issues of a config entry: the one place that builds their ids, and the connection
issues that follow the device's state."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import DOMAIN, UNREACHABLE_REPAIR_AFTER
from .protocol import ConnectionState
from .protocol.device import Device, DeviceState

if TYPE_CHECKING:
    from .runtime import GizwitsConfigEntry

# Translation keys (strings.json "issues"); the issue id adds the entry id.
ISSUE_UNREACHABLE = "unreachable"
ISSUE_INVALID_PRODUCT = "invalid_product"
ISSUE_LAN_DUPLICATE_PASSCODE = "lan_duplicate_passcode"
# Fixable (repairs.py): the fix flow opens the entry's interface choice.
ISSUE_LAN_NO_INTERFACE = "lan_no_interface"
# A login clears these; the invalid product only goes when a valid one is stored.
CONNECTION_ISSUES = (ISSUE_UNREACHABLE,)
ENTRY_ISSUES = (
    *CONNECTION_ISSUES,
    ISSUE_INVALID_PRODUCT,
    ISSUE_LAN_DUPLICATE_PASSCODE,
    ISSUE_LAN_NO_INTERFACE,
)


def issue_id(issue: str, entry_id: str) -> str:
    """The repair issue id of ``issue`` for one config entry."""
    return f"{issue}_{entry_id}"


@callback
def async_raise_issue(
    hass: HomeAssistant,
    entry: GizwitsConfigEntry,
    issue: str,
    severity: ir.IssueSeverity,
    *,
    fixable: bool = False,
    **placeholders: str,
) -> None:
    """Raise (or refresh) ``issue`` for ``entry``; its text names the entry's title.

    A fixable issue's fix flow (repairs.py) finds the entry by the ``entry_id`` in its data.
    """
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(issue, entry.entry_id),
        is_fixable=fixable,
        data={"entry_id": entry.entry_id} if fixable else None,
        severity=severity,
        translation_key=issue,
        translation_placeholders={"title": entry.title, **placeholders},
    )


@callback
def async_clear_issues(hass: HomeAssistant, entry_id: str, issues: Iterable[str]) -> None:
    """Delete these issues of one entry (missing ones are ignored)."""
    for issue in issues:
        ir.async_delete_issue(hass, DOMAIN, issue_id(issue, entry_id))


@callback
def async_track_connection_issues(
    hass: HomeAssistant, entry: GizwitsConfigEntry, device: Device
) -> Callable[[], None]:
    """A login clears the connection issues; 30 minutes without one raise "unreachable"."""
    down_since: datetime | None = None
    status = device.state.status

    @callback
    def on_state(state: DeviceState) -> None:
        nonlocal down_since, status
        if state.status is status:
            return
        status = state.status
        if status.state is ConnectionState.CONNECTED:
            down_since = None
            async_clear_issues(hass, entry.entry_id, CONNECTION_ISSUES)
        elif status.state in (ConnectionState.CONNECTING, ConnectionState.WAITING):
            # HA's clock (not the monotonic one), so tests can move it with freezer.
            now = dt_util.utcnow()
            if down_since is None:
                down_since = now
            elif (now - down_since).total_seconds() >= UNREACHABLE_REPAIR_AFTER:
                async_raise_issue(
                    hass,
                    entry,
                    ISSUE_UNREACHABLE,
                    ir.IssueSeverity.WARNING,
                    error=status.last_error or "",
                )

    return device.add_listener(on_state)
