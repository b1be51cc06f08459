"""Small helpers for the HA-level tests (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event
import psutil

from custom_components.gizwits_device.const import (
    CONF_BASE_URL,
    CONF_DID,
    CONF_MAC,
    CONF_MCU_HARD_VERSION,
    CONF_MCU_SOFT_VERSION,
    CONF_PASSCODE,
    CONF_PRODUCT_KEY,
    CONF_WIFI_HARD_VERSION,
    CONF_WIFI_SOFT_VERSION,
    DEFAULT_HARD_VERSION,
    DEFAULT_SOFT_VERSION,
    DOMAIN,
)

if TYPE_CHECKING:
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    from emulator.server import Emulator

WAIT_TIMEOUT = 20.0
MAC = "A0B1C2D3E4F5"
PASSCODE = "Passcode42"


@dataclass(frozen=True, slots=True)
class TestDevice:
    """A device registered in the emulator."""

    __test__ = False  # not a pytest test class

    did: str
    passcode: str
    product_key: str
    mac: str


def entry_data(emulator: Emulator, device: TestDevice) -> dict[str, str]:
    """Config entry data as the config flow stores it."""
    return {
        CONF_BASE_URL: emulator.gservice_url,
        CONF_PRODUCT_KEY: device.product_key,
        CONF_MAC: device.mac,
        CONF_PASSCODE: device.passcode,
        CONF_DID: device.did,
        CONF_WIFI_HARD_VERSION: DEFAULT_HARD_VERSION,
        CONF_WIFI_SOFT_VERSION: DEFAULT_SOFT_VERSION,
        CONF_MCU_HARD_VERSION: DEFAULT_HARD_VERSION,
        CONF_MCU_SOFT_VERSION: DEFAULT_SOFT_VERSION,
    }


async def wait_until(predicate: Callable[[], object], timeout: float = WAIT_TIMEOUT) -> None:
    """Poll `predicate` on the event loop until it is truthy (TimeoutError otherwise)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def entity_id(hass: HomeAssistant, entry: MockConfigEntry, platform: str, key: str) -> str:
    """The entity id of the entity with description key `key` on `platform`."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, f"{entry.unique_id}_{key}")
    assert found is not None, f"no {platform} entity {key}"
    return found


def state(hass: HomeAssistant, entity: str) -> State:
    """The current state (asserting there is one)."""
    current = hass.states.get(entity)
    assert current is not None, f"no state for {entity}"
    return current


async def wait_state(hass: HomeAssistant, entity: str, predicate: Callable[[State], bool]) -> State:
    """Wait until the entity's state satisfies `predicate`; return it."""
    await wait_until(lambda: (s := hass.states.get(entity)) is not None and predicate(s))
    return state(hass, entity)


class StateRecorder:
    """Records every new state of one entity (state_changed events)."""

    def __init__(self, hass: HomeAssistant, entity: str) -> None:
        self.states: list[State] = []

        @callback
        def _record(event: Event[EventStateChangedData]) -> None:
            if (new := event.data["new_state"]) is not None:
                self.states.append(new)

        self.remove = async_track_state_change_event(hass, [entity], _record)

    def attributes(self, key: str) -> list[Any]:
        """One attribute of every recorded state."""
        return [s.attributes.get(key) for s in self.states]


def broker_client_count(emulator: Emulator) -> int:
    """TCP connections mosquitto itself holds open on its listener (what the broker sees)."""
    proc = emulator.broker._proc
    assert proc is not None
    return sum(
        1
        for conn in psutil.Process(proc.pid).net_connections(kind="tcp")
        if conn.status == psutil.CONN_ESTABLISHED
        and conn.laddr
        and conn.laddr.port == emulator.broker.port
    )


async def past_product_checks(hass: HomeAssistant, result: Any) -> Any:
    """Answer "Use it anyway" when the options flow says the product key is another product's.

    The shipped examples have product keys of their own, unlike the emulator's test product.
    """
    if result.get("step_id") == "product_mismatch":
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "accept_product"}
        )
    return result


async def past_units(hass: HomeAssistant, result: Any, units: dict[str, str] | None = None) -> Any:
    """Submit the units step (no units unless given) when the options flow shows it."""
    if result.get("step_id") == "units":
        result = await hass.config_entries.options.async_configure(result["flow_id"], units or {})
    return result
