"""Config flow against the real emulator: register (protocol.md §7), M2M login (§2), errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
import re
from typing import TYPE_CHECKING, Any
from unittest.mock import patch

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_USER,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, UnknownFlow, section
from homeassistant.helpers import instance_id
from homeassistant.helpers.selector import TextSelectorType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device import config_flow
from custom_components.gizwits_device.const import (
    CONF_BASE_URL,
    CONF_DID,
    CONF_INDICATOR_BIT,
    CONF_LOG_FORWARD_LEVEL,
    CONF_LOG_FORWARD_LOGGERS,
    CONF_MAC,
    CONF_MCU_HARD_VERSION,
    CONF_MCU_SOFT_VERSION,
    CONF_PASSCODE,
    CONF_PRODUCT_KEY,
    CONF_PRODUCT_SECRET,
    CONF_REGION,
    CONF_WIFI_HARD_VERSION,
    CONF_WIFI_SOFT_VERSION,
    DOMAIN,
    ENTRY_MINOR_VERSION,
)
from custom_components.gizwits_device.identity import derive_mac, region_of
from custom_components.gizwits_device.protocol import REGIONS, GServiceCannotConnect, GServiceClient
from emulator.broker import device_acl
from emulator.state import DeviceEvent
from tests.conftest import PRODUCT_KEY
from tests.gservice_servers import closed_port
from tests.integration.helpers import MAC, PASSCODE, TestDevice, entry_data

if TYPE_CHECKING:
    from emulator.server import Emulator

pytestmark = pytest.mark.usefixtures("unload_entries")

OTHER_PRODUCT_KEY = "fedcba9876543210fedcba9876543210"
NEW_MAC = "02:11:22:33:44:55"
NEW_MAC_WIRE = "021122334455"


ADVANCED = config_flow.SECTION_ADVANCED


def advanced(**versions: str) -> dict[str, dict[str, str]]:
    """The collapsed Advanced section of the user and reconfigure steps."""
    return {ADVANCED: versions}


def user_input(
    emulator: Emulator, *, versions: Mapping[str, str] | None = None, **overrides: Any
) -> dict[str, Any]:
    """A complete, valid user step pointing at the emulator."""
    return {
        CONF_REGION: "custom",
        CONF_BASE_URL: emulator.gservice_url + "/",
        CONF_PRODUCT_KEY: PRODUCT_KEY.upper(),
        CONF_MAC: NEW_MAC,
        CONF_PASSCODE: "Secret123",
        **advanced(
            **{
                CONF_WIFI_HARD_VERSION: "ESP32",
                CONF_WIFI_SOFT_VERSION: "04020021",
                CONF_MCU_HARD_VERSION: "1",
                CONF_MCU_SOFT_VERSION: "2",
            }
            | dict(versions or {})
        ),
    } | overrides


def suggested(result: Mapping[str, Any], key: str) -> Any:
    """The value the form suggests for `key`, also inside a section (None when none)."""
    schema = result["data_schema"].schema
    for marker in schema:
        if marker == key:
            return (marker.description or {}).get("suggested_value")
    for value in schema.values():
        if isinstance(value, section) and key in value.schema.schema:
            return suggested({"data_schema": value.schema}, key)
    raise KeyError(key)


def is_password(result: Mapping[str, Any], key: str) -> bool:
    """The form asks for `key` in a password field (not shown as typed)."""
    selector = result["data_schema"].schema[key]
    return selector.config.get("type") == TextSelectorType.PASSWORD


async def submit_user(
    hass: HomeAssistant, result: ConfigFlowResult, data: Mapping[str, Any]
) -> ConfigFlowResult:
    """Submit `data` where the flow stands: the user step, then (Custom) the URL step."""
    configure = hass.config_entries.flow.async_configure
    if result["step_id"] == "user":
        result = await configure(
            result["flow_id"], {k: v for k, v in data.items() if k != CONF_BASE_URL}
        )
        if result.get("step_id") != "custom_url" or result["errors"]:
            return result
    return await configure(result["flow_id"], {CONF_BASE_URL: data[CONF_BASE_URL]})


async def start_user(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    return result


# -- user step --------------------------------------------------------------------------------


async def test_user_creates_entry(hass: HomeAssistant, emulator: Emulator) -> None:
    """Register → DID, M2M login proven, entry created with normalized data (§7, §2)."""
    result = await start_user(hass)
    assert result["errors"] == {}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {k: v for k, v in user_input(emulator).items() if k != CONF_BASE_URL}
    )
    # Custom asks for the URL in a step of its own.
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "custom_url"
    assert result["errors"] == {}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BASE_URL: emulator.gservice_url + "/"}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    did = entry.data[CONF_DID]
    assert entry.unique_id == f"{PRODUCT_KEY}_{NEW_MAC_WIRE}"
    # A short readable name until a product definition names the device; no MAC in it.
    assert entry.title == "Gizwits device"
    assert entry.data == {
        CONF_BASE_URL: emulator.gservice_url,
        CONF_PRODUCT_KEY: PRODUCT_KEY,
        CONF_MAC: NEW_MAC_WIRE,
        CONF_PASSCODE: "Secret123",
        CONF_DID: did,
        CONF_WIFI_HARD_VERSION: "000ESP32",
        CONF_WIFI_SOFT_VERSION: "04020021",
        CONF_MCU_HARD_VERSION: "00000001",
        CONF_MCU_SOFT_VERSION: "00000002",
    }
    registered = emulator.state.devices[did]
    assert (registered.product_key, registered.mac, registered.passcode) == (
        PRODUCT_KEY,
        NEW_MAC_WIRE,
        "Secret123",
    )
    assert registered.enabled
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_user_form_defaults(hass: HomeAssistant) -> None:
    """MAC: stable per form, locally administered unicast, new per device; passcode random,
    GAgent's shape (10 capital letters) that LAN apps expect (protocol.md §8)."""
    first = await start_user(hass)
    second = await start_user(hass)
    mac = suggested(first, CONF_MAC)
    assert mac == suggested(second, CONF_MAC)
    assert re.fullmatch(r"[0-9A-F]{12}", mac)
    assert int(mac[:2], 16) & 0x03 == 0x02  # locally administered, unicast
    assert mac == derive_mac(await instance_id.async_get(hass), 0)
    for result in (first, second):
        assert re.fullmatch(r"[A-Z]{10}", suggested(result, CONF_PASSCODE))
    assert suggested(first, CONF_PASSCODE) != suggested(second, CONF_PASSCODE)
    assert is_password(first, CONF_PASSCODE)
    assert suggested(first, CONF_REGION) == "cn"
    assert suggested(first, CONF_WIFI_SOFT_VERSION) == "00000001"

    # With one device configured the next one gets the next derived MAC; a MAC already used
    # by an entry (here the one for index 1) is skipped.
    instance = await instance_id.async_get(hass)
    MockConfigEntry(domain=DOMAIN, data={CONF_MAC: derive_mac(instance, 1)}).add_to_hass(hass)
    third = await start_user(hass)
    assert suggested(third, CONF_MAC) == derive_mac(instance, 2)


async def test_user_field_errors(hass: HomeAssistant, emulator: Emulator) -> None:
    """Each bad field gets its own error; nothing is registered."""
    result = await start_user(hass)
    bad = user_input(
        emulator,
        versions={
            CONF_WIFI_HARD_VERSION: "123456789",
            CONF_WIFI_SOFT_VERSION: "a/b",
            CONF_MCU_HARD_VERSION: "",
            CONF_MCU_SOFT_VERSION: "v 1",
        },
        **{
            CONF_PRODUCT_KEY: "not-a-key",
            CONF_PRODUCT_SECRET: "0123",
            CONF_MAC: "00:11:22",
            CONF_PASSCODE: "no spaces!",
        },
    )
    result = await submit_user(hass, result, bad)
    assert result["type"] is FlowResultType.FORM
    # Fields of the collapsed section get no error of their own in HA: the form-level error
    # names the section.
    assert result["errors"] == {
        CONF_PRODUCT_KEY: "invalid_product_key",
        CONF_PRODUCT_SECRET: "invalid_product_secret",
        CONF_MAC: "invalid_mac",
        CONF_PASSCODE: "invalid_passcode",
        "base": "invalid_version",
    }
    # The form keeps what the user typed.
    assert suggested(result, CONF_PRODUCT_KEY) == "not-a-key"

    result = await submit_user(hass, result, user_input(emulator, **{CONF_BASE_URL: "ftp://x"}))
    assert result["step_id"] == "custom_url"
    assert result["errors"] == {CONF_BASE_URL: "invalid_url"}
    assert emulator.state.devices == {}


async def test_user_listed_region_asks_no_url(hass: HomeAssistant, emulator: Emulator) -> None:
    """The URL field is only asked for Custom: a listed region goes straight to registering."""
    result = await start_user(hass)
    assert CONF_BASE_URL not in result["data_schema"].schema
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            k: v
            for k, v in user_input(emulator, **{CONF_REGION: "eu", CONF_MAC: "zz"}).items()
            if k != CONF_BASE_URL
        },
    )
    assert result["step_id"] == "user"
    assert result["errors"] == {CONF_MAC: "invalid_mac"}


type Setup = Callable[[Emulator, pytest.MonkeyPatch, dict[str, Any]], Callable[[], None]]


def _fault(endpoint: str, kind: str, status: int = 500) -> Setup:
    def setup(emu: Emulator, _mp: pytest.MonkeyPatch, _data: dict[str, Any]) -> Callable[[], None]:
        emu.state.inject_fault(endpoint, kind, status=status)  # type: ignore[arg-type]
        return lambda: None

    return setup


def _unknown_product(
    emu: Emulator, _mp: pytest.MonkeyPatch, data: dict[str, Any]
) -> Callable[[], None]:
    data[CONF_PRODUCT_KEY] = OTHER_PRODUCT_KEY
    return lambda: data.update({CONF_PRODUCT_KEY: PRODUCT_KEY})


def _closed_port(
    emu: Emulator, _mp: pytest.MonkeyPatch, data: dict[str, Any]
) -> Callable[[], None]:
    data[CONF_BASE_URL] = f"http://127.0.0.1:{closed_port()}"
    return lambda: data.update({CONF_BASE_URL: emu.gservice_url})


def _broker_refuses(
    emu: Emulator, _mp: pytest.MonkeyPatch, _data: dict[str, Any]
) -> Callable[[], None]:
    """GService registers, but the broker is given another password: CONNACK refused."""

    def wrong_password(event: DeviceEvent) -> None:
        if event.kind == "registered":
            acl = list(device_acl(event.did, event.product_key))
            emu.broker.stage_user(event.did, "not-the-passcode", acl)

    return emu.state.add_listener(wrong_password)


def _did_disabled(
    emu: Emulator, _mp: pytest.MonkeyPatch, _data: dict[str, Any]
) -> Callable[[], None]:
    """GService registers, then disables the DID: provision answers Gizwits error 9023."""

    def disable(event: DeviceEvent) -> None:
        if event.kind == "registered":
            emu.state.disable(event.did, event.passcode)

    return emu.state.add_listener(disable)


def _m2m_unreachable(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, _data: dict[str, Any]
) -> Callable[[], None]:
    """GService hands out a broker address nobody listens on."""
    monkeypatch.setattr(config_flow, "CONNECT_TIMEOUT", 1.0)
    port = emu.state.m2m_port
    emu.state.m2m_port = closed_port()
    return lambda: setattr(emu.state, "m2m_port", port)


def _unexpected(
    emu: Emulator, monkeypatch: pytest.MonkeyPatch, _data: dict[str, Any]
) -> Callable[[], None]:
    async def boom(*_args: object) -> str:
        raise RuntimeError("bug")

    monkeypatch.setattr(GServiceClient, "register", boom)
    return monkeypatch.undo


@pytest.mark.parametrize(
    "case",
    [
        pytest.param((_fault("register", "status", 500), "base", "server_error"), id="5xx"),
        pytest.param((_fault("register", "garbage"), "base", "malformed_response"), id="garbage"),
        pytest.param((_fault("register", "hang"), "base", "timeout"), id="hang"),
        # protocol.md §7: a bare 403 (no Gizwits error code) is not a refusal of the device.
        pytest.param((_fault("register", "status", 403), "base", "cannot_connect"), id="403"),
        pytest.param((_fault("register", "status", 400), "base", "invalid_auth"), id="rejected"),
        pytest.param((_did_disabled, "base", "invalid_auth"), id="did-disabled"),
        # protocol.md §7: a bare 404 on provision says nothing about the DID.
        pytest.param((_fault("provision", "status", 404), "base", "cannot_connect"), id="404"),
        pytest.param((_unknown_product, "base", "unknown_product"), id="product"),
        pytest.param((_closed_port, "base", "cannot_connect"), id="closed-port"),
        pytest.param((_broker_refuses, "base", "invalid_auth"), id="broker-refuses"),
        pytest.param((_m2m_unreachable, "base", "m2m_timeout"), id="m2m-timeout"),
        pytest.param((_unexpected, "base", "unknown"), id="unexpected"),
    ],
)
async def test_user_errors_then_recover(
    hass: HomeAssistant,
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[Setup, str, str],
) -> None:
    """Every failure is a form error and creates nothing; the next try succeeds."""
    setup, field, error = case
    data = user_input(emulator)
    undo = setup(emulator, monkeypatch, data)
    result = await start_user(hass)
    result = await submit_user(hass, result, data)
    assert result["type"] is FlowResultType.FORM
    # The product key and credentials are fixed in the first form, the rest in the URL step.
    wanted_step = "user" if error in config_flow.IDENTITY_ERRORS else "custom_url"
    assert result["step_id"] == wanted_step
    assert result["errors"] == {field: error}
    assert hass.config_entries.async_entries(DOMAIN) == []

    undo()
    result = await submit_user(hass, result, data)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_DID] in emulator.state.devices


async def test_abandoned_flow_does_not_block_the_device(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    """A set-up left open in another tab (unique ID already set) does not block a new one.

    Without raise_on_progress=False the new flow aborted with HA's untranslated
    "already_in_progress", with nowhere to finish the old one.
    """
    abandoned = await start_user(hass)
    abandoned = await submit_user(
        hass,
        abandoned,
        user_input(emulator, **{CONF_BASE_URL: f"http://127.0.0.1:{closed_port()}"}),
    )
    assert abandoned["errors"] == {"base": "cannot_connect"}
    assert hass.config_entries.flow.async_progress_by_handler(
        DOMAIN, match_context={"unique_id": f"{PRODUCT_KEY}_{NEW_MAC_WIRE}"}
    )

    result = await submit_user(hass, await start_user(hass), user_input(emulator))
    assert result["type"] is FlowResultType.CREATE_ENTRY

    # HA drops the abandoned flow once the device has an entry.
    with pytest.raises(UnknownFlow):
        await submit_user(hass, abandoned, user_input(emulator))
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_user_already_configured(
    hass: HomeAssistant, emulator: Emulator, config_entry: MockConfigEntry
) -> None:
    """Same product key + MAC (in any spelling) aborts before anything is registered."""
    devices = dict(emulator.state.devices)
    result = await start_user(hass)
    result = await submit_user(
        hass,
        result,
        user_input(emulator, **{CONF_MAC: "a0-b1-c2-d3-e4-f5", CONF_PASSCODE: "Other1"}),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert emulator.state.devices == devices
    assert emulator.state.devices[config_entry.data[CONF_DID]].passcode == PASSCODE


# -- reauth -----------------------------------------------------------------------------------


async def reauth_form(hass: HomeAssistant, entry: MockConfigEntry) -> ConfigFlowResult:
    """Set up `entry`, which Gizwits refuses, and return the reauth form HA started."""
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = entry.async_get_active_flows(hass, {SOURCE_REAUTH})
    flow = next(iter(flows))
    result = await hass.config_entries.flow.async_configure(flow["flow_id"])
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    placeholders = result["description_placeholders"]
    assert (placeholders["title"], placeholders["mac"]) == (entry.title, MAC)
    assert is_password(result, CONF_PASSCODE)
    return result


async def test_reauth_register(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, config_entry: MockConfigEntry
) -> None:
    """The DID was disabled (device reset): register again → new DID, new passcode."""
    emulator.state.disable(device.did, device.passcode)
    await emulator.settle()
    result = await reauth_form(hass, config_entry)
    assert suggested(result, CONF_DID) is None
    generated = suggested(result, CONF_PASSCODE)
    assert re.fullmatch(r"[A-Z]{10}", generated)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSCODE: "bad pass"}
    )
    assert result["errors"] == {CONF_PASSCODE: "invalid_passcode"}

    emulator.state.inject_fault("register", "status", status=503)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSCODE: generated}
    )
    assert result["errors"] == {"base": "server_error"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSCODE: generated}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    new_did = config_entry.data[CONF_DID]
    assert new_did != device.did
    assert config_entry.data[CONF_PASSCODE] == generated
    assert emulator.state.devices[new_did].mac == MAC
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED


async def test_reauth_manual(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice, config_entry: MockConfigEntry
) -> None:
    """The stored passcode is refused by the broker; the user types the right one."""
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_PASSCODE: "WrongPass1"}
    )
    result = await reauth_form(hass, config_entry)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DID: "short", CONF_PASSCODE: "x y"}
    )
    assert result["errors"] == {CONF_DID: "invalid_did", CONF_PASSCODE: "invalid_passcode"}

    # A real CONNACK refusal (§2): the DID exists, the passcode is wrong.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DID: device.did, CONF_PASSCODE: "StillWrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_DID: device.did, CONF_PASSCODE: PASSCODE}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert config_entry.data[CONF_PASSCODE] == PASSCODE
    assert config_entry.data[CONF_DID] == device.did
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.LOADED


# -- reconfigure ------------------------------------------------------------------------------


async def test_reconfigure(
    hass: HomeAssistant, emulator: Emulator, setup_integration: MockConfigEntry
) -> None:
    """New URL + versions; the URL is checked by provisioning the existing DID (§7)."""
    entry = setup_integration
    before = dict(entry.data)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    assert CONF_BASE_URL not in result["data_schema"].schema
    assert suggested(result, CONF_REGION) == "custom"
    assert suggested(result, CONF_MCU_SOFT_VERSION) == "00000001"

    versions = {
        CONF_WIFI_HARD_VERSION: "00000002",
        CONF_WIFI_SOFT_VERSION: "3",
        CONF_MCU_HARD_VERSION: "00000004",
        CONF_MCU_SOFT_VERSION: "5",
    }
    configure = hass.config_entries.flow.async_configure
    result = await configure(
        result["flow_id"],
        {CONF_REGION: "custom", **advanced(**(versions | {CONF_MCU_SOFT_VERSION: "123456789"}))},
    )
    assert result["errors"] == {"base": "invalid_version"}
    result = await configure(result["flow_id"], {CONF_REGION: "custom", **advanced(**versions)})
    assert result["step_id"] == "reconfigure_url"
    assert suggested(result, CONF_BASE_URL) == emulator.gservice_url

    result = await configure(result["flow_id"], {CONF_BASE_URL: "http://"})
    assert result["errors"] == {CONF_BASE_URL: "invalid_url"}
    result = await configure(
        result["flow_id"], {CONF_BASE_URL: f"http://127.0.0.1:{closed_port()}"}
    )
    assert result["errors"] == {"base": "cannot_connect"}
    new_url = {CONF_BASE_URL: f"{emulator.gservice_url}/"}
    emulator.state.inject_fault("provision", "status", status=500)
    result = await configure(result["flow_id"], new_url)
    assert result["errors"] == {"base": "server_error"}
    emulator.state.inject_fault("provision", "status", status=404)
    result = await configure(result["flow_id"], new_url)
    assert result["errors"] == {"base": "cannot_connect"}  # bare 404: protocol.md §7
    assert dict(entry.data) == before

    result = await configure(result["flow_id"], new_url)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == before | {
        CONF_WIFI_HARD_VERSION: "00000002",
        CONF_WIFI_SOFT_VERSION: "00000003",
        CONF_MCU_HARD_VERSION: "00000004",
        CONF_MCU_SOFT_VERSION: "00000005",
    }
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_suggests_listed_region(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice
) -> None:
    """An entry on a public region shows that region; choosing Custom suggests no URL."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        data=entry_data(emulator, device) | {CONF_BASE_URL: REGIONS["eu"]},
        minor_version=ENTRY_MINOR_VERSION,
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert suggested(result, CONF_REGION) == "eu"
    versions = {key: entry.data[key] for key in config_flow.VERSION_KEYS}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_REGION: "custom", **advanced(**versions)}
    )
    assert result["step_id"] == "reconfigure_url"
    assert suggested(result, CONF_BASE_URL) is None


async def test_reconfigure_to_listed_region_asks_no_url(
    hass: HomeAssistant, emulator: Emulator, setup_integration: MockConfigEntry
) -> None:
    """A listed region is used as is: its GService is asked about the DID at once."""
    entry = setup_integration
    versions = {key: entry.data[key] for key in config_flow.VERSION_KEYS}
    result = await entry.start_reconfigure_flow(hass)
    # The public GService is not reachable from the tests: whatever it answers, no URL step.
    with patch.object(GServiceClient, "provision", side_effect=GServiceCannotConnect("x")):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_REGION: "eu", **advanced(**versions)}
        )
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "cannot_connect"}


def test_region_of() -> None:
    assert region_of(REGIONS["us"]) == "us"
    assert region_of("http://127.0.0.1:8080") == "custom"


# -- options ----------------------------------------------------------------------------------


async def test_options(hass: HomeAssistant, setup_integration: MockConfigEntry) -> None:
    """Loggers are trimmed and de-duplicated, the bit is an int, the change applies live."""
    entry = setup_integration
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    assert result["type"] is FlowResultType.FORM
    assert suggested(result, CONF_LOG_FORWARD_LOGGERS) == []
    assert suggested(result, CONF_LOG_FORWARD_LEVEL) == "warning"
    assert suggested(result, CONF_INDICATOR_BIT) == 8

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_LOG_FORWARD_LOGGERS: ["not a logger"],
            CONF_LOG_FORWARD_LEVEL: "info",
            CONF_INDICATOR_BIT: 1,
        },
    )
    assert result["errors"] == {CONF_LOG_FORWARD_LOGGERS: "invalid_logger"}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_LOG_FORWARD_LOGGERS: [" homeassistant.core ", "", "homeassistant.core", "my_app"],
            CONF_LOG_FORWARD_LEVEL: "error",
            CONF_INDICATOR_BIT: 3.0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_LOG_FORWARD_LOGGERS: ["homeassistant.core", "my_app"],
        CONF_LOG_FORWARD_LEVEL: "error",
        CONF_INDICATOR_BIT: 3,
    }
    await hass.async_block_till_done()
    forwarder = entry.runtime_data.log_forwarder
    assert forwarder is not None
    assert forwarder.logger_names == ["homeassistant.core", "my_app"]

    # The form shows what is stored.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "settings"}
    )
    assert suggested(result, CONF_INDICATOR_BIT) == 3
    assert suggested(result, CONF_LOG_FORWARD_LOGGERS) == ["homeassistant.core", "my_app"]
