"""The emulated GService over raw HTTP: wire formats (protocol.md §7), state, listeners, faults,
and the `/emulator/` operator API."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
import hashlib
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from emulator.gservice import GSERVICE_STATE, create_gservice_app
from emulator.state import (
    DID_ALPHABET,
    CloudState,
    DeviceEvent,
    FirmwareOffer,
    default_product_secret,
)
from tests.gservice_servers import MAC_WIRE, PASSCODE, PRODUCT_KEY, new_state, serve

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Api:
    """Raw HTTP against one running emulator."""

    def __init__(self, http: aiohttp.ClientSession, url: str, state: CloudState) -> None:
        self.http = http
        self.url = url
        self.state = state

    async def call(
        self, method: str, path: str, body: str | None = None, **kwargs: Any
    ) -> tuple[int, str, aiohttp.typedefs.LooseHeaders]:
        headers = FORM if body is not None else None
        async with self.http.request(
            method, self.url + path, data=body, headers=headers, **kwargs
        ) as resp:
            return resp.status, (await resp.read()).decode(errors="replace"), resp.headers

    async def register(self, mac: str = MAC_WIRE, passcode: str = PASSCODE) -> str:
        status, text, _ = await self.call(
            "POST", "/dev/devices", f"passcode={passcode}&mac={mac}&product_key={PRODUCT_KEY}"
        )
        assert status == 201, text
        assert text.startswith("did=")
        return text.removeprefix("did=")


@pytest.fixture
async def api(socket_enabled: None) -> AsyncIterator[Api]:
    state = new_state()
    async with aiohttp.ClientSession() as http, serve(create_gservice_app(state)) as url:
        yield Api(http, url, state)


async def gizwits_error(api: Api, method: str, path: str, body: str | None = None) -> int:
    """Call and check Gizwits' JSON error body shape; return its error_code."""
    async with api.http.request(
        method, api.url + path, data=body, headers=FORM if body is not None else None
    ) as resp:
        assert resp.status == 400
        payload = await resp.json()
    assert set(payload) == {"error_message", "error_code", "detail_message"}
    assert payload["detail_message"] is None
    code: int = payload["error_code"]
    return code


# Device API formats --------------------------------------------------------------------------


async def test_register_answers_201_did(api: Api) -> None:
    did = await api.register()
    assert len(did) == 22
    assert set(did) <= set(DID_ALPHABET)
    assert api.state.devices[did].mac == MAC_WIRE


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (f"passcode={PASSCODE}&mac={MAC_WIRE}", 9015),
        (f"passcode={PASSCODE}&mac=nothex&product_key={PRODUCT_KEY}", 9015),
        (f"mac={MAC_WIRE}&product_key={PRODUCT_KEY}", 9015),
        ("passcode=%ZZ&&&", 9015),
        (f"passcode={PASSCODE}&mac={MAC_WIRE}&product_key={'f' * 32}", 9002),
    ],
)
async def test_register_refusals(api: Api, body: str, code: int) -> None:
    assert await gizwits_error(api, "POST", "/dev/devices", body) == code


async def test_register_rejects_non_utf8(api: Api) -> None:
    async with api.http.post(api.url + "/dev/devices", data=b"\xff\xfe", headers=FORM) as resp:
        assert resp.status == 400
        assert (await resp.json())["error_code"] == 9015


async def test_provision_format(api: Api) -> None:
    did = await api.register()
    api.state.m2m_extra = {"port_s": "8883"}
    status, text, _ = await api.call("GET", f"/dev/devices/{did}")
    assert status == 200
    keys = [pair.split("=")[0] for pair in text.split("&")]
    assert keys == ["host", "port", "server_ts", "port_s"]
    assert text.startswith("host=127.0.0.1&port=1883&server_ts=")
    assert await gizwits_error(api, "GET", "/dev/devices/GdzuSRncfDPGHGo2LxwgM2") == 9014


async def test_disable_format(api: Api) -> None:
    did = await api.register()
    body = f"did={did}&passcode=WRONG"
    assert await gizwits_error(api, "DELETE", "/dev/devices", body) == 9016
    body = f"did=GdzuSRncfDPGHGo2LxwgM2&passcode={PASSCODE}"
    assert await gizwits_error(api, "DELETE", "/dev/devices", body) == 9014
    status, _, _ = await api.call("DELETE", "/dev/devices", f"did={did}&passcode={PASSCODE}")
    assert status == 200
    assert not api.state.devices[did].enabled
    body = f"did={did}&passcode={PASSCODE}"
    assert await gizwits_error(api, "DELETE", "/dev/devices", body) == 9023
    assert await gizwits_error(api, "GET", f"/dev/devices/{did}") == 9023


def v40_query(did: str, /, **overrides: str) -> str:
    query = {
        "did": did,
        "product_key": PRODUCT_KEY,
        "type": "1",
        "hard_version": "00ESP826",
        "soft_version": "04020020",
        "current_fid": "1",
    } | overrides
    return "/dev/ota/target_fid?" + "&".join(f"{k}={v}" for k, v in query.items())


async def test_ota_v40(api: Api) -> None:
    did = await api.register()
    assert await gizwits_error(api, "GET", v40_query(did)) == 9027
    offer = api.state.set_offer(FirmwareOffer(1, "04020021", b"fw"), product_key=PRODUCT_KEY)
    status, text, _ = await api.call("GET", v40_query(did))
    assert status == 200
    assert text == (
        f"target_fid={offer.target_fid}"
        f"&download_url={api.url}/dev/ota/download/{offer.target_fid}"
        "&firmware_version=04020021"
    )
    assert api.state.devices[did].versions[1] == ("00ESP826", "04020020")


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"product_key": "f" * 32}, 9002),
        ({"type": "3"}, 9015),
        ({"hard_version": "short"}, 9015),
        ({"current_fid": "x"}, 9015),
        ({"did": "GdzuSRncfDPGHGo2LxwgM2"}, 9014),
    ],
)
async def test_ota_v40_refusals(api: Api, overrides: dict[str, str], code: int) -> None:
    did = await api.register()
    assert await gizwits_error(api, "GET", v40_query(did, **overrides)) == code


async def test_ota_v40_product_mismatch(api: Api) -> None:
    other = "fedcba9876543210fedcba9876543210"
    api.state.add_product(other.upper(), "other")
    did = await api.register()
    assert await gizwits_error(api, "GET", v40_query(did, product_key=other)) == 9014


async def test_ota_v41(api: Api) -> None:
    did = await api.register()
    path = f"/dev/ota/v4.1/update_and_check/{did}"
    body = f"passcode={PASSCODE}&type=2&hard_version=00000001&soft_version=00000003"
    # The two "no update" answers the Linux GAgent's check_ota() recognises.
    async with api.http.post(api.url + path, data=body, headers=FORM) as resp:
        payload = await resp.json()
    assert payload["error_code"] == 9500
    assert payload["error_message"] == "Don't have a push rule id on device"
    offer = api.state.set_offer(FirmwareOffer(2, "00000003", b"x"), product_key=PRODUCT_KEY)
    assert await gizwits_error(api, "POST", path, body) == 9502
    newer = api.state.set_offer(FirmwareOffer(2, "00000004", b"y"), product_key=PRODUCT_KEY)
    assert newer.target_fid != offer.target_fid
    status, text, _ = await api.call("POST", path, body)
    assert status == 200
    assert text == (
        f"soft_ver=00000004&download_url={api.url}/dev/ota/v4.1/download/{newer.target_fid}"
    )
    assert await gizwits_error(api, "POST", path, body.replace("type=2", "type=9")) == 9015
    assert await gizwits_error(api, "POST", path, body.replace(PASSCODE, "NOPE")) == 9016


async def test_did_and_hardware_specific_offers(api: Api) -> None:
    did = await api.register()
    other = await api.register(mac="0A0B0C0D0E0F")
    state = api.state
    state.set_offer(FirmwareOffer(1, "00000002", b"pk"), product_key=PRODUCT_KEY)
    mine = state.set_offer(FirmwareOffer(1, "00000009", b"did", target_fid=77), did=did)
    picky = state.set_offer(
        FirmwareOffer(2, "00000009", b"hw", hard_version="0000HW02"), product_key=PRODUCT_KEY
    )
    device, other_device = state.devices[did], state.devices[other]
    assert state.offer_for(device, 1) == mine
    assert mine.target_fid == 77
    offer = state.offer_for(other_device, 1)
    assert offer is not None
    assert offer.data == b"pk"
    assert state.offer_for(device, 2) is None  # no hardware version reported yet
    device.versions[2] = ("0000HW01", "00000001")
    assert state.offer_for(device, 2) is None
    device.versions[2] = ("0000HW02", "00000001")
    assert state.offer_for(device, 2) == picky
    with pytest.raises(ValueError, match="exactly one"):
        state.set_offer(mine, did=did, product_key=PRODUCT_KEY)
    with pytest.raises(ValueError, match="exactly one"):
        state.set_offer(mine)
    with pytest.raises(ValueError, match="firmware_type"):
        FirmwareOffer(3, "1", b"")
    state.clear_offers()
    assert state.offer_for(device, 1) is None


@pytest.mark.parametrize("prefix", ["/dev/ota/download/", "/dev/ota/v4.1/download/", "/firmware/"])
async def test_download_headers(api: Api, prefix: str) -> None:
    data = b"\x01\x02firmware" * 5000
    offer = api.state.set_offer(FirmwareOffer(1, "04020021", data), product_key=PRODUCT_KEY)
    async with api.http.get(f"{api.url}{prefix}{offer.target_fid}") as resp:
        body = await resp.read()
        headers = resp.headers
    assert body == data
    assert headers["Firmware-MD5"] == hashlib.md5(data).hexdigest() == offer.md5
    assert headers["Content-Length"] == str(len(data))
    assert headers["Firmware-Version"] == "04020021"
    assert f'filename="firmware_{offer.target_fid}.bin"' in headers["Content-Disposition"]
    status, _, _ = await api.call("GET", f"{prefix}424242")
    assert status == 404
    status, _, _ = await api.call("GET", f"{prefix}abc")
    assert status == 404


async def test_download_of_empty_offer_when_corrupted(api: Api) -> None:
    offer = api.state.set_offer(FirmwareOffer(1, "1", b""), product_key=PRODUCT_KEY)
    api.state.inject_fault("firmware", "garbage")
    async with api.http.get(f"{api.url}/firmware/{offer.target_fid}") as resp:
        assert await resp.read() == b"\x00"


# Listeners ------------------------------------------------------------------------------------


async def test_listeners_hear_register_and_disable(api: Api) -> None:
    events: list[DeviceEvent] = []

    def broken(_event: DeviceEvent) -> None:
        raise RuntimeError("listener bug")

    api.state.add_listener(broken)  # logged, never breaks the request
    remove = api.state.add_listener(events.append)
    did = await api.register()
    await api.register(passcode="SECOND1234")
    await api.call("DELETE", "/dev/devices", f"did={did}&passcode=SECOND1234")
    remove()
    remove()  # idempotent
    await api.register()
    assert [(e.kind, e.did, e.passcode) for e in events] == [
        ("registered", did, PASSCODE),
        ("registered", did, "SECOND1234"),
        ("disabled", did, "SECOND1234"),
    ]
    assert {(e.product_key, e.mac) for e in events} == {(PRODUCT_KEY, MAC_WIRE)}


# Faults ---------------------------------------------------------------------------------------


async def test_fault_counts_and_kinds(api: Api) -> None:
    did = await api.register()
    api.state.inject_fault("provision", "status", count=2, status=418)
    api.state.inject_fault("provision", "garbage")
    statuses = [(await api.call("GET", f"/dev/devices/{did}"))[0] for _ in range(4)]
    assert statuses == [418, 418, 200, 200]
    api.state.inject_fault("register", "status")
    api.state.clear_faults()
    await api.register()
    with pytest.raises(ValueError, match="endpoint"):
        api.state.inject_fault("nope", "hang")
    with pytest.raises(ValueError, match="kind"):
        api.state.inject_fault("register", "explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="count"):
        api.state.inject_fault("register", "hang", count=0)


async def test_hang_is_released_on_shutdown(socket_enabled: None) -> None:
    state = new_state()
    state.inject_fault("provision", "hang")
    state.inject_fault("firmware", "hang")
    async with aiohttp.ClientSession() as http, serve(create_gservice_app(state)) as url:
        timeout = aiohttp.ClientTimeout(total=0.2)
        for path in ("/dev/devices/x", "/firmware/1"):
            with pytest.raises(TimeoutError):
                await http.get(url + path, timeout=timeout)
    # Leaving `serve` did not wait for the hung handlers (no 60 s shutdown timeout).


# Operator API ---------------------------------------------------------------------------------


async def op(api: Api, method: str, path: str, json: Any = None) -> tuple[int, Any]:
    async with api.http.request(method, f"{api.url}/emulator/{path}", json=json) as resp:
        payload = await resp.json() if resp.status != 204 else None
        return resp.status, payload


async def test_operator_api(api: Api) -> None:
    other = "fedcba9876543210fedcba9876543210"
    assert await op(api, "POST", "products", {"product_key": other.upper(), "name": "Lamp"}) == (
        201,
        {"product_key": other, "product_secret": default_product_secret(other)},
    )
    assert api.state.products[other] == "Lamp"
    did = await api.register()
    status, devices = await op(api, "GET", "devices")
    assert status == 200
    assert devices[0]["did"] == did
    assert devices[0]["enabled"] is True

    data = b"\x00\xffbinary"
    status, stored = await op(
        api,
        "POST",
        "offers",
        {
            "firmware_type": 2,
            "soft_version": "00000002",
            "data_base64": base64.b64encode(data).decode(),
            "did": did,
        },
    )
    assert status == 201
    assert stored["md5"] == hashlib.md5(data).hexdigest()
    async with api.http.get(stored["download_url"]) as resp:
        assert await resp.read() == data
    status, text_offer = await op(
        api,
        "POST",
        "offers",
        {"firmware_type": 1, "soft_version": "1", "data": "text", "product_key": PRODUCT_KEY},
    )
    assert status == 201
    offer = api.state.offer_by_fid(text_offer["target_fid"])
    assert offer is not None
    assert offer.data == b"text"
    assert await op(api, "DELETE", "offers") == (204, None)
    assert api.state.offer_by_fid(text_offer["target_fid"]) is None

    assert (await op(api, "POST", "faults", {"endpoint": "provision", "kind": "status"}))[0] == 201
    assert (await api.call("GET", f"/dev/devices/{did}"))[0] == 500
    await op(api, "POST", "faults", {"endpoint": "provision", "kind": "status", "count": 3})
    assert await op(api, "DELETE", "faults") == (204, None)
    assert (await api.call("GET", f"/dev/devices/{did}"))[0] == 200

    status, m2m = await op(api, "PUT", "m2m", {"port": 8883, "extra": {"port_s": 8883}})
    assert (status, m2m) == (200, {"host": "127.0.0.1", "port": 8883, "extra": {"port_s": "8883"}})
    assert (await op(api, "PUT", "m2m", {"host": "m2m.local"}))[1]["host"] == "m2m.local"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("products", {}),
        ("products", [1, 2]),
        ("offers", {"firmware_type": 1, "soft_version": "1", "data_base64": "!!", "did": "x"}),
        ("offers", {"firmware_type": 1, "soft_version": "1"}),
        ("faults", {"endpoint": "nope", "kind": "hang"}),
    ],
)
async def test_operator_api_refuses_bad_input(api: Api, path: str, body: Any) -> None:
    status, payload = await op(api, "POST", path, body)
    assert status == 400
    assert "error" in payload


async def test_operator_api_refuses_non_json(api: Api) -> None:
    async with api.http.post(f"{api.url}/emulator/products", data=b"not json") as resp:
        assert resp.status == 400


async def test_router_is_extensible(socket_enabled: None) -> None:
    """Other emulator parts add routes (e.g. MQTT admin) before the app starts."""
    state = CloudState()
    app = create_gservice_app(state)

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"products": len(request.app[GSERVICE_STATE].products)})

    app.router.add_get("/emulator/mqtt/hello", hello)
    async with (
        aiohttp.ClientSession() as http,
        serve(app) as url,
        http.get(url + "/emulator/mqtt/hello") as resp,
    ):
        assert await resp.json() == {"products": 0}
