"""The emulated GService: Gizwits' device HTTP API (protocol.md §7) plus an operator JSON API.

Device endpoints answer the way GAgent expects (gizwits/Gizwits-GAgent, gokit GAgent `http.c`):
form-urlencoded request bodies, `key=value&...` success bodies, 201 for register, 200 otherwise.
Refusals are HTTP 400 with Gizwits' JSON error body
`{"error_message": "...", "error_code": 9xxx, "detail_message": null}` (the shape the Gizwits
API returns, e.g. `{"error_message": "token invalid!", "error_code": 9004, ...}`).

Downloads carry `Firmware-MD5` (32 hex), `Firmware-Version`, `Content-Length` and a
`Content-Disposition` filename, the headers GAgent's `Http_GetMD5` / `Http_GetFV` /
`Http_BodyLen` / `Http_GetFileType` read.

Operator routes live under `/emulator/`. Other modules add theirs with `app.router.add_*`
before the app starts; `app[GSERVICE_STATE]` is the shared `CloudState`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from .gservice_safe import safe_provision, safe_register
from .operator_http import Handler, OperatorError, json_errors, json_object
from .state import (
    ERROR_DEVICE_NOT_FOUND,
    ERROR_FIRMWARE_NOT_FOUND,
    ERROR_FORM_INVALID,
    ERROR_OTA_ALREADY_UPGRADED,
    ERROR_OTA_NO_PUSH_RULE,
    ERROR_PRODUCT_KEY_INVALID,
    CloudError,
    CloudState,
    Fault,
    FirmwareOffer,
)
from .wire import form_body

GSERVICE_STATE = web.AppKey("gservice_state", CloudState)
_HANG_RELEASE = web.AppKey("gservice_hang_release", asyncio.Event)

_MAC_RE = re.compile(r"[0-9A-Fa-f]{12}")
_VERSION_RE = re.compile(r"[0-9A-Za-z._\-]{8}")
_GARBAGE = b"\xff\xfe<html>\x00 not a form \xc3\x28"
_DOWNLOAD_CHUNK = 16 * 1024


def _form_response(
    pairs: dict[str, str], status: int = 200, *, download_url: str | None = None
) -> web.Response:
    raw_last = None if download_url is None else ("download_url", download_url)
    text = form_body(pairs, raw_last=raw_last)
    return web.Response(status=status, text=text, content_type="text/plain")


def _error_response(err: CloudError) -> web.Response:
    body = {"error_message": err.message, "error_code": err.error_code, "detail_message": None}
    return web.json_response(body, status=err.status)


async def _read_form(request: web.Request) -> dict[str, str]:
    """Decode a form-urlencoded body; the first occurrence of a key wins."""
    try:
        text = (await request.read()).decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text))
    except (UnicodeDecodeError, ValueError) as err:
        raise CloudError(ERROR_FORM_INVALID, "form invalid!") from err
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value)
    return form


def _field(form: dict[str, str], key: str, pattern: re.Pattern[str] | None = None) -> str:
    value = form.get(key, "")
    if not value or (pattern is not None and not pattern.fullmatch(value)):
        raise CloudError(ERROR_FORM_INVALID, "form invalid!", status=400)
    return value


def _firmware_type(form: dict[str, str]) -> int:
    value = _field(form, "type")
    if value not in ("1", "2"):
        raise CloudError(ERROR_FORM_INVALID, "form invalid!")
    return int(value)


def _download_url(request: web.Request, path: str) -> str:
    return f"{request.url.origin()}{path}"


async def _hang(request: web.Request) -> web.Response:
    """Never answer (until the app shuts down)."""
    await request.app[_HANG_RELEASE].wait()
    return web.Response(status=503)


async def _apply_fault(request: web.Request, fault: Fault) -> web.StreamResponse:
    if fault.kind == "garbage":
        return web.Response(status=200, body=_GARBAGE, content_type="text/plain")
    if fault.kind in ("hang", "stall"):
        return await _hang(request)
    return web.Response(
        status=fault.status, body=b"Internal Server Error", content_type="text/plain"
    )


def _device_endpoint(endpoint: str, handler: Handler) -> Handler:
    """Wrap a device handler: faults first, CloudError → Gizwits error body."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        fault = request.app[GSERVICE_STATE].take_fault(endpoint)
        if fault is not None:
            return await _apply_fault(request, fault)
        try:
            return await handler(request)
        except CloudError as err:
            return _error_response(err)

    return wrapped


# Device API -------------------------------------------------------------------------------


async def _register(request: web.Request) -> web.StreamResponse:
    form = await _read_form(request)
    passcode = _field(form, "passcode")
    mac = _field(form, "mac", _MAC_RE)
    product_key = _field(form, "product_key")
    device = request.app[GSERVICE_STATE].register(product_key, mac, passcode)
    return _form_response({"did": device.did}, status=201)


async def _disable(request: web.Request) -> web.StreamResponse:
    form = await _read_form(request)
    request.app[GSERVICE_STATE].disable(_field(form, "did"), _field(form, "passcode"))
    return _form_response({})


async def _provision(request: web.Request) -> web.StreamResponse:
    state = request.app[GSERVICE_STATE]
    state.record_call("provision", state.lookup(request.match_info["did"]), "plain")
    pairs = {"host": state.m2m_host, "port": str(state.m2m_port)}
    pairs["server_ts"] = str(state.server_ts())
    pairs.update(state.m2m_extra)
    return _form_response(pairs)


async def _safe_register(request: web.Request) -> web.StreamResponse:
    return await safe_register(request.app[GSERVICE_STATE], request)


async def _safe_provision(request: web.Request) -> web.StreamResponse:
    return await safe_provision(request.app[GSERVICE_STATE], request)


async def _target_fid(request: web.Request) -> web.StreamResponse:
    """OTA v4.0: GET /dev/ota/target_fid?did&product_key&type&hard_version&soft_version&..."""
    state = request.app[GSERVICE_STATE]
    query = {key: request.query.getone(key) for key in request.query}
    device = state.lookup(_field(query, "did"))
    product_key = _field(query, "product_key").lower()
    if product_key not in state.products:
        raise CloudError(ERROR_PRODUCT_KEY_INVALID, "product_key invalid!")
    if product_key != device.product_key:
        raise CloudError(ERROR_DEVICE_NOT_FOUND, "device not found!")
    firmware_type = _firmware_type(query)
    hard = _field(query, "hard_version", _VERSION_RE)
    soft = _field(query, "soft_version", _VERSION_RE)
    current = _field(query, "current_fid")
    if not current.isdigit():
        raise CloudError(ERROR_FORM_INVALID, "form invalid!")
    device.versions[firmware_type] = (hard, soft)
    device.current_fid[firmware_type] = int(current)
    offer = state.offer_for(device, firmware_type)
    if offer is None:
        raise CloudError(ERROR_FIRMWARE_NOT_FOUND, "firmware not found!")
    return _form_response(
        {
            "target_fid": str(offer.target_fid),
            "download_url": _download_url(request, f"/dev/ota/download/{offer.target_fid}"),
            "firmware_version": offer.soft_version,
        }
    )


async def _update_and_check(request: web.Request) -> web.StreamResponse:
    """OTA v4.1: POST /dev/ota/v4.1/update_and_check/<did> passcode&type&hard&soft."""
    state = request.app[GSERVICE_STATE]
    form = await _read_form(request)
    device = state.authenticate(request.match_info["did"], _field(form, "passcode"))
    firmware_type = _firmware_type(form)
    hard = _field(form, "hard_version", _VERSION_RE)
    soft = _field(form, "soft_version", _VERSION_RE)
    device.versions[firmware_type] = (hard, soft)
    offer = state.offer_for(device, firmware_type)
    # Answer texts are the ones the Linux GAgent's check_ota() looks for.
    if offer is None:
        raise CloudError(ERROR_OTA_NO_PUSH_RULE, "Don't have a push rule id on device")
    if offer.soft_version.upper() <= soft.upper():
        raise CloudError(
            ERROR_OTA_ALREADY_UPGRADED, "push rule not in effect or device already upgrade"
        )
    url = _download_url(request, f"/dev/ota/v4.1/download/{offer.target_fid}")
    # GAgent takes download_url raw up to the end of the line: sent last, not form-encoded.
    return _form_response({"soft_ver": offer.soft_version}, download_url=url)


async def _download(request: web.Request) -> web.StreamResponse:
    state = request.app[GSERVICE_STATE]
    fault = state.take_fault("firmware")
    fid_text = request.match_info["fid"]
    offer = state.offer_by_fid(int(fid_text)) if fid_text.isdigit() else None
    if fault is not None and fault.kind in ("status", "hang"):
        return await _apply_fault(request, fault)
    if offer is None:
        return _error_response(
            CloudError(ERROR_FIRMWARE_NOT_FOUND, "firmware not found!", status=404)
        )
    data = offer.data
    if fault is not None and fault.kind == "garbage":
        # Same length, same MD5 header, different bytes: a corrupted transfer.
        data = bytes([data[0] ^ 0xFF]) + data[1:] if data else b"\x00"
    response = web.StreamResponse(
        status=200,
        headers={
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f'attachment; filename="firmware_{offer.target_fid}.bin"',
            "Firmware-MD5": offer.md5,
            "Firmware-Version": offer.soft_version,
        },
    )
    response.content_length = len(data)
    await response.prepare(request)
    if fault is not None and fault.kind == "stall":
        await response.write(data[: len(data) // 2])
        await _hang(request)
    else:
        for start in range(0, len(data), _DOWNLOAD_CHUNK):
            await response.write(data[start : start + _DOWNLOAD_CHUNK])
        await response.write_eof()
    return response


# Operator API -----------------------------------------------------------------------------


async def _op_list_devices(request: web.Request) -> web.StreamResponse:
    devices = [
        {
            "did": d.did,
            "passcode": d.passcode,
            "product_key": d.product_key,
            "mac": d.mac,
            "enabled": d.enabled,
            "versions": {str(t): list(v) for t, v in d.versions.items()},
            "current_fid": {str(t): f for t, f in d.current_fid.items()},
            "apis": dict(d.apis),
        }
        for d in request.app[GSERVICE_STATE].devices.values()
    ]
    return web.json_response(devices)


async def _op_add_product(request: web.Request) -> web.StreamResponse:
    body = await json_object(request)
    product_key = str(body["product_key"])
    secret = body.get("product_secret")
    state = request.app[GSERVICE_STATE]
    try:
        state.add_product(
            product_key, str(body.get("name", "")), None if secret is None else str(secret)
        )
    except ValueError as err:
        raise OperatorError(str(err)) from err
    return web.json_response(
        {"product_key": product_key.lower(), "product_secret": state.product_secret(product_key)},
        status=201,
    )


def _offer_data(body: dict[str, Any]) -> bytes:
    if "data_base64" in body:
        try:
            return base64.b64decode(str(body["data_base64"]), validate=True)
        except binascii.Error as err:
            raise OperatorError("data_base64 is not base64") from err
    return str(body.get("data", "")).encode("utf-8")


async def _op_set_offer(request: web.Request) -> web.StreamResponse:
    body = await json_object(request)
    offer = FirmwareOffer(
        firmware_type=int(body["firmware_type"]),
        soft_version=str(body["soft_version"]),
        data=_offer_data(body),
        target_fid=int(body.get("target_fid", 0)),
        hard_version=body.get("hard_version"),
    )
    stored = request.app[GSERVICE_STATE].set_offer(
        offer, product_key=body.get("product_key"), did=body.get("did")
    )
    return web.json_response(
        {
            "target_fid": stored.target_fid,
            "md5": stored.md5,
            "download_url": _download_url(request, f"/firmware/{stored.target_fid}"),
        },
        status=201,
    )


async def _op_clear_offers(request: web.Request) -> web.StreamResponse:
    request.app[GSERVICE_STATE].clear_offers()
    return web.Response(status=204)


async def _op_inject_fault(request: web.Request) -> web.StreamResponse:
    body = await json_object(request)
    request.app[GSERVICE_STATE].inject_fault(
        str(body["endpoint"]),
        body["kind"],
        count=int(body.get("count", 1)),
        status=int(body.get("status", 500)),
    )
    return web.json_response({"ok": True}, status=201)


async def _op_clear_faults(request: web.Request) -> web.StreamResponse:
    request.app[GSERVICE_STATE].clear_faults()
    return web.Response(status=204)


async def _op_set_m2m(request: web.Request) -> web.StreamResponse:
    body = await json_object(request)
    state = request.app[GSERVICE_STATE]
    state.m2m_host = str(body.get("host", state.m2m_host))
    state.m2m_port = int(body.get("port", state.m2m_port))
    if "extra" in body:
        state.m2m_extra = {str(k): str(v) for k, v in dict(body["extra"]).items()}
    return web.json_response(
        {"host": state.m2m_host, "port": state.m2m_port, "extra": state.m2m_extra}
    )


# App --------------------------------------------------------------------------------------


def create_gservice_app(state: CloudState) -> web.Application:
    """The emulated GService (device API + `/emulator/` operator API) over `state`."""
    app = web.Application()
    app[GSERVICE_STATE] = state
    release = asyncio.Event()
    app[_HANG_RELEASE] = release

    async def release_hangs(_app: web.Application) -> None:
        # Runs before the server waits for in-flight handlers, so hung ones end at once.
        release.set()

    app.on_shutdown.append(release_hangs)

    device = _device_endpoint
    app.router.add_post("/dev/devices", device("register", _register))
    app.router.add_delete("/dev/devices", device("disable", _disable))
    app.router.add_get("/dev/devices/{did}", device("provision", _provision))
    app.router.add_get("/dev/ota/target_fid", device("ota_target_fid", _target_fid))
    app.router.add_post(
        "/dev/ota/v4.1/update_and_check/{did}",
        device("ota_update_and_check", _update_and_check),
    )
    # The safe calls (protocol.md §9) share the plain ones' fault queues.
    app.router.add_post(
        "/dev/{product_key}/device",
        device("register", _safe_register),
    )
    app.router.add_get(
        "/dev/{product_key}/device",
        device("provision", _safe_provision),
    )
    for path in ("/dev/ota/download/{fid}", "/dev/ota/v4.1/download/{fid}", "/firmware/{fid}"):
        app.router.add_get(path, _download)

    app.router.add_get("/emulator/devices", json_errors(_op_list_devices))
    app.router.add_post("/emulator/products", json_errors(_op_add_product))
    app.router.add_post("/emulator/offers", json_errors(_op_set_offer))
    app.router.add_delete("/emulator/offers", json_errors(_op_clear_offers))
    app.router.add_post("/emulator/faults", json_errors(_op_inject_fault))
    app.router.add_delete("/emulator/faults", json_errors(_op_clear_faults))
    app.router.add_put("/emulator/m2m", json_errors(_op_set_m2m))
    return app


__all__ = ["GSERVICE_STATE", "create_gservice_app"]
