"""Config flow: register HA as a Gizwits device, prove the M2M login, then create the entry."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers import instance_id
from homeassistant.helpers.selector import (
    BooleanSelector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio as vol  # HA's voluptuous-compatible schema library (HA >= 2026.x)

from . import protocol
from .const import (
    CONF_BASE_URL,
    CONF_DID,
    CONF_MAC,
    CONF_MCU_HARD_VERSION,
    CONF_MCU_SOFT_VERSION,
    CONF_PASSCODE,
    CONF_PRODUCT_KEY,
    CONF_PRODUCT_SECRET,
    CONF_REGION,
    CONF_WIFI_HARD_VERSION,
    CONF_WIFI_SOFT_VERSION,
    CONNECT_TIMEOUT,
    DEFAULT_HARD_VERSION,
    DEFAULT_SOFT_VERSION,
    DOMAIN,
    ENTRY_MINOR_VERSION,
    ENTRY_VERSION,
    LOGGER,
    REGION_CUSTOM,
)
from .endpoint import create_gservice, create_session
from .identity import derive_mac, generate_passcode, region_of, session_data
from .naming import default_title
from .options_flow import GizwitsDeviceOptionsFlow
from .protocol import GServiceClient
from .runtime import GizwitsConfigEntry

# Per-request timeout of the flow's own GService calls (register, provision).
GSERVICE_TIMEOUT = 10.0

VERSION_KEYS = (
    CONF_WIFI_HARD_VERSION,
    CONF_WIFI_SOFT_VERSION,
    CONF_MCU_HARD_VERSION,
    CONF_MCU_SOFT_VERSION,
)
VERSION_DEFAULTS = {
    CONF_WIFI_HARD_VERSION: DEFAULT_HARD_VERSION,
    CONF_WIFI_SOFT_VERSION: DEFAULT_SOFT_VERSION,
    CONF_MCU_HARD_VERSION: DEFAULT_HARD_VERSION,
    CONF_MCU_SOFT_VERSION: DEFAULT_SOFT_VERSION,
}

_TEXT = TextSelector()
_PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
_REGION = SelectSelector(
    SelectSelectorConfig(
        options=[*protocol.REGIONS, REGION_CUSTOM],
        translation_key=CONF_REGION,
        mode=SelectSelectorMode.DROPDOWN,
    )
)
_URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_CUSTOM_URL_SCHEMA = vol.Schema({vol.Required(CONF_BASE_URL): _URL})
# Registration errors the user fixes in the first form, not in the custom URL step.
IDENTITY_ERRORS = frozenset({"unknown_product", "invalid_auth", "secret_mismatch", "unknown"})
# The four reported versions sit in a collapsed section: their defaults suit nearly everyone.
SECTION_ADVANCED = "advanced"
# Reconfigure: register product key + MAC again (a new DID when the old one is disabled).
CONF_REGISTER_AGAIN = "register_again"
CONF_REMOVE_PRODUCT_SECRET = "remove_product_secret"  # noqa: S105 - a key name
_BOOLEAN = BooleanSelector()


@contextmanager
def _form_errors(errors: dict[str, str]) -> Iterator[None]:
    """Record a failed GService or M2M step as the form error that says what went wrong."""
    try:
        yield
    except protocol.GServiceTimeout:  # before its base class GServiceCannotConnect
        errors["base"] = "timeout"
    except protocol.GServiceCannotConnect:
        errors["base"] = "cannot_connect"
    except protocol.GServiceUnknownProduct:
        errors["base"] = "unknown_product"
    except (
        protocol.GServiceInvalidCredentials,
        protocol.GServiceRejected,
        protocol.M2MAuthenticationError,
    ):
        errors["base"] = "invalid_auth"
    except protocol.GServiceServerError:
        errors["base"] = "server_error"
    except protocol.GServiceSecretMismatch:  # before its base class GServiceMalformedResponse
        errors["base"] = "secret_mismatch"
    except protocol.GServiceMalformedResponse:
        errors["base"] = "malformed_response"
    except protocol.M2MUnreachableError, TimeoutError:
        errors["base"] = "m2m_timeout"
    except Exception:
        LOGGER.exception("Unexpected error while talking to Gizwits")
        errors["base"] = "unknown"


def _check(
    errors: dict[str, str],
    user_input: Mapping[str, Any],
    key: str,
    validator: Callable[[str], str],
    error: str,
) -> str:
    """Run `validator` on a text field; on a rejected value record `error` on that field."""
    try:
        return validator(str(user_input.get(key, "")).strip())
    except protocol.GizwitsValueError:
        errors[key] = error
        return ""


async def _async_with_url(
    user_input: Mapping[str, Any],
    errors: dict[str, str],
    use: Callable[[str, dict[str, str]], Awaitable[ConfigFlowResult | None]],
) -> ConfigFlowResult | None:
    """Check the entered GService URL and `use` it (None: see `errors`)."""
    base_url = _check(errors, user_input, CONF_BASE_URL, protocol.normalize_base_url, "invalid_url")
    return None if errors else await use(base_url, errors)


def _versions(errors: dict[str, str], user_input: Mapping[str, Any]) -> dict[str, str]:
    """The versions of the Advanced section; a bad one is a form-level error (HA shows no
    errors on the fields of a section)."""
    advanced = user_input.get(SECTION_ADVANCED, {})
    field_errors: dict[str, str] = {}
    versions = {
        key: _check(field_errors, advanced, key, protocol.normalize_version, "invalid_version")
        for key in VERSION_KEYS
    }
    if field_errors:
        errors["base"] = "invalid_version"
    return versions


def _versions_schema() -> dict[Any, Any]:
    return {
        vol.Required(SECTION_ADVANCED): section(
            vol.Schema({vol.Required(key): _TEXT for key in VERSION_KEYS}), {"collapsed": True}
        )
    }


def _product_secret(errors: dict[str, str], user_input: Mapping[str, Any]) -> str | None:
    """The optional Product Secret: None when left empty."""
    if not str(user_input.get(CONF_PRODUCT_SECRET, "")).strip():
        return None
    return _check(
        errors,
        user_input,
        CONF_PRODUCT_SECRET,
        protocol.validate_product_secret,
        "invalid_product_secret",
    )


def _with_secret(data: Mapping[str, Any], secret: str | None) -> dict[str, Any]:
    """Entry data with the Product Secret set, or without the key when there is none."""
    updated = {k: v for k, v in data.items() if k != CONF_PRODUCT_SECRET}
    if secret is not None:
        updated[CONF_PRODUCT_SECRET] = secret
    return updated


async def async_prove_login(
    hass: HomeAssistant,
    base_url: str,
    did: str,
    passcode: str,
    product_key: str,
    *,
    product_secret: str | None = None,
) -> None:
    """Log in to M2M once and log out again (the library's connect); nothing keeps running.

    Raises M2MAuthenticationError when GService or the broker refuses the DID/passcode,
    M2MUnreachableError (M2MTimeoutError) when they cannot be reached, and TimeoutError when
    the whole attempt takes longer than CONNECT_TIMEOUT.
    """
    _, session = create_session(
        hass, base_url, did, passcode, product_key, product_secret=product_secret
    )
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT), session.connect():
            pass
    except protocol.M2MUnreachableError as err:
        if isinstance(err.__cause__, protocol.GServiceError):
            raise err.__cause__ from err  # provision failed: the form says why, like register
        raise


class GizwitsDeviceConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up HA as one Gizwits device endpoint."""

    VERSION = ENTRY_VERSION
    MINOR_VERSION = ENTRY_MINOR_VERSION

    def __init__(self) -> None:
        """Remember the generated passcode so the form shows the same one until it is used."""
        self._passcode = generate_passcode()
        # The user step as typed and validated, kept while the custom URL step asks for the URL.
        self._user_input: dict[str, Any] = {}
        self._identity: dict[str, str] = {}
        self._custom_url = ""
        # Reconfigure: the Product Secret to use from now on (None: none) and whether to
        # register again.
        self._new_secret: str | None = None
        self._register_again = False

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: GizwitsConfigEntry) -> GizwitsDeviceOptionsFlow:
        """The options flow."""
        return GizwitsDeviceOptionsFlow()

    def _gservice(
        self, base_url: str, product_key: str, product_secret: str | None
    ) -> GServiceClient:
        return create_gservice(
            self.hass, base_url, product_key, product_secret, timeout=GSERVICE_TIMEOUT
        )

    async def _default_mac(self) -> str:
        """Derived from the instance id and the entry count; skips MACs already in use."""
        instance = await instance_id.async_get(self.hass)
        entries = self._async_current_entries(include_ignore=False)
        used = {entry.data.get(CONF_MAC) for entry in entries}
        index = len(entries)
        while (mac := derive_mac(instance, index)) in used:
            index += 1
        return mac

    # -- user ----------------------------------------------------------------------------

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the region, product and device identity; Custom asks for the URL next."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._user_input = user_input
            product_key = _check(
                errors,
                user_input,
                CONF_PRODUCT_KEY,
                protocol.validate_product_key,
                "invalid_product_key",
            )
            mac = _check(errors, user_input, CONF_MAC, protocol.normalize_mac, "invalid_mac")
            passcode = _check(
                errors, user_input, CONF_PASSCODE, protocol.validate_passcode, "invalid_passcode"
            )
            secret = _product_secret(errors, user_input)
            versions = _versions(errors, user_input)
            if not errors:
                identity = {
                    CONF_PRODUCT_KEY: product_key,
                    CONF_MAC: mac,
                    CONF_PASSCODE: passcode,
                    **versions,
                }
                self._identity = _with_secret(identity, secret)
                region = user_input[CONF_REGION]
                if region == REGION_CUSTOM:
                    return self._custom_url_form({})
                if created := await self._async_register(protocol.REGIONS[region], errors):
                    return created
        return await self._user_form(errors)

    def _form(
        self,
        step_id: str,
        schema: vol.Schema,
        suggested: Mapping[str, Any],
        errors: dict[str, str],
        *,
        last_step: bool,
    ) -> ConfigFlowResult:
        """Show a step's form with `suggested` values filled in.

        `last_step` picks the button: *Next* (False) on a step that may lead to another one
        (region Custom asks for the URL next), *Submit* only on a final one.
        """
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            last_step=last_step,
        )

    async def _user_form(self, errors: dict[str, str]) -> ConfigFlowResult:
        suggested: dict[str, Any] = {
            CONF_REGION: "cn",
            CONF_MAC: await self._default_mac(),
            CONF_PASSCODE: self._passcode,
            SECTION_ADVANCED: VERSION_DEFAULTS,
            **self._user_input,
        }
        schema = vol.Schema(
            {
                vol.Required(CONF_REGION): _REGION,
                vol.Required(CONF_PRODUCT_KEY): _TEXT,
                vol.Optional(CONF_PRODUCT_SECRET): _PASSWORD,
                vol.Required(CONF_MAC): _TEXT,
                vol.Required(CONF_PASSCODE): _PASSWORD,
                **_versions_schema(),
            }
        )
        return self._form("user", schema, suggested, errors, last_step=False)

    async def async_step_custom_url(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The GService URL of a private deployment or the local emulator (region Custom)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            self._custom_url = user_input.get(CONF_BASE_URL, "")
            if created := await _async_with_url(user_input, errors, self._async_register):
                return created
            if errors.get("base") in IDENTITY_ERRORS:
                # Fixed in the first form (product key, MAC, passcode); the URL is kept.
                return await self._user_form(errors)
        return self._custom_url_form(errors)

    def _custom_url_form(self, errors: dict[str, str]) -> ConfigFlowResult:
        suggested = {CONF_BASE_URL: self._custom_url} if self._custom_url else {}
        return self._form("custom_url", _CUSTOM_URL_SCHEMA, suggested, errors, last_step=True)

    async def _async_register(
        self, base_url: str, errors: dict[str, str]
    ) -> ConfigFlowResult | None:
        """Register the device, prove the login and create the entry (None: see `errors`)."""
        identity = self._identity
        product_key, mac = identity[CONF_PRODUCT_KEY], identity[CONF_MAC]
        passcode, secret = identity[CONF_PASSCODE], identity.get(CONF_PRODUCT_SECRET)
        # An abandoned flow for the same device (a closed browser tab) must not block this one.
        await self.async_set_unique_id(f"{product_key}_{mac}", raise_on_progress=False)
        self._abort_if_unique_id_configured()
        with _form_errors(errors):
            gservice = self._gservice(base_url, product_key, secret)
            did = await gservice.register(product_key, mac, passcode)
            await async_prove_login(
                self.hass, base_url, did, passcode, product_key, product_secret=secret
            )
        if errors:
            return None
        # Another flow for this device may have finished while this one waited.
        self._abort_if_unique_id_configured()
        return self.async_create_entry(
            title=default_title(self._async_current_entries(include_ignore=False)),
            data={CONF_BASE_URL: base_url, **identity, CONF_DID: did},
        )

    # -- reauth --------------------------------------------------------------------------

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Gizwits refused the DID/passcode."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A new passcode, and the DID it belongs to or none to register the device again."""
        entry = self._get_reauth_entry()
        data = entry.data
        errors: dict[str, str] = {}
        if user_input is not None:
            passcode = _check(
                errors, user_input, CONF_PASSCODE, protocol.validate_passcode, "invalid_passcode"
            )
            did = ""
            if str(user_input.get(CONF_DID, "")).strip():
                did = _check(errors, user_input, CONF_DID, protocol.validate_did, "invalid_did")
            if not errors:
                # The Product Secret stays: register and log in the way the entry does.
                secret = data.get(CONF_PRODUCT_SECRET)
                base_url, product_key = data[CONF_BASE_URL], data[CONF_PRODUCT_KEY]
                with _form_errors(errors):
                    if not did:  # GService answers with the DID of product key + MAC
                        did = await self._gservice(base_url, product_key, secret).register(
                            product_key, data[CONF_MAC], passcode
                        )
                    await async_prove_login(
                        self.hass, base_url, did, passcode, product_key, product_secret=secret
                    )
                if not errors:
                    return self._async_update_and_reload(
                        entry, {**data, CONF_DID: did, CONF_PASSCODE: passcode}
                    )
        schema = vol.Schema({vol.Required(CONF_PASSCODE): _PASSWORD, vol.Optional(CONF_DID): _TEXT})
        return self.async_show_form(
            step_id="reauth_confirm",
            last_step=True,
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or {CONF_PASSCODE: self._passcode}
            ),
            description_placeholders={"title": entry.title, "mac": data[CONF_MAC]},
            errors=errors,
        )

    # -- reconfigure ---------------------------------------------------------------------

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change region, Product Secret and versions (Custom asks for the URL next).

        Passcode and MAC stay; so does the DID unless the user asks to register again.
        """
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            self._identity = _versions(errors, user_input)
            secret = _product_secret(errors, user_input)
            if user_input.get(CONF_REMOVE_PRODUCT_SECRET):
                if secret is not None:
                    errors["base"] = "secret_conflict"
                self._new_secret = None
            else:  # empty keeps the current one
                self._new_secret = secret or entry.data.get(CONF_PRODUCT_SECRET)
            self._register_again = bool(user_input.get(CONF_REGISTER_AGAIN))
            if not errors:
                region = user_input[CONF_REGION]
                if region == REGION_CUSTOM:
                    return await self.async_step_reconfigure_url()
                if done := await self._async_move(protocol.REGIONS[region], errors):
                    return done
        return self._reconfigure_form(errors, user_input)

    def _reconfigure_form(
        self, errors: dict[str, str], user_input: Mapping[str, Any] | None
    ) -> ConfigFlowResult:
        entry = self._get_reconfigure_entry()
        # The current secret is never sent to the form: it is shown only with the credentials.
        suggested: dict[str, Any] = {
            CONF_REGION: region_of(entry.data[CONF_BASE_URL]),
            SECTION_ADVANCED: {key: entry.data[key] for key in VERSION_KEYS},
            **{k: v for k, v in (user_input or {}).items() if k != CONF_PRODUCT_SECRET},
        }
        schema = vol.Schema(
            {
                vol.Required(CONF_REGION): _REGION,
                vol.Optional(CONF_PRODUCT_SECRET): _PASSWORD,
                vol.Optional(CONF_REMOVE_PRODUCT_SECRET, default=False): _BOOLEAN,
                vol.Optional(CONF_REGISTER_AGAIN, default=False): _BOOLEAN,
                **_versions_schema(),
            }
        )
        return self._form("reconfigure", schema, suggested, errors, last_step=False)

    async def async_step_reconfigure_url(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The custom GService URL (the current one suggested when it is custom)."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if done := await _async_with_url(user_input, errors, self._async_move):
                return done
            if errors.get("base") in IDENTITY_ERRORS:
                # A wrong secret (or DID) is fixed in the first form, as in the user step.
                return self._reconfigure_form(errors, None)
        current = self._get_reconfigure_entry().data[CONF_BASE_URL]
        suggested = user_input or (
            {CONF_BASE_URL: current} if region_of(current) == REGION_CUSTOM else {}
        )
        return self._form("reconfigure_url", _CUSTOM_URL_SCHEMA, suggested, errors, last_step=True)

    async def _async_move(self, base_url: str, errors: dict[str, str]) -> ConfigFlowResult | None:
        """Save URL, secret and versions once GService provisions the DID with them (None: see
        `errors`); with "register again" first register product key + MAC for the DID."""
        entry = self._get_reconfigure_entry()
        data = entry.data
        did = data[CONF_DID]
        with _form_errors(errors):
            gservice = self._gservice(base_url, data[CONF_PRODUCT_KEY], self._new_secret)
            if self._register_again:
                did = await gservice.register(
                    data[CONF_PRODUCT_KEY], data[CONF_MAC], data[CONF_PASSCODE]
                )
            # The DID must be known where we point it, with this secret, else the device is lost.
            await gservice.provision(did)
        if errors:
            return None
        updated = {**data, CONF_BASE_URL: base_url, **self._identity, CONF_DID: did}
        return self._async_update_and_reload(entry, _with_secret(updated, self._new_secret))

    def _async_update_and_reload(
        self, entry: ConfigEntry, data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Save the entry's new data and abort; the entry restarts with it.

        A loaded entry's update listener sees the changed session data and schedules the reload
        (Home Assistant wants an integration with an update listener to reload there, not from
        the flow); an entry that is not loaded has no listener, and the listener keeps the
        session for a change of the soft versions only.
        """
        changed = session_data(data) != session_data(entry.data)
        result = self.async_update_and_abort(entry, data=data)
        if not changed or entry.state is not ConfigEntryState.LOADED:
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return result
