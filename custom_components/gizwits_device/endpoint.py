"""The library device of one config entry: its session, identity, store and product.

Everything about the device itself lives in the library (`protocol.device.Device`); this
module only builds it from the entry, on Home Assistant's HTTP session, with the entry's
records kept in Home Assistant's storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.storage import Store
from homeassistant.util.ssl import get_default_context

from .const import (
    CONF_BASE_URL,
    CONF_DID,
    CONF_PASSCODE,
    CONF_PRODUCT_KEY,
    CONF_PRODUCT_SECRET,
    DOMAIN,
    FIRMWARE_DIR,
    FIRMWARE_MAX_SIZE,
    HARD_VERSION_KEYS,
    PERIODIC_REPORT_INTERVAL,
    REPORT_DEBOUNCE,
    REPORT_MIN_INTERVAL,
    SOFT_VERSION_KEYS,
    STORAGE_VERSION,
)
from .protocol import GServiceClient, M2MSession, ProductModel, SessionTiming
from .protocol.device import Device, DeviceIdentity, ReportPacing

# The protocol's intervals and GService's request timeout; tests replace them.
SESSION_TIMING = SessionTiming()
GSERVICE_TIMEOUT = 10.0

PACING = ReportPacing(
    REPORT_DEBOUNCE, REPORT_MIN_INTERVAL, PERIODIC_REPORT_INTERVAL.total_seconds()
)
# The device's own data-point values are kept in their own Store (as before the library
# held them), the log level and firmware records in the entry's.
_VALUES = "values"


def create_gservice(
    hass: HomeAssistant,
    base_url: str,
    product_key: str,
    product_secret: str | None,
    *,
    timeout: float,
) -> GServiceClient:
    """A GService client on HA's shared HTTP session (the safe calls with a Product Secret)."""
    return GServiceClient(
        async_get_clientsession(hass),
        base_url,
        timeout=timeout,
        product_key=product_key,
        product_secret=product_secret,
    )


def create_session(
    hass: HomeAssistant,
    base_url: str,
    did: str,
    passcode: str,
    product_key: str,
    *,
    product_secret: str | None = None,
) -> tuple[GServiceClient, M2MSession]:
    """The GService client and M2M session for one device, on HA's shared HTTP session.

    With a Product Secret every provision (before each connect) uses the safe call.
    """
    gservice = create_gservice(
        hass, base_url, product_key, product_secret, timeout=GSERVICE_TIMEOUT
    )
    session = M2MSession(
        gservice,
        did=did,
        passcode=passcode,
        product_key=product_key,
        timing=SESSION_TIMING,
        ssl_context=get_default_context(),
    )
    return gservice, session


class EntryStore:
    """The device's DeviceStore in Home Assistant's storage (two Stores, each saved only when
    its part changed)."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        key = f"{DOMAIN}.{entry_id}"
        self._records: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, key)
        self._values: Store[dict[str, Any]] = Store(hass, STORAGE_VERSION, f"{key}.bridge")
        self._saved: tuple[dict[str, Any], dict[str, Any]] = ({}, {})

    async def load(self) -> Mapping[str, Any] | None:
        """Both Stores' data as one mapping."""
        records = await self._records.async_load() or {}
        values = await self._values.async_load() or {}
        self._saved = (records, values)
        return {**records, _VALUES: values.get(_VALUES, {})}

    async def save(self, data: Mapping[str, Any]) -> None:
        """Save what changed."""
        records = {k: v for k, v in data.items() if k != _VALUES}
        values = {_VALUES: data[_VALUES]} if _VALUES in data else {}
        if records != self._saved[0]:
            await self._records.async_save(records)
        if values and values != self._saved[1]:
            await self._values.async_save(values)
        self._saved = (records, values or self._saved[1])


def create_device(
    hass: HomeAssistant,
    entry: ConfigEntry,
    product: ProductModel | None = None,
    followed: frozenset[str] = frozenset(),
) -> Device:
    """The entry's device (not started): `followed` are the points mapped to HA entities."""
    data = entry.data
    gservice, session = create_session(
        hass,
        data[CONF_BASE_URL],
        data[CONF_DID],
        data[CONF_PASSCODE],
        data[CONF_PRODUCT_KEY],
        product_secret=data.get(CONF_PRODUCT_SECRET),
    )
    identity = DeviceIdentity(
        did=data[CONF_DID],
        passcode=data[CONF_PASSCODE],
        product_key=data[CONF_PRODUCT_KEY],
        hard_versions={t: str(data[key]) for t, key in HARD_VERSION_KEYS.items()},
        soft_versions={t: str(data[key]) for t, key in SOFT_VERSION_KEYS.items()},
    )
    device = Device(
        session,
        gservice,
        identity,
        http=async_get_clientsession(hass),
        # Resolved per download: the config dir is known for sure only then.
        firmware_dir=lambda: Path(hass.config.path(FIRMWARE_DIR, entry.entry_id)),
        product=product,
        followed_points=followed,
        store=EntryStore(hass, entry.entry_id),
        pacing=PACING,
    )
    device.firmware.max_size = FIRMWARE_MAX_SIZE
    return device
