"""The Product Secret end to end against the emulator (protocol.md §9): set-up, restart,
reconnect, reconfigure and re-authentication with and without it; its secrecy."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.gizwits_device import config_flow
from custom_components.gizwits_device.const import (
    CONF_BASE_URL,
    CONF_DID,
    CONF_MAC,
    CONF_PASSCODE,
    CONF_PRODUCT_KEY,
    CONF_PRODUCT_SECRET,
    CONF_REGION,
    DOMAIN,
)
from tests.conftest import PRODUCT_KEY
from tests.integration.helpers import MAC, PASSCODE, TestDevice, entry_data, wait_until

if TYPE_CHECKING:
    from emulator.server import Emulator

pytestmark = pytest.mark.usefixtures("unload_entries")

WRONG_SECRET = "00112233445566778899aabbccddeeff"
NEW_MAC = "02:33:44:55:66:77"
ADVANCED = config_flow.SECTION_ADVANCED


def secret_of(emulator: Emulator) -> str:
    return emulator.state.product_secret(PRODUCT_KEY)


def calls(emulator: Emulator, did: str, call: str) -> list[str]:
    """The APIs `did` used for `call` so far, oldest first."""
    return [api for name, seen, api in emulator.state.api_calls if (name, seen) == (call, did)]


async def start(hass: HomeAssistant, emulator: Emulator, **fields: Any) -> Any:
    """The user step with the emulator as Custom GService; returns the URL step's answer."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_REGION: "custom",
            CONF_PRODUCT_KEY: PRODUCT_KEY,
            CONF_MAC: NEW_MAC,
            CONF_PASSCODE: "Secret123",
            ADVANCED: dict(config_flow.VERSION_DEFAULTS),
            **fields,
        },
    )
    if result.get("step_id") != "custom_url":
        return result
    return await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_BASE_URL: emulator.gservice_url}
    )


def secret_entry(hass: HomeAssistant, data: dict[str, str]) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=f"{PRODUCT_KEY}_{MAC}", title="Gizwits device", data=data
    )
    entry.add_to_hass(hass)
    return entry


# -- set-up ---------------------------------------------------------------------------------


async def test_setup_with_secret_uses_the_safe_calls(
    hass: HomeAssistant, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Register and provision through §9; the entry keeps the secret; nothing secret is logged
    (aiohttp's DEBUG included)."""
    caplog.set_level(logging.DEBUG)
    secret = secret_of(emulator)
    result = await start(hass, emulator, **{CONF_PRODUCT_SECRET: secret.upper()})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    did = entry.data[CONF_DID]
    assert entry.data[CONF_PRODUCT_SECRET] == secret
    assert calls(emulator, did, "register") == ["safe"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    # The flow proved the login and set-up connected: a safe provision before each.
    assert calls(emulator, did, "provision") == ["safe", "safe"]
    # Home Assistant's and the libraries' records; the emulator (the cloud) logs DIDs itself.
    logged = "\n".join(
        record.getMessage() for record in caplog.records if not record.name.startswith("emulator")
    )
    assert any(record.levelno == logging.DEBUG for record in caplog.records)
    for text in (secret, secret.upper(), did, "Secret123"):
        assert text not in logged


async def test_setup_without_secret_keeps_the_plain_calls(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    result = await start(hass, emulator, **{CONF_PRODUCT_SECRET: "  "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    did = result["result"].data[CONF_DID]
    assert CONF_PRODUCT_SECRET not in result["result"].data
    await hass.async_block_till_done()
    assert calls(emulator, did, "register") == ["plain"]
    assert set(calls(emulator, did, "provision")) == {"plain"}


async def test_wrong_secret_is_a_form_error(hass: HomeAssistant, emulator: Emulator) -> None:
    """The emulator answers a wrong secret with blocks that do not decrypt: the first form
    says so and nothing is created or registered."""
    result = await start(hass, emulator, **{CONF_PRODUCT_SECRET: WRONG_SECRET})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {"base": "secret_mismatch"}
    assert emulator.state.devices == {}
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_secret_in_the_wrong_format_is_refused(
    hass: HomeAssistant, emulator: Emulator
) -> None:
    for bad in ("0123", "g" * 32, secret_of(emulator) + "0"):
        result = await start(hass, emulator, **{CONF_PRODUCT_SECRET: bad})
        assert result["step_id"] == "user"
        assert result["errors"] == {CONF_PRODUCT_SECRET: "invalid_product_secret"}
    assert emulator.state.devices == {}


async def test_the_first_step_says_where_the_secret_is(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    selector = result["data_schema"].schema[CONF_PRODUCT_SECRET]
    assert selector.config["type"] == "password"
    # Submit only on a final step: Custom asks for the URL next.
    assert result["last_step"] is False


# -- restart, reconnect ---------------------------------------------------------------------


async def test_restart_and_reconnect_provision_with_the_secret(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice
) -> None:
    entry = secret_entry(
        hass, entry_data(emulator, device) | {CONF_PRODUCT_SECRET: secret_of(emulator)}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert calls(emulator, device.did, "provision") == ["safe"]

    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert calls(emulator, device.did, "provision") == ["safe", "safe"]

    # A lost connection: every new attempt provisions again, with the secret.
    await emulator.broker.restart()
    await wait_until(lambda: len(calls(emulator, device.did, "provision")) >= 3)
    coordinator = entry.runtime_data.coordinator
    await wait_until(lambda: coordinator.data.connected)
    assert set(calls(emulator, device.did, "provision")) == {"safe"}


async def test_a_secret_that_stops_matching_keeps_retrying(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice
) -> None:
    """A wrong secret is not a refusal of the DID (§7): no re-authentication is started."""
    entry = secret_entry(hass, entry_data(emulator, device) | {CONF_PRODUCT_SECRET: WRONG_SECRET})
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert not list(entry.async_get_active_flows(hass, {"reauth"}))


# -- reconfigure ----------------------------------------------------------------------------


async def _reconfigure(hass: HomeAssistant, entry: MockConfigEntry, **fields: Any) -> Any:
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    versions = {key: entry.data[key] for key in config_flow.VERSION_KEYS}
    configure = hass.config_entries.flow.async_configure
    result = await configure(
        result["flow_id"], {CONF_REGION: "custom", ADVANCED: versions, **fields}
    )
    if result.get("step_id") != "reconfigure_url":
        return result
    assert result["last_step"] is True
    return await configure(result["flow_id"], {CONF_BASE_URL: entry.data[CONF_BASE_URL]})


async def test_reconfigure_adds_changes_and_removes_the_secret(
    hass: HomeAssistant, emulator: Emulator, setup_integration: MockConfigEntry, device: TestDevice
) -> None:
    entry = setup_integration
    secret = secret_of(emulator)
    # The current secret (none here) is never sent to the form.
    form = await entry.start_reconfigure_flow(hass)
    assert form["last_step"] is False
    hass.config_entries.flow.async_abort(form["flow_id"])

    result = await _reconfigure(hass, entry, **{CONF_PRODUCT_SECRET: WRONG_SECRET})
    # Fixed where the secret is typed: back in the first form, the typed secret not echoed.
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": "secret_mismatch"}
    assert WRONG_SECRET not in repr(result["data_schema"].schema)
    assert CONF_PRODUCT_SECRET not in entry.data
    result = await _reconfigure(hass, entry, **{CONF_PRODUCT_SECRET: "12"})
    assert result["errors"] == {CONF_PRODUCT_SECRET: "invalid_product_secret"}

    result = await _reconfigure(hass, entry, **{CONF_PRODUCT_SECRET: secret})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_PRODUCT_SECRET] == secret
    assert entry.data[CONF_DID] == device.did  # no new DID unless asked
    assert entry.state is ConfigEntryState.LOADED
    assert calls(emulator, device.did, "provision")[-2:] == ["safe", "safe"]

    # Empty keeps the current secret.
    result = await _reconfigure(hass, entry)
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data[CONF_PRODUCT_SECRET] == secret

    result = await _reconfigure(
        hass,
        entry,
        **{CONF_PRODUCT_SECRET: secret, config_flow.CONF_REMOVE_PRODUCT_SECRET: True},
    )
    assert result["errors"] == {"base": "secret_conflict"}
    result = await _reconfigure(hass, entry, **{config_flow.CONF_REMOVE_PRODUCT_SECRET: True})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert CONF_PRODUCT_SECRET not in entry.data
    assert entry.state is ConfigEntryState.LOADED
    assert calls(emulator, device.did, "provision")[-2:] == ["plain", "plain"]


async def test_reconfigure_registers_again_when_asked(
    hass: HomeAssistant, emulator: Emulator, setup_integration: MockConfigEntry, device: TestDevice
) -> None:
    """The DID was disabled: "register again" with the new secret gets the new DID."""
    entry = setup_integration
    emulator.state.disable(device.did, device.passcode)
    await emulator.settle()
    result = await _reconfigure(hass, entry, **{CONF_PRODUCT_SECRET: secret_of(emulator)})
    assert result["errors"] == {"base": "invalid_auth"}
    result = await _reconfigure(
        hass,
        entry,
        **{CONF_PRODUCT_SECRET: secret_of(emulator), config_flow.CONF_REGISTER_AGAIN: True},
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    new_did = entry.data[CONF_DID]
    assert new_did != device.did
    assert calls(emulator, new_did, "register") == ["safe"]
    assert entry.state is ConfigEntryState.LOADED


# -- reauth ---------------------------------------------------------------------------------


async def test_reauth_keeps_the_secret(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice
) -> None:
    secret = secret_of(emulator)
    entry = secret_entry(hass, entry_data(emulator, device) | {CONF_PRODUCT_SECRET: secret})
    emulator.state.disable(device.did, device.passcode)
    await emulator.settle()
    result = await entry.start_reauth_flow(hass)
    assert result["last_step"] is True
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSCODE: "Fresh12345"}
    )
    assert result["reason"] == "reauth_successful"
    new_did = entry.data[CONF_DID]
    assert entry.data[CONF_PRODUCT_SECRET] == secret
    assert calls(emulator, new_did, "register") == ["safe"]
    assert calls(emulator, new_did, "provision")[0] == "safe"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_reauth_without_secret_stays_plain(
    hass: HomeAssistant, emulator: Emulator, device: TestDevice
) -> None:
    entry = secret_entry(hass, entry_data(emulator, device))
    emulator.state.disable(device.did, device.passcode)
    await emulator.settle()
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSCODE: PASSCODE}
    )
    assert result["reason"] == "reauth_successful"
    assert CONF_PRODUCT_SECRET not in entry.data
    assert calls(emulator, entry.data[CONF_DID], "register") == ["plain"]
    await hass.async_block_till_done()


# -- secrecy --------------------------------------------------------------------------------


async def test_secret_shown_only_with_the_credentials(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    emulator: Emulator,
    device: TestDevice,
) -> None:
    secret = secret_of(emulator)
    entry = secret_entry(hass, entry_data(emulator, device) | {CONF_PRODUCT_SECRET: secret})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["entry"]["data"][CONF_PRODUCT_SECRET] == "**REDACTED**"
    assert secret not in json.dumps(diagnostics)

    reconfigure = await entry.start_reconfigure_flow(hass)
    assert secret not in repr(reconfigure["data_schema"].schema)
    hass.config_entries.flow.async_abort(reconfigure["flow_id"])

    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "credentials"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "credentials_with_secret"
    assert result["description_placeholders"]["product_secret"] == secret
