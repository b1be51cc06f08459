"""Every library error a flow can meet, mapped to its form error (fake GService and session).

The same failures provoked for real (faults injected into the emulator) are in
tests/integration/test_config_flow.py; these cover each typed error of the library once, for the
re-authentication and the reconfigure steps, and that the next try succeeds.
"""

from __future__ import annotations

from unittest.mock import MagicMock

from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.gizwits_device import config_flow
from custom_components.gizwits_device.config_flow import SECTION_ADVANCED, VERSION_DEFAULTS
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
from custom_components.gizwits_device.protocol import (
    REGIONS,
    GServiceCannotConnect,
    GServiceInvalidCredentials,
    GServiceMalformedResponse,
    GServiceRejected,
    GServiceSecretMismatch,
    GServiceServerError,
    GServiceTimeout,
    GServiceUnknownProduct,
    M2MAuthenticationError,
    M2MTimeoutError,
    M2MUnreachableError,
)
from tests.conftest import PRODUCT_KEY

from .fake_session import DID, FakeSessionControl

NEW_PASSCODE = "NewPass99"


def _unreachable_because(cause: Exception) -> M2MUnreachableError:
    """What the library raises when provision (inside connect) failed."""
    err = M2MUnreachableError("provision failed")
    err.__cause__ = cause
    return err


GSERVICE_ERRORS = [
    pytest.param(GServiceTimeout("slow"), "timeout", id="timeout"),
    pytest.param(GServiceCannotConnect("refused"), "cannot_connect", id="cannot-connect"),
    pytest.param(GServiceUnknownProduct("pk"), "unknown_product", id="unknown-product"),
    pytest.param(GServiceInvalidCredentials("9014"), "invalid_auth", id="invalid-credentials"),
    pytest.param(GServiceRejected("9015"), "invalid_auth", id="rejected"),
    pytest.param(GServiceServerError("503"), "server_error", id="server-error"),
    pytest.param(GServiceMalformedResponse("garbage"), "malformed_response", id="malformed"),
    # protocol.md §9: an answer that does not decrypt under the Product Secret.
    pytest.param(GServiceSecretMismatch("not hex"), "secret_mismatch", id="secret-mismatch"),
    pytest.param(RuntimeError("a bug"), "unknown", id="unexpected"),
]
LOGIN_ERRORS = [
    pytest.param(M2MAuthenticationError("CONNACK 5"), "invalid_auth", id="refused"),
    pytest.param(M2MTimeoutError("no CONNACK"), "m2m_timeout", id="m2m-timeout"),
    pytest.param(M2MUnreachableError("broker down"), "m2m_timeout", id="m2m-unreachable"),
    pytest.param(
        _unreachable_because(GServiceCannotConnect("bare 404")),
        "cannot_connect",
        id="provision-failed",
    ),
    pytest.param(TimeoutError(), "m2m_timeout", id="whole-login-timeout"),
]


async def _reauth(hass: HomeAssistant, entry: MockConfigEntry, data: dict[str, str]) -> object:
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    return await hass.config_entries.flow.async_configure(result["flow_id"], data)


@pytest.mark.usefixtures("mock_session")
@pytest.mark.parametrize(("error", "form_error"), GSERVICE_ERRORS)
async def test_reauth_register_errors(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    mock_gservice: MagicMock,
    error: Exception,
    form_error: str,
) -> None:
    """Registering again fails: the form says why; the next try registers and logs in."""
    mock_gservice.register.side_effect = error
    result = await _reauth(hass, config_entry, {CONF_PASSCODE: NEW_PASSCODE})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": form_error}

    mock_gservice.register.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_PASSCODE: NEW_PASSCODE}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert config_entry.data[CONF_PASSCODE] == NEW_PASSCODE
    await hass.async_block_till_done()


@pytest.mark.usefixtures("mock_gservice")
@pytest.mark.parametrize(("error", "form_error"), LOGIN_ERRORS)
async def test_reauth_login_errors(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    mock_session: FakeSessionControl,
    error: Exception,
    form_error: str,
) -> None:
    """A DID and passcode the login refuses or cannot try: the form says why."""
    mock_session.connect_error = error
    data = {CONF_DID: DID, CONF_PASSCODE: NEW_PASSCODE}
    result = await _reauth(hass, config_entry, data)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": form_error}

    mock_session.connect_error = None
    result = await hass.config_entries.flow.async_configure(result["flow_id"], data)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()


@pytest.mark.usefixtures("mock_session")
@pytest.mark.parametrize(("error", "form_error"), GSERVICE_ERRORS)
async def test_reconfigure_errors(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    mock_gservice: MagicMock,
    error: Exception,
    form_error: str,
) -> None:
    """The new region must know the DID (provision): any failure keeps the old settings."""
    mock_gservice.provision.side_effect = error
    result = await config_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_REGION: "eu", **_versions(config_entry)}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": form_error}
    old_url = config_entry.data["base_url"]

    mock_gservice.provision.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_REGION: "eu", **_versions(config_entry)}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert config_entry.data["base_url"] != old_url
    await hass.async_block_till_done()


def _versions(entry: MockConfigEntry) -> dict[str, dict[str, str]]:
    """The reconfigure step's Advanced section with the entry's versions."""
    versions = {key: value for key, value in entry.data.items() if key.endswith("_version")}
    return {"advanced": versions}


@pytest.mark.usefixtures("mock_session")
async def test_listed_region_with_a_secret_registers_there(
    hass: HomeAssistant, mock_gservice: MagicMock
) -> None:
    """A listed region needs no URL step: the client for its GService gets the Product Secret
    (protocol.md §9), and so does the session's."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    secret = "6F3E2B1C0A9D8E7F6A5B4C3D2E1F0A9B"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_REGION: "eu",
            CONF_PRODUCT_KEY: PRODUCT_KEY,
            CONF_PRODUCT_SECRET: secret,
            CONF_MAC: "02:00:00:00:00:09",
            CONF_PASSCODE: "ABCDEFGHIJ",
            SECTION_ADVANCED: dict(VERSION_DEFAULTS),
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_BASE_URL] == REGIONS["eu"]
    assert result["data"][CONF_PRODUCT_SECRET] == secret.lower()
    # The flow's clients (the patched class) were all made with the secret.
    calls = config_flow.GServiceClient.call_args_list  # type: ignore[attr-defined]
    assert calls
    assert {call.kwargs["product_secret"] for call in calls} == {secret.lower()}
    mock_gservice.register.assert_awaited_once()
    await hass.async_block_till_done()
