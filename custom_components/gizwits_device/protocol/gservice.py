"""GService HTTP client: register, disable, provision and OTA checks (protocol.md §1, §2, §7).

Requests and answers are GAgent's (gservice_wire.py has the formats, errors and checks);
this module sends them and classifies the answers. A client given the product's Product
Secret registers and provisions through the "safe" calls instead (protocol.md §9): same
transport, timeouts and error classification, encrypted bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import urljoin, urlsplit

import aiohttp

from . import gservice_wire as wire
from .errors import GizwitsValueError
from .gservice_wire import (
    ERROR_DEVICE_DISABLED,
    ERROR_FIRMWARE_NOT_FOUND,
    ERROR_PRODUCT_KEY_INVALID,
    ERROR_SERVER_ERROR,
    FORM_CONTENT_TYPE,
    MAX_RESPONSE_BYTES,
    FirmwareUpdate,
    M2MEndpoint,
    TargetFirmware,
    error_code,
    error_message,
    is_credential_error,
    normalize_base_url,
    normalize_mac,
    normalize_version,
    parse_form,
    parse_int,
    require,
    split_download_url,
    validate_did,
    validate_firmware_type,
    validate_passcode,
    validate_product_key,
)
from .http_body import read_capped
from .product_secret import ProductCipher, ProductSecretMismatch

__all__ = ["GServiceClient"]


class GServiceClient:
    """Device-side GService client. One instance per base URL; the session is borrowed.

    With `product_secret` (and the `product_key` it belongs to) register and provision use the
    safe calls of protocol.md §9; everything else is unchanged.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        timeout: float = 10.0,
        product_key: str | None = None,
        product_secret: str | None = None,
    ) -> None:
        self._session = session
        self._base_url = normalize_base_url(base_url)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._safe: tuple[str, ProductCipher] | None = None
        if product_secret is not None:
            if product_key is None:
                raise GizwitsValueError("a product secret needs the product key it belongs to")
            self._safe = (validate_product_key(product_key), ProductCipher(product_secret))

    @property
    def uses_product_secret(self) -> bool:
        """Whether register and provision go through the safe calls (protocol.md §9)."""
        return self._safe is not None

    def _cipher_for(self, product_key: str) -> ProductCipher | None:
        """The cipher when the safe calls apply; a secret is only good for its own product."""
        if self._safe is None:
            return None
        safe_key, cipher = self._safe
        if product_key != safe_key:
            raise GizwitsValueError("the product secret belongs to another product key")
        return cipher

    @staticmethod
    def _reply_form(
        cipher: ProductCipher | None, text: str, status: int, key: str
    ) -> dict[str, str]:
        """The form of a success answer; a safe answer is decrypted and must hold `key`.

        A safe answer that does not decrypt to a form with `key` means the secret is wrong; the
        error never quotes the plaintext (it holds the DID or the broker's address).
        """
        if cipher is None:
            return parse_form(text)
        try:
            form = parse_form(cipher.decrypt_hex(text))
        except (ProductSecretMismatch, wire.GServiceMalformedResponse) as err:
            raise wire.GServiceSecretMismatch(
                f"answer does not decrypt with the product secret ({err.__class__.__name__})",
                status=status,
            ) from None
        if not form.get(key):
            raise wire.GServiceSecretMismatch(
                f"answer does not decrypt to {key!r} with the product secret", status=status
            )
        return form

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
                status = resp.status
                raw = await read_capped(resp, MAX_RESPONSE_BYTES)
        except TimeoutError as err:
            raise wire.GServiceTimeout(f"{method} {path}: timed out") from err
        except aiohttp.ClientError as err:
            raise wire.GServiceCannotConnect(f"{method} {path}: {err}") from err
        if len(raw) > MAX_RESPONSE_BYTES:
            raise wire.GServiceMalformedResponse(
                f"{method} {path}: answer too large", status=status
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise wire.GServiceMalformedResponse(
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
        code = error_code(text)
        message = error_message(text) if code is not None else None
        detail = f"{what}: HTTP {status}" + (f", error_code {code}" if code is not None else "")
        if message:
            detail += f" ({message})"
        error: type[wire.GServiceError] = wire.GServiceRejected
        if status >= 500 or code == ERROR_SERVER_ERROR:
            error = wire.GServiceServerError
        elif code == ERROR_PRODUCT_KEY_INVALID:
            error = wire.GServiceUnknownProduct
        elif is_credential_error(code):
            error = wire.GServiceInvalidCredentials
        elif code is None and status in (401, 403, 404):
            raise wire.GServiceCannotConnect(f"{detail} (not a Gizwits answer)", status=status)
        raise error(detail, status=status, error_code=code, error_message=message)

    async def register(self, product_key: str, mac: str, passcode: str) -> str:
        """Register the device; return its DID.

        Plain: `POST /dev/devices` `passcode=&mac=&product_key=` → 201 `did=...`. Safe:
        `POST /dev/<product_key>/device` `data=<hex AES(mac=&passcode=&type=normal)>` → the hex
        of `AES(did=...)` (protocol.md §9).
        """
        passcode = validate_passcode(passcode)
        mac = normalize_mac(mac)
        product_key = validate_product_key(product_key)
        cipher = self._cipher_for(product_key)
        if cipher is None:
            form = {"passcode": passcode, "mac": mac, "product_key": product_key}
            status, text = await self._request("POST", "/dev/devices", form=form)
        else:
            plain = f"mac={mac.lower()}&passcode={passcode}&type=normal"
            form = {"data": cipher.encrypt_hex(plain)}
            status, text = await self._request("POST", f"/dev/{product_key}/device", form=form)
        # GAgent accepts only 201 here; 200 is tolerated as success as well.
        if status not in (200, 201):
            self._raise_for(status, text, "register")
        did = require(self._reply_form(cipher, text, status, "did"), "did", status)
        try:
            return validate_did(did)
        except ValueError as err:
            if cipher is not None:  # 22 characters of garbage: decrypted with the wrong key
                raise wire.GServiceSecretMismatch(
                    "answer does not decrypt to a DID with the product secret", status=status
                ) from None
            raise wire.GServiceMalformedResponse(str(err), status=status) from err

    async def disable(self, did: str, passcode: str) -> None:
        """Disable (deregister) the DID (`DELETE /dev/devices` with `did=&passcode=`).

        An already disabled DID (9023) counts as done: the goal state is reached.
        """
        form = {"did": validate_did(did), "passcode": validate_passcode(passcode)}
        status, text = await self._request("DELETE", "/dev/devices", form=form)
        if 200 <= status < 300:
            return
        if error_code(text) == ERROR_DEVICE_DISABLED and status < 500:
            return
        self._raise_for(status, text, "disable")

    async def provision(self, did: str) -> M2MEndpoint:
        """Ask where the M2M broker is: `host=&port=&server_ts=` (more keys are ignored).

        Plain: `GET /dev/devices/<did>`. Safe: `GET /dev/<product_key>/device?did=<hex AES(DID)>`,
        the answer encrypted the same way (protocol.md §9).
        """
        validate_did(did)
        if self._safe is None:
            cipher = None
            status, text = await self._request("GET", f"/dev/devices/{did}")
        else:
            product_key, cipher = self._safe
            params = {"did": cipher.encrypt_hex(did)}
            status, text = await self._request("GET", f"/dev/{product_key}/device", params=params)
        if status != 200:
            self._raise_for(status, text, "provision")
        form = self._reply_form(cipher, text, status, "host")
        host = require(form, "host", status)
        port = parse_int(require(form, "port", status), "port", status)
        ts_text = form.get("server_ts")
        server_ts = parse_int(ts_text, "server_ts", status) if ts_text else None
        extra = {k: v for k, v in form.items() if k not in ("host", "port", "server_ts")}
        try:
            return M2MEndpoint(host, port, server_ts, MappingProxyType(extra))
        except ValueError as err:
            raise wire.GServiceMalformedResponse(str(err), status=status) from err

    def _resolve_url(self, url: str, status: int) -> str:
        """Make a download URL absolute (relative ones are against the base URL)."""
        try:
            absolute = urljoin(self._base_url + "/", url)
            parts = urlsplit(absolute)
            host = parts.hostname
        except ValueError as err:  # e.g. an unclosed IPv6 bracket
            raise wire.GServiceMalformedResponse(
                f"bad download URL {url[:80]!r}", status=status
            ) from err
        if parts.scheme not in ("http", "https") or not host:
            raise wire.GServiceMalformedResponse(f"bad download URL {url[:80]!r}", status=status)
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
            "type": str(validate_firmware_type(firmware_type)),
            "hard_version": normalize_version(hard_version),
            "soft_version": normalize_version(soft_version),
            # The fid last installed through v4.0, 0 when none (protocol.md §7, as GAgent).
            "current_fid": str(current_fid),
        }
        status, text = await self._request("GET", "/dev/ota/target_fid", params=params)
        if status != 200:
            if status < 500 and error_code(text) == ERROR_FIRMWARE_NOT_FOUND:
                return None
            self._raise_for(status, text, "ota target_fid")
        form = parse_form(text)
        target_fid = parse_int(require(form, "target_fid", status), "target_fid", status)
        url = self._resolve_url(require(form, "download_url", status), status)
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
        (protocol.md §7), except 5xx which raises `wire.GServiceServerError` so callers can tell a
        broken server from "nothing to do". An offer that is not newer is dropped.
        """
        current = normalize_version(soft_version)
        form = {
            "passcode": validate_passcode(passcode),
            "type": str(validate_firmware_type(firmware_type)),
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
        rest, raw_url = split_download_url(text)
        answer = parse_form(rest) if rest.strip() else {}
        offered = require(answer, "soft_ver", status)
        if not raw_url:
            raise wire.GServiceMalformedResponse("answer lacks 'download_url'", status=status)
        url = self._resolve_url(raw_url, status)
        try:
            offered = normalize_version(offered)
        except ValueError as err:
            raise wire.GServiceMalformedResponse(str(err), status=status) from err
        # Same-length versions compare as strings (hex digits; upper-case sorts after digits).
        if offered.upper() <= current.upper():
            return None
        return FirmwareUpdate(offered, url)
