"""Device triggers (app command, firmware downloaded, apps online) and automation safety.

Automations written the documented ways (a device trigger, or a state trigger on an event
entity with `not_from: [unavailable]` and `not_to: [unavailable, unknown]`) fire once per app
command, and never on a
reload, reconfigure, re-authentication, product removal, reconnect or restart. The README's old
example (a bare state trigger) fired on each of them: it is kept here to prove the test sees it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.components.update import DOMAIN as UPDATE_DOMAIN, SERVICE_INSTALL
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, ServiceCall
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_get_device_automations,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.gizwits_device import device_trigger
from custom_components.gizwits_device.config_flow import SECTION_ADVANCED, VERSION_KEYS
from custom_components.gizwits_device.const import (
    CONF_BASE_URL,
    CONF_MAPPING,
    CONF_PRODUCT,
    CONF_PRODUCT_KEY,
    CONF_REGION,
    DOMAIN,
)
from custom_components.gizwits_device.protocol import FirmwareType
from emulator.state import FirmwareOffer as EmulatorOffer
from tests.conftest import PRODUCT_KEY
from tests.integration.bridge_helpers import PLUG
from tests.integration.helpers import entity_id, state, wait_state, wait_until

if TYPE_CHECKING:
    from custom_components.gizwits_device.coordinator import GizwitsDeviceCoordinator
    from emulator.server import Emulator
    from tests.integration.helpers import TestDevice

OWN_PLUG = {**PLUG, "product_key": PRODUCT_KEY}


@pytest.fixture
def config_dir(hass: HomeAssistant, tmp_path: Path) -> Path:
    """A throw-away HA config dir for downloaded firmware."""
    hass.config.config_dir = str(tmp_path)
    return tmp_path


def _device_id(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, str(entry.unique_id)), entry.entry_id
    )
    assert device is not None
    return device.id


def _device_trigger(device_id: str, trigger_type: str, **filters: Any) -> dict[str, Any]:
    return {
        "trigger": "device",
        "domain": DOMAIN,
        "device_id": device_id,
        "type": trigger_type,
        **filters,
    }


async def _automations(
    hass: HomeAssistant, *automations: tuple[str, dict[str, Any]]
) -> list[ServiceCall]:
    """One automation per (name, trigger), each calling test.automation with its name."""
    calls = async_mock_service(hass, "test", "automation")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": [
                {
                    "alias": name,
                    "triggers": [trigger],
                    "actions": [
                        {
                            "action": "test.automation",
                            "data": {"name": name, "payload": "{{ trigger.event.data.payload }}"}
                            if trigger["trigger"] == "device"
                            else {"name": name},
                        }
                    ],
                }
                for name, trigger in automations
            ]
        },
    )
    await hass.async_block_till_done()
    return calls


def _names(calls: list[ServiceCall]) -> list[str]:
    return sorted(call.data["name"] for call in calls)


async def test_get_triggers_and_capabilities(
    hass: HomeAssistant, setup_integration: MockConfigEntry
) -> None:
    """The automation editor lists the three triggers; each offers its filters."""
    device_id = _device_id(hass, setup_integration)
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device_id)
    ours = [t for t in triggers if t["domain"] == DOMAIN]
    assert sorted(t["type"] for t in ours) == ["app_command", "apps_online", "firmware_downloaded"]
    assert all(t["device_id"] == device_id and t["platform"] == "device" for t in ours)

    capabilities = await device_trigger.async_get_trigger_capabilities(
        hass, _device_trigger(device_id, "app_command")
    )
    assert {str(k) for k in capabilities["extra_fields"].schema} == {
        "payload",
        "app_client_id",
        "sn",
    }
    capabilities = await device_trigger.async_get_trigger_capabilities(
        hass, _device_trigger(device_id, "firmware_downloaded")
    )
    assert {str(k) for k in capabilities["extra_fields"].schema} == {"firmware_type"}
    assert (
        await device_trigger.async_get_trigger_capabilities(
            hass, _device_trigger(device_id, "apps_online")
        )
        == {}
    )


async def test_the_editor_gets_the_filters(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    setup_integration: MockConfigEntry,
) -> None:
    """The automation editor asks over the websocket; the filters must serialize (a function
    validator made the payload/sn/app fields vanish from the editor)."""
    assert await async_setup_component(hass, "device_automation", {})
    client = await hass_ws_client(hass)
    device_id = _device_id(hass, setup_integration)
    expected = {
        "app_command": ["payload", "app_client_id", "sn"],
        "firmware_downloaded": ["firmware_type"],
        "apps_online": [],
    }
    for number, (trigger_type, names) in enumerate(expected.items(), start=1):
        await client.send_json(
            {
                "id": number,
                "type": "device_automation/trigger/capabilities",
                "trigger": _device_trigger(device_id, trigger_type),
            }
        )
        answer = await client.receive_json()
        assert answer["success"], answer
        fields = answer["result"].get("extra_fields", [])
        assert [field["name"] for field in fields] == names


async def test_validation(hass: HomeAssistant) -> None:
    """Payload filters are normalized hex; a filter of another trigger type is refused."""
    base = {"platform": "device", "domain": DOMAIN, "device_id": "x"}
    config = await device_trigger.async_validate_trigger_config(
        hass, {**base, "type": "app_command", "payload": "01 02:FF"}
    )
    assert config["payload"] == "0102ff"
    for bad in (
        {"type": "app_command", "payload": "xyz"},
        {"type": "app_command", "payload": ""},
        {"type": "apps_online", "payload": "01"},
        {"type": "firmware_downloaded", "firmware_type": "bios"},
        {"type": "nothing"},
    ):
        with pytest.raises(vol.Invalid):
            await device_trigger.async_validate_trigger_config(hass, {**base, **bad})


async def test_app_command_filters(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """Payload, sn and app filters narrow the trigger; no filter fires for every command."""
    device_id = _device_id(hass, setup_integration)
    app = await emulator.app(device.did)
    other = await emulator.app(device.did)
    calls = await _automations(
        hass,
        ("any", _device_trigger(device_id, "app_command")),
        ("payload", _device_trigger(device_id, "app_command", payload="01 02")),
        ("sn", _device_trigger(device_id, "app_command", sn=77)),
        ("app", _device_trigger(device_id, "app_command", app_client_id=other.client_id)),
    )
    await app.send_passthrough(b"\x01\x02")
    await wait_until(lambda: len(calls) == 2)
    assert _names(calls) == ["any", "payload"]
    assert calls[0].data["payload"] == "0102"
    await app.send_acked(b"\xff", sn=77)
    await wait_until(lambda: len(calls) == 4)
    assert _names(calls[2:]) == ["any", "sn"]
    await other.send_passthrough(b"\xaa")
    await wait_until(lambda: len(calls) == 6)
    assert _names(calls[4:]) == ["any", "app"]


async def test_apps_online_fires_on_a_rise_from_zero(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    setup_integration: MockConfigEntry,
) -> None:
    """0 → n apps fires once; n → m, the first count after a login, and n → 0 do not."""
    coordinator = setup_integration.runtime_data.coordinator
    await wait_until(lambda: coordinator.data.online_apps == 0)
    calls = await _automations(
        hass, ("apps", _device_trigger(_device_id(hass, setup_integration), "apps_online"))
    )
    for count in (2, 3, 0, 1):
        await emulator.cloud.push_online_apps(device.did, count)
        await wait_until(lambda c=count: coordinator.data.online_apps == c)
    await hass.async_block_till_done()
    assert len(calls) == 2
    # After a reconnect the first count is what was there, not apps coming online: four apps
    # came while the device was away (changed without a push), and its first count says so.
    await emulator.cloud.push_online_apps(device.did, 0)
    await wait_until(lambda: coordinator.data.online_apps == 0)
    emulator.cloud._override[device.did] = 4
    await _restart_broker(emulator, coordinator)
    # The cloud agent may miss the login's 0x020F while it reconnects itself: push the same
    # count too. Either way the device's first count after the login is 4, and 4 → 4 is none.
    await emulator.cloud.push_online_apps(device.did, 4)
    await wait_until(lambda: coordinator.data.online_apps == 4)
    await hass.async_block_till_done()
    assert len(calls) == 2


async def _reload(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()


async def _reconfigure(hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator) -> None:
    result = await entry.start_reconfigure_flow(hass)
    versions = {key: entry.data[key] for key in VERSION_KEYS}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_REGION: "custom", SECTION_ADVANCED: versions}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BASE_URL: emulator.gservice_url}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()


async def _reauth(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"passcode": "NewPass99"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()


async def _remove_product(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "product"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "product_remove"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()


async def _reconnect(hass: HomeAssistant, entry: MockConfigEntry, emulator: Emulator) -> None:
    await _restart_broker(emulator, entry.runtime_data.coordinator)
    await hass.async_block_till_done()


async def _restart_broker(emulator: Emulator, coordinator: GizwitsDeviceCoordinator) -> None:
    """Restart the broker and wait for the device's next login.

    Not "disconnected, then connected": the device may log in again before `restart()`
    returns (it retries while the broker starts), and that gap is then never seen.
    """
    logins = coordinator.device.session.stats.connects
    await emulator.broker.restart()
    await wait_until(
        lambda: coordinator.data.connected and coordinator.device.session.stats.connects > logins
    )


async def _restart(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Unload and set up again, as a Home Assistant restart does with the entry."""
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def test_documented_automations_fire_only_for_real_happenings(
    hass: HomeAssistant,
    emulator: Emulator,
    device: TestDevice,
    config_entry: MockConfigEntry,
    config_dir: Path,
) -> None:
    """Reload, reconfigure, reauth, product removal, reconnect, restart: no documented trigger.

    Then one app command and one firmware download fire each documented automation once.
    """
    entry = config_entry
    hass.config_entries.async_update_entry(
        entry, options={CONF_PRODUCT: OWN_PLUG, CONF_MAPPING: {}}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    device_id = _device_id(hass, entry)
    app_event = entity_id(hass, entry, "event", "app_command")
    firmware_event = entity_id(hass, entry, "event", "firmware")
    app = await emulator.app(device.did)
    # Something happened before: the event entities have a state to restore.
    await app.send_passthrough(b"\x01")
    await wait_state(hass, app_event, lambda s: s.attributes.get("payload") == "01")

    # Not from unavailable (the entity coming back), not to unavailable/unknown (going away,
    # or restored without its last event after it went away unavailable, e.g. at a reauth).
    safe = {"not_from": ["unavailable"], "not_to": ["unavailable", "unknown"]}
    calls = await _automations(
        hass,
        ("device_command", _device_trigger(device_id, "app_command")),
        ("device_firmware", _device_trigger(device_id, "firmware_downloaded")),
        ("device_apps", _device_trigger(device_id, "apps_online")),
        ("state_command", {"trigger": "state", "entity_id": app_event, **safe}),
        ("state_firmware", {"trigger": "state", "entity_id": firmware_event, **safe}),
        ("unsafe_state_command", {"trigger": "state", "entity_id": app_event}),
    )

    await _reload(hass, entry)
    await _reconfigure(hass, entry, emulator)
    await _reauth(hass, entry)
    await _remove_product(hass, entry)
    await _reconnect(hass, entry, emulator)
    await _restart(hass, entry)
    await hass.async_block_till_done()
    # Only the bare state trigger (the old README example) fell into the trap, every time.
    assert {call.data["name"] for call in calls} == {"unsafe_state_command"}
    assert len(calls) >= 5
    calls.clear()

    # An app binding after the others left is apps coming online.
    await app.close()
    await wait_until(lambda: entry.runtime_data.coordinator.data.online_apps == 0)
    app = await emulator.app(device.did)
    await wait_until(lambda: _names(calls) == ["device_apps"])
    calls.clear()
    await app.send_passthrough(b"\x0a\x0b")
    await wait_until(lambda: len(calls) == 3)
    assert _names(calls) == ["device_command", "state_command", "unsafe_state_command"]

    calls.clear()
    emulator.state.set_offer(
        EmulatorOffer(firmware_type=2, soft_version="00000002", data=b"\x00" * 64),
        product_key=PRODUCT_KEY,
    )
    mcu = entity_id(hass, entry, "update", "mcu_firmware")
    await emulator.cloud.notify_ota_check(device.did, FirmwareType.MCU)
    await wait_state(hass, mcu, lambda s: s.state == "on")
    await hass.services.async_call(
        UPDATE_DOMAIN, SERVICE_INSTALL, {ATTR_ENTITY_ID: mcu}, blocking=True
    )
    await wait_until(lambda: len(calls) == 2)
    await hass.async_block_till_done()
    assert _names(calls) == ["device_firmware", "state_firmware"]
    assert state(hass, firmware_event).attributes["firmware_type"] == "mcu"
    assert entry.data[CONF_PRODUCT_KEY] == PRODUCT_KEY
    await app.close()
