"""GService HTTP client: register, disable, provision and OTA checks (protocol.md §1, §2, §7).

Wire formats follow Gizwits' own device firmware (GAgent, gizwits/Gizwits-GAgent and the
gokit GAgent `http.c`): request bodies are `application/x-www-form-urlencoded`, successful
answers are `key=value&...` bodies, and Gizwits' API reports failures as a JSON body
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
from typing import Final
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import aiohttp

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
_PRODUCT_KEY_RE: Final = re.compile(r"[0-9A-Fa-f]{32}")
_VERSION_RE: Final = re.compile(r"[0-9A-Za-z._\-]{1,8}")
# `download_url=` at the start of the answer or after `&`, then everything to the line end.
_DOWNLOAD_URL_RE: Final = re.compile(r"(?:^|(?<=&))download_url=([^\r\n]*)", re.MULTILINE)


class GServiceError(GizwitsError):
    """Any GService failure. `status` / `error_code` are set when the server answered."""

    def __init__(
        self, message: str, *, status: int | None = None, error_code: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code


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


@dataclass(frozen=True, slots=True)
class FirmwareUpdate:
    """OTA v4.1 answer: a newer soft version and where to get it."""

    soft_version: str
    download_url: str


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


def validate_product_key(product_key: str) -> str:
    """Check a product key (32 hex digits) and return it lower-case."""
    if not _PRODUCT_KEY_RE.fullmatch(product_key):
        raise GizwitsValueError(f"invalid product key {product_key!r}")
    return product_key.lower()


def normalize_version(version: str) -> str:
    """Return an 8-character version: GAgent versions are 8 chars (e.g. `04020021`,
    `00ESP826`), so shorter ones are left-padded with `0`; longer ones are refused."""
    if not _VERSION_RE.fullmatch(version):
        raise GizwitsValueError(f"invalid version {version!r} (1-8 of [0-9A-Za-z._-])")
    return version.rjust(VERSION_LENGTH, "0")


def _validate_firmware_type(firmware_type: int) -> int:
    if firmware_type not in (1, 2):
        raise GizwitsValueError(f"firmware type must be 1 (WiFi) or 2 (MCU), got {firmware_type}")
    return int(firmware_type)


def _parse_form(text: str) -> dict[str, str]:
    """Decode a `key=value&...` answer; the first occurrence of a key wins."""
    try:
        pairs = parse_qsl(text.strip(), keep_blank_values=True, strict_parsing=True)
    except ValueError as err:
        raise GServiceMalformedResponse(f"undecodable answer: {text[:80]!r}") from err
    result: dict[str, str] = {}
    for key, value in pairs:
        result.setdefault(key, value)
    return result


def _split_download_url(text: str) -> tuple[str, str | None]:
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


def _error_code(text: str) -> int | None:
    """Gizwits' `error_code` from an error body: JSON (the Open API's form) or `key=value`."""
    try:
        body = json.loads(text)
    except ValueError, RecursionError:  # RecursionError: a deeply nested hostile body
        body = None
    if isinstance(body, dict):
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


def _require(form: Mapping[str, str], key: str, status: int) -> str:
    value = form.get(key)
    if not value:
        raise GServiceMalformedResponse(f"answer lacks {key!r}", status=status)
    return value


def _parse_int(value: str, what: str, status: int) -> int:
    if not value.isascii() or not value.isdigit():
        raise GServiceMalformedResponse(f"{what} is not a number: {value[:40]!r}", status=status)
    return int(value)


class GServiceClient:
    """Device-side GService client. One instance per base URL; the session is borrowed."""

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, *, timeout: float = 10.0
    ) -> None:
        self._session = session
        self._base_url = normalize_base_url(base_url)
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    @property
    def base_url(self) -> str:
        """The normalized base URL."""
        return self._base_url

    async def _request(
        self,
        method: str,
        path: str,
        *,
        form: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[int, str]:
        """Send one request; return (status, body text). Network failures become typed."""
        headers = {"Content-Type": FORM_CONTENT_TYPE} if form is not None else None
        try:
            async with self._session.request(
                method,
                self._base_url + path,
                data=dict(form) if form is not None else None,
                params=dict(params) if params is not None else None,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            ) as resp:
                raw = await resp.content.read(MAX_RESPONSE_BYTES + 1)
                status = resp.status
        except TimeoutError as err:
            raise GServiceTimeout(f"{method} {path}: timed out") from err
        except aiohttp.ClientError as err:
            raise GServiceCannotConnect(f"{method} {path}: {err}") from err
        if len(raw) > MAX_RESPONSE_BYTES:
            raise GServiceMalformedResponse(f"{method} {path}: answer too large", status=status)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise GServiceMalformedResponse(
                f"{method} {path}: answer is not UTF-8", status=status
            ) from err
        return status, text

    @staticmethod
    def _raise_for(status: int, text: str, what: str) -> None:
        """Classify a non-success answer and raise the matching error.

        Only a Gizwits error code that names the DID or passcode means "refused" (protocol.md
        §7); a bare 401/403/404 (a proxy, a wrong base URL) says nothing about the device and
        counts as unreachable, like a 5xx: the caller keeps retrying.
        """
        code = _error_code(text)
        detail = f"{what}: HTTP {status}" + (f", error_code {code}" if code is not None else "")
        if status >= 500 or code == ERROR_SERVER_ERROR:
            raise GServiceServerError(detail, status=status, error_code=code)
        if code == ERROR_PRODUCT_KEY_INVALID:
            raise GServiceUnknownProduct(detail, status=status, error_code=code)
        if code in _CREDENTIAL_ERRORS:
            raise GServiceInvalidCredentials(detail, status=status, error_code=code)
        if code is None and status in (401, 403, 404):
            raise GServiceCannotConnect(f"{detail} (not a Gizwits answer)", status=status)
        raise GServiceRejected(detail, status=status, error_code=code)

    async def register(self, product_key: str, mac: str, passcode: str) -> str:
        """Register the device; return its DID (`POST /dev/devices` → 201 `did=...`)."""
        form = {
            "passcode": validate_passcode(passcode),
            "mac": normalize_mac(mac),
            "product_key": validate_product_key(product_key),
        }
        status, text = await self._request("POST", "/dev/devices", form=form)
        # GAgent accepts only 201 here; 200 is tolerated as success as well.
        if status not in (200, 201):
            self._raise_for(status, text, "register")
        did = _require(_parse_form(text), "did", status)
        try:
            return validate_did(did)
        except ValueError as err:
            raise GServiceMalformedResponse(str(err), status=status) from err

    async def disable(self, did: str, passcode: str) -> None:
        """Disable (deregister) the DID (`DELETE /dev/devices` with `did=&passcode=`).

        An already disabled DID (9023) counts as done: the goal state is reached.
        """
        form = {"did": validate_did(did), "passcode": validate_passcode(passcode)}
        status, text = await self._request("DELETE", "/dev/devices", form=form)
        if 200 <= status < 300:
            return
        if _error_code(text) == ERROR_DEVICE_DISABLED and status < 500:
            return
        self._raise_for(status, text, "disable")

    async def provision(self, did: str) -> M2MEndpoint:
        """Ask where the M2M broker is (`GET /dev/devices/<did>` → `host=&port=&server_ts=`)."""
        validate_did(did)
        status, text = await self._request("GET", f"/dev/devices/{did}")
        if status != 200:
            self._raise_for(status, text, "provision")
        form = _parse_form(text)
        host = _require(form, "host", status)
        port = _parse_int(_require(form, "port", status), "port", status)
        ts_text = form.get("server_ts")
        server_ts = _parse_int(ts_text, "server_ts", status) if ts_text else None
        extra = {k: v for k, v in form.items() if k not in ("host", "port", "server_ts")}
        try:
            return M2MEndpoint(host, port, server_ts, MappingProxyType(extra))
        except ValueError as err:
            raise GServiceMalformedResponse(str(err), status=status) from err

    def _resolve_url(self, url: str, status: int) -> str:
        """Make a download URL absolute (relative ones are against the base URL)."""
        try:
            absolute = urljoin(self._base_url + "/", url)
            parts = urlsplit(absolute)
            host = parts.hostname
        except ValueError as err:  # e.g. an unclosed IPv6 bracket
            raise GServiceMalformedResponse(
                f"bad download URL {url[:80]!r}", status=status
            ) from err
        if parts.scheme not in ("http", "https") or not host:
            raise GServiceMalformedResponse(f"bad download URL {url[:80]!r}", status=status)
        return absolute

    async def ota_target_fid(
        self,
        *,
        did: str,
        product_key: str,
        firmware_type: int,
        hard_version: str,
        soft_version: str,
        current_fid: int,
    ) -> TargetFirmware | None:
        """OTA v4.0: `GET /dev/ota/target_fid?...`. None when there is nothing newer
        (no firmware, 9027, or the target fid equals the `current_fid` sent)."""
        if current_fid < 0:
            raise GizwitsValueError("current_fid must be >= 0")
        params = {
            "did": validate_did(did),
            "product_key": validate_product_key(product_key),
            "type": str(_validate_firmware_type(firmware_type)),
            "hard_version": normalize_version(hard_version),
            "soft_version": normalize_version(soft_version),
            # The fid last installed through v4.0, 0 when none (protocol.md §7, as GAgent).
            "current_fid": str(current_fid),
        }
        status, text = await self._request("GET", "/dev/ota/target_fid", params=params)
        if status != 200:
            if status < 500 and _error_code(text) == ERROR_FIRMWARE_NOT_FOUND:
                return None
            self._raise_for(status, text, "ota target_fid")
        form = _parse_form(text)
        target_fid = _parse_int(_require(form, "target_fid", status), "target_fid", status)
        url = self._resolve_url(_require(form, "download_url", status), status)
        if target_fid == current_fid:
            return None
        return TargetFirmware(target_fid, url, form.get("firmware_version") or None)

    async def ota_update_and_check(
        self,
        *,
        did: str,
        passcode: str,
        firmware_type: int,
        hard_version: str,
        soft_version: str,
    ) -> FirmwareUpdate | None:
        """OTA v4.1: `POST /dev/ota/v4.1/update_and_check/<did>`.

        200 `soft_ver=&download_url=` is an offer; any other status means "no update"
        (protocol.md §7), except 5xx which raises `GServiceServerError` so callers can tell a
        broken server from "nothing to do". An offer that is not newer is dropped.
        """
        current = normalize_version(soft_version)
        form = {
            "passcode": validate_passcode(passcode),
            "type": str(_validate_firmware_type(firmware_type)),
            "hard_version": normalize_version(hard_version),
            "soft_version": current,
        }
        validate_did(did)
        status, text = await self._request(
            "POST", f"/dev/ota/v4.1/update_and_check/{did}", form=form
        )
        if status >= 500:
            self._raise_for(status, text, "ota update_and_check")
        if status != 200:
            return None
        rest, raw_url = _split_download_url(text)
        answer = _parse_form(rest) if rest.strip() else {}
        offered = _require(answer, "soft_ver", status)
        if not raw_url:
            raise GServiceMalformedResponse("answer lacks 'download_url'", status=status)
        url = self._resolve_url(raw_url, status)
        try:
            offered = normalize_version(offered)
        except ValueError as err:
            raise GServiceMalformedResponse(str(err), status=status) from err
        # Same-length versions compare as strings (hex digits; upper-case sorts after digits).
        if offered.upper() <= current.upper():
            return None
        return FirmwareUpdate(offered, url)


__all__ = [
    "REGIONS",
    "FirmwareUpdate",
    "GServiceCannotConnect",
    "GServiceClient",
    "GServiceError",
    "GServiceInvalidCredentials",
    "GServiceMalformedResponse",
    "GServiceRejected",
    "GServiceServerError",
    "GServiceTimeout",
    "GServiceUnknownProduct",
    "M2MEndpoint",
    "TargetFirmware",
    "normalize_base_url",
    "normalize_mac",
    "normalize_version",
    "validate_did",
    "validate_passcode",
    "validate_product_key",
]
