"""The emulated GService's "safe" device calls: register and provision with the Product Secret
(protocol.md §9), as RT-Thread's GAgent package (`gagent_httpc.c`) and an STM32 port
(`cloud.c`) use them.

The emulator's own implementation: AES-128-ECB keyed with the product's secret through
`cryptography`, PKCS#7 padding only when the plaintext is not whole blocks. A request that
does not decrypt under the product's secret (the device holds another one) is answered the
only way a server can: with an encrypted reply, which the device in turn cannot decrypt.
"""

from __future__ import annotations

import logging
import re
import secrets
from urllib.parse import parse_qsl

from aiohttp import web
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .state import ERROR_DEVICE_NOT_FOUND, ERROR_FORM_INVALID, CloudError, CloudState
from .wire import form_body

_LOGGER = logging.getLogger(__name__)
_BLOCK = 16
_MAC_RE = re.compile(r"[0-9a-f]{12}")
_DID_RE = re.compile(r"[0-9A-Za-z]{22}")


def _cipher(secret: str) -> Cipher[modes.ECB]:
    return Cipher(algorithms.AES(bytes.fromhex(secret)), modes.ECB())  # noqa: S305


def seal(secret: str, text: str) -> str:
    """Hex of AES-ECB(text), padded as the firmware pads (only when not whole blocks)."""
    data = text.encode()
    if len(data) % _BLOCK:
        padder = padding.PKCS7(_BLOCK * 8).padder()
        data = padder.update(data) + padder.finalize()
    encryptor = _cipher(secret).encryptor()
    return (encryptor.update(data) + encryptor.finalize()).hex()


def unseal(secret: str, hex_text: str) -> str | None:
    """The plaintext of a hex AES-ECB body, or None when it is not one under `secret`."""
    try:
        data = bytes.fromhex(hex_text)
    except ValueError:
        return None
    if not data or len(data) % _BLOCK:
        return None
    decryptor = _cipher(secret).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(_BLOCK * 8).unpadder()
    try:
        plain = unpadder.update(plain) + unpadder.finalize()
    except ValueError:
        plain = plain.rstrip(b"\x00")
    try:
        return plain.decode("ascii")
    except UnicodeDecodeError:
        return None


def _form(text: str | None) -> dict[str, str] | None:
    if text is None:
        return None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


def _sealed(secret: str, text: str, status: int = 200) -> web.Response:
    return web.Response(status=status, text=seal(secret, text), content_type="text/plain")


def _wrong_secret(what: str, product_key: str, status: int) -> web.Response:
    """Random blocks: what a device with another secret makes of any encrypted reply."""
    _LOGGER.info("safe %s for product %s did not decrypt: wrong product secret", what, product_key)
    return web.Response(
        status=status, text=secrets.token_hex(2 * _BLOCK), content_type="text/plain"
    )


async def safe_register(state: CloudState, request: web.Request) -> web.StreamResponse:
    """POST /dev/<product_key>/device `data=<hex AES(mac=&passcode=&type=normal)>`."""
    product_key = request.match_info["product_key"].lower()
    secret = state.product_secret(product_key)
    body = _form((await request.read()).decode("utf-8", "replace"))
    if body is None or not body.get("data"):
        raise CloudError(ERROR_FORM_INVALID, "form invalid!")
    fields = _form(unseal(secret, body["data"]))
    mac = (fields or {}).get("mac", "")
    passcode = (fields or {}).get("passcode", "")
    if fields is None or not _MAC_RE.fullmatch(mac) or not passcode.isalnum():
        return _wrong_secret("register", product_key, 201)
    device = state.register(product_key, mac, passcode, api="safe")
    return _sealed(secret, f"did={device.did}", status=201)


async def safe_provision(state: CloudState, request: web.Request) -> web.StreamResponse:
    """GET /dev/<product_key>/device?did=<hex AES(DID)>."""
    product_key = request.match_info["product_key"].lower()
    secret = state.product_secret(product_key)
    did = unseal(secret, request.query.get("did", ""))
    if did is None or not _DID_RE.fullmatch(did):
        return _wrong_secret("provision", product_key, 200)
    device = state.lookup(did)
    if device.product_key != product_key:
        raise CloudError(ERROR_DEVICE_NOT_FOUND, "device not found!")
    state.record_call("provision", device, "safe")
    pairs = {
        "host": state.m2m_host,
        "port": str(state.m2m_port),
        "server_ts": str(state.server_ts()),
        "log_host": state.m2m_host,
        "log_port": "514",
        "biz_log": "0",
        "sys_log": "0",
        **state.m2m_extra,
    }
    return _sealed(secret, form_body(pairs))


__all__ = ["safe_provision", "safe_register", "seal", "unseal"]
