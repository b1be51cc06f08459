"""GService wire formats: hosts, error codes, errors, argument checks and answer parsing.

The client that uses them is gservice.py (protocol.md §1, §2, §7). Formats follow Gizwits' own
device firmware (GAgent, gizwits/Gizwits-GAgent and the gokit GAgent `http.c`): request bodies
are `application/x-www-form-urlencoded`, successful answers are `key=value&...` bodies, and
Gizwits' API reports failures as a JSON body
`{"error_code": 9xxx, "error_message": "...", "detail_message": null}` (Gizwits Open API error
table, e.g. the GizWifiSDK `GizWifiErrorCode` enum: 9002 product key invalid, 9014 device not
found, 9015 form invalid, 9016 did/passcode invalid, 9023 device disabled, 9027 firmware not
found).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import json
import re
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from .errors import GizwitsError, GizwitsValueError

# Public GService hosts. GAgent talks plain HTTP on port 80 (seed §3.2); the EU and US
# clusters are separate (a DID registered in one region is unknown in the others).
REGIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "cn": "http://api.gizwits.com",
        "eu": "http://euapi.gizwits.com",
        "us": "http://usapi.gizwits.com",
    }
)

# Gizwits API error codes (GizWifiErrorCode GIZ_OPENAPI_*).
ERROR_PRODUCT_KEY_INVALID: Final = 9002
ERROR_SERVER_ERROR: Final = 9008
ERROR_DEVICE_NOT_FOUND: Final = 9014
ERROR_FORM_INVALID: Final = 9015
ERROR_DID_PASSCODE_INVALID: Final = 9016
ERROR_DEVICE_DISABLED: Final = 9023
ERROR_FIRMWARE_NOT_FOUND: Final = 9027
# Linux GAgent's check_ota() maps these two v4.1 answers to "no update".
ERROR_OTA_NO_PUSH_RULE: Final = 9500
ERROR_OTA_ALREADY_UPGRADED: Final = 9502

_CREDENTIAL_ERRORS: Final = frozenset(
    {ERROR_DEVICE_NOT_FOUND, ERROR_DID_PASSCODE_INVALID, ERROR_DEVICE_DISABLED}
)

FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
MAX_RESPONSE_BYTES: Final = 64 * 1024
VERSION_LENGTH: Final = 8

_MAC_RE: Final = re.compile(r"[0-9A-Fa-f]{12}")
_MAC_SEPARATORS: Final = re.compile(r"[:\-.\s]")
_DID_RE: Final = re.compile(r"[0-9A-Za-z]{22}")
_PASSCODE_RE: Final = re.compile(r"[0-9A-Za-z]{1,32}")
_HEX32_RE: Final = re.compile(r"[0-9A-Fa-f]{32}")
_VERSION_RE: Final = re.compile(r"[0-9A-Za-z._\-]{1,8}")
# `download_url=` at the start of the answer or after `&`, then everything to the line end.
_DOWNLOAD_URL_RE: Final = re.compile(r"(?:^|(?<=&))download_url=([^\r\n]*)", re.MULTILINE)


class GServiceError(GizwitsError):
    """Any GService failure. `status` / `error_code` are set when the server answered."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: int | None = None,
        error_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.error_message = error_message


class GServiceCannotConnect(GServiceError):
    """The server could not be reached (DNS, refused, reset)."""


class GServiceTimeout(GServiceCannotConnect):
    """The server did not answer in time."""


class GServiceInvalidCredentials(GServiceError):
    """The DID is unknown or disabled, or the passcode was rejected."""


class GServiceUnknownProduct(GServiceError):
    """The product key is not known to this GService."""


class GServiceRejected(GServiceError):
    """Any other 4xx answer (e.g. 9015 form invalid)."""


class GServiceServerError(GServiceError):
    """5xx answer (or Gizwits error 9008): transient, retry later."""


class GServiceMalformedResponse(GServiceError):
    """The answer could not be decoded or lacks required keys."""


class GServiceSecretMismatch(GServiceMalformedResponse):
    """A safe-API reply did not decrypt to what it must carry: the Product Secret is not this
    product's (protocol.md §9)."""


@dataclass(frozen=True, slots=True)
class M2MEndpoint:
    """Where to connect for MQTT, from provision. Never cache across connects (§2.3)."""

    host: str
    port: int
    server_ts: int | None = None
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if not self.host or any(c.isspace() for c in self.host):
            raise GizwitsValueError(f"invalid M2M host {self.host!r}")
        if not 1 <= self.port <= 65535:
            raise GizwitsValueError(f"invalid M2M port {self.port}")


@dataclass(frozen=True, slots=True)
class TargetFirmware:
    """OTA v4.0 answer: the firmware id the device should run and where to get it."""

    target_fid: int
    download_url: str
    firmware_version: str | None = None

    @property
    def version(self) -> str:
        """What an update entity shows for it: a v4.0 target names no soft version."""
        return f"fid {self.target_fid}"


@dataclass(frozen=True, slots=True)
class FirmwareUpdate:
    """OTA v4.1 answer: a newer soft version and where to get it."""

    soft_version: str
    download_url: str

    @property
    def version(self) -> str:
        """The offered soft version."""
        return self.soft_version


def normalize_base_url(url: str) -> str:
    """Return `url` as `scheme://host[:port][/path]` without a trailing slash."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a bad port
    except ValueError as err:
        raise GizwitsValueError(f"invalid URL {url!r}: {err}") from err
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise GizwitsValueError(f"URL must start with http:// or https://, got {url!r}")
    host = parts.hostname
    if not host:
        raise GizwitsValueError(f"URL has no host: {url!r}")
    if parts.username is not None or parts.password is not None:
        raise GizwitsValueError("URL must not contain credentials")
    if parts.query or parts.fragment:
        raise GizwitsValueError("URL must not contain a query or fragment")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def normalize_mac(mac: str) -> str:
    """Return the MAC as GAgent sends it: 12 upper-case hex digits, no separators."""
    compact = _MAC_SEPARATORS.sub("", mac)
    if not _MAC_RE.fullmatch(compact):
        raise GizwitsValueError(f"invalid MAC address {mac!r}")
    return compact.upper()


def validate_did(did: str) -> str:
    """Check a DID: 22 ASCII letters/digits (GAgent's DID buffer holds 22 characters)."""
    if not _DID_RE.fullmatch(did):
        raise GizwitsValueError(f"invalid DID {did!r}")
    return did


def validate_passcode(passcode: str) -> str:
    """Check a device passcode: 1-32 ASCII letters/digits (GAgent generates 10)."""
    if not _PASSCODE_RE.fullmatch(passcode):
        raise GizwitsValueError("invalid passcode (1-32 letters or digits)")
    return passcode


def hex32(value: str, error: str) -> str:
    """`value` lower-cased when it is 32 hex digits (a product key, secret, App ID); else
    GizwitsValueError(`error`)."""
    if not _HEX32_RE.fullmatch(value):
        raise GizwitsValueError(error)
    return value.lower()


def validate_product_key(product_key: str) -> str:
    """Check a product key (32 hex digits) and return it lower-case."""
    return hex32(product_key, f"invalid product key {product_key!r}")


def normalize_version(version: str) -> str:
    """Return an 8-character version: GAgent versions are 8 chars (e.g. `04020021`,
    `00ESP826`), so shorter ones are left-padded with `0`; longer ones are refused."""
    if not _VERSION_RE.fullmatch(version):
        raise GizwitsValueError(f"invalid version {version!r} (1-8 of [0-9A-Za-z._-])")
    return version.rjust(VERSION_LENGTH, "0")


def validate_firmware_type(firmware_type: int) -> int:
    if firmware_type not in (1, 2):
        raise GizwitsValueError(f"firmware type must be 1 (WiFi) or 2 (MCU), got {firmware_type}")
    return int(firmware_type)


def parse_form(text: str) -> dict[str, str]:
    """Decode a `key=value&...` answer; the first occurrence of a key wins."""
    try:
        pairs = parse_qsl(text.strip(), keep_blank_values=True, strict_parsing=True)
    except ValueError as err:
        raise GServiceMalformedResponse(f"undecodable answer: {text[:80]!r}") from err
    result: dict[str, str] = {}
    for key, value in pairs:
        result.setdefault(key, value)
    return result


def split_download_url(text: str) -> tuple[str, str | None]:
    """Take `download_url` out of an OTA v4.1 answer as GAgent does (protocol.md §7).

    GAgent copies the raw text after `download_url=` up to the end of the line, without
    form-decoding, so a URL with its own `?a=1&b=2` query survives intact. Returns the rest
    of the answer (for the other keys) and the URL, or None without a `download_url=` key.
    """
    match = _DOWNLOAD_URL_RE.search(text)
    if match is None:
        return text, None
    rest = text[: match.start()].rstrip("&") + text[match.end() :]
    return rest, match.group(1).strip()


def _json_object(text: str) -> dict[str, Any] | None:
    """The body as a JSON object (None when it is not one)."""
    try:
        body = json.loads(text)
    except ValueError, RecursionError:  # RecursionError: a deeply nested hostile body
        return None
    return body if isinstance(body, dict) else None


def error_code(text: str) -> int | None:
    """Gizwits' `error_code` from an error body: JSON (the Open API's form) or `key=value`."""
    body = _json_object(text)
    if body is not None:
        code = body.get("error_code")
    else:
        try:
            code = dict(parse_qsl(text.strip(), strict_parsing=True)).get("error_code")
        except ValueError:
            return None
    if isinstance(code, str) and code.isascii() and code.isdigit():
        return int(code)
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    return None


def error_message(text: str) -> str | None:
    """Gizwits' `error_message` from a JSON error body (at most 200 characters), if any."""
    body = _json_object(text)
    message = None if body is None else body.get("error_message")
    return message[:200] if isinstance(message, str) and message else None


def is_credential_error(code: int | None) -> bool:
    """The Gizwits code says the DID is unknown or disabled, or the passcode is wrong."""
    return code in _CREDENTIAL_ERRORS


def require(form: Mapping[str, str], key: str, status: int) -> str:
    value = form.get(key)
    if not value:
        raise GServiceMalformedResponse(f"answer lacks {key!r}", status=status)
    return value


def parse_int(value: str, what: str, status: int) -> int:
    if not value.isascii() or not value.isdigit():
        raise GServiceMalformedResponse(f"{what} is not a number: {value[:40]!r}", status=status)
    return int(value)
