"""The set-up notification: next steps once, and the DID and passcode while binding is open.

Like HomeKit Bridge's pairing notification, but the passcode is a secret (with it and the DID
an app controls the device): it is shown only while the binding window is open, when any app
on the local network may fetch it anyway (0x0006), and the notification goes away when the
window closes. The next steps appear once per entry, after its first set-up.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from homeassistant.components import persistent_notification
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.storage import Store
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from .const import CONF_DID, CONF_PASSCODE, DOMAIN
from .runtime import GizwitsConfigEntry

STORAGE_KEY = f"{DOMAIN}.notices"
STORAGE_VERSION = 1
_STORE = f"{DOMAIN}_notice_store"


def notification_id(entry: GizwitsConfigEntry) -> str:
    """The entry's one notification."""
    return f"{DOMAIN}_{entry.entry_id}"


class _ShownEntries:
    """Which entries have shown their next steps (one Store for all entries)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._store: Store[list[str]] = Store(hass, STORAGE_VERSION, STORAGE_KEY)
        self._entries: set[str] | None = None
        self._lock = asyncio.Lock()

    async def async_set(self, entry_id: str, shown: bool) -> bool:
        """Mark (or unmark) an entry; whether that changed anything."""
        async with self._lock:
            if self._entries is None:
                self._entries = set(await self._store.async_load() or [])
            if (entry_id in self._entries) is shown:
                return False
            if shown:
                self._entries.add(entry_id)
            else:
                self._entries.discard(entry_id)
            await self._store.async_save(sorted(self._entries))
            return True


def _shown_entries(hass: HomeAssistant) -> _ShownEntries:
    shown: _ShownEntries | None = hass.data.get(_STORE)
    if shown is None:
        shown = hass.data[_STORE] = _ShownEntries(hass)
    return shown


class SetupNotice:
    """The entry's notification; follows the binding window through the coordinator."""

    def __init__(self, hass: HomeAssistant, entry: GizwitsConfigEntry) -> None:
        self._hass = hass
        self._entry = entry
        self._shown_until: datetime | None = None
        self._texts: dict[str, str] = {}

    async def async_start(self) -> None:
        """Show the next steps after the first set-up; then follow the binding window."""
        hass, entry = self._hass, self._entry
        self._texts = await async_get_translations(hass, hass.config.language, "common", [DOMAIN])
        if await _shown_entries(hass).async_set(entry.entry_id, True):
            self._show("next_steps")
        # The LAN side comes and goes with the options (lan_entry): follow whichever is set up.
        coordinator = entry.runtime_data.coordinator
        entry.async_on_unload(coordinator.async_add_listener(self._async_binding_changed))
        entry.async_on_unload(self._async_stop)

    @callback
    def _async_binding_changed(self) -> None:
        lan = self._entry.runtime_data.lan
        ends = None if lan is None else lan.binding_ends
        if ends == self._shown_until:
            return
        self._shown_until = ends
        if ends is None:
            persistent_notification.async_dismiss(self._hass, notification_id(self._entry))
        else:
            self._show(
                "binding_open",
                ends=dt_util.as_local(ends).strftime("%H:%M:%S"),
                passcode=self._entry.data[CONF_PASSCODE],
            )

    @callback
    def _async_stop(self) -> None:
        """Unloading closes the window: the passcode must not stay on screen."""
        if self._shown_until is not None:
            persistent_notification.async_dismiss(self._hass, notification_id(self._entry))

    def _text(self, key: str) -> str:
        return self._texts.get(f"component.{DOMAIN}.common.{key}", key)

    def _show(self, kind: str, **placeholders: str) -> None:
        entry = self._entry
        values = {
            "title": entry.title,
            "did": entry.data[CONF_DID],
            "device_url": f"/config/devices/device/{entry.runtime_data.device_id}",
            **placeholders,
        }
        persistent_notification.async_create(
            self._hass,
            self._text(f"notice_{kind}_message").format(**values),
            self._text(f"notice_{kind}_title").format(**values),
            notification_id(entry),
        )


async def async_remove_notice(hass: HomeAssistant, entry: GizwitsConfigEntry) -> None:
    """The entry is deleted: its notification and its mark go."""
    persistent_notification.async_dismiss(hass, notification_id(entry))
    await _shown_entries(hass).async_set(entry.entry_id, False)
