"""GServiceClient against the real emulator on loopback (protocol.md §1, §2, §7).

Formats checked here come from GAgent (gizwits/Gizwits-GAgent, gokit GAgent `http.c`): register
`POST /dev/devices` → 201 `did=`, provision `GET /dev/devices/<did>` → `host=&port=&server_ts=`,
disable `DELETE /dev/devices`, OTA v4.0 `GET /dev/ota/target_fid`, OTA v4.1
`POST /dev/ota/v4.1/update_and_check/<did>`; error codes are Gizwits' GIZ_OPENAPI_* values.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import re

import aiohttp
from aiohttp import web
import pytest

from custom_components.gizwits_device.protocol.gservice import GServiceClient
from custom_components.gizwits_device.protocol.gservice_wire import (
    REGIONS,
    FirmwareUpdate,
    GServiceCannotConnect,
    GServiceError,
    GServiceInvalidCredentials,
    GServiceMalformedResponse,
    GServiceRejected,
    GServiceServerError,
    GServiceTimeout,
    GServiceUnknownProduct,
    M2MEndpoint,
    TargetFirmware,
    normalize_base_url,
    normalize_mac,
    normalize_version,
    validate_did,
)
from emulator.state import DID_ALPHABET, CloudState, FirmwareOffer
from tests.gservice_servers import (
    MAC,
    MAC_WIRE,
    OTHER_PRODUCT_KEY,
    PASSCODE,
    PRODUCT_KEY,
    Handler,
    closed_port,
    new_state,
    scripted_app,
    serve,
    serve_emulator,
)

DID = "GdzuSRncfDPGHGo2LxwgM2"  # shape of a real DID from a public GAgent sample


@pytest.fixture
def state() -> CloudState:
    return new_state()


@pytest.fixture
async def client(http: aiohttp.ClientSession, state: CloudState) -> AsyncIterator[GServiceClient]:
    async with serve_emulator(state) as url:
        yield GServiceClient(http, url, timeout=5)


@contextlib.asynccontextmanager
async def scripted(http: aiohttp.ClientSession, handler: Handler) -> AsyncIterator[GServiceClient]:
    async with serve(scripted_app(handler)) as url:
        yield GServiceClient(http, url, timeout=5)


def answer(body: str | bytes, status: int = 200) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        data = body.encode() if isinstance(body, str) else body
        return web.Response(status=status, body=data)

    return handler


# Pure helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://api.gizwits.com", "http://api.gizwits.com"),
        (" HTTP://API.Gizwits.com/ ", "http://api.gizwits.com"),
        ("https://127.0.0.1:8443/base/", "https://127.0.0.1:8443/base"),
        ("http://[::1]:80", "http://[::1]:80"),
    ],
)
def test_normalize_base_url_accepts(raw: str, expected: str) -> None:
    assert normalize_base_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "api.gizwits.com",
        "ftp://api.gizwits.com",
        "http://",
        "http://user:pw@host",
        "http://host/?q=1",
        "http://host/#frag",
        "http://host:99999",
        "http://host:port",
    ],
)
def test_normalize_base_url_rejects(raw: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message varies per reason
        normalize_base_url(raw)


def test_regions_are_normalized_gizwits_hosts() -> None:
    # protocol.md §7: api (China), euapi, usapi.
    assert REGIONS["cn"] == "http://api.gizwits.com"
    assert {normalize_base_url(u) for u in REGIONS.values()} == set(REGIONS.values())
    assert all(re.fullmatch(r"http://(eu|us)?api\.gizwits\.com", u) for u in REGIONS.values())


@pytest.mark.parametrize("mac", ["a0:b1:c2:d3:e4:f5", "A0-B1-C2-D3-E4-F5", "a0b1.c2d3.e4f5"])
def test_normalize_mac(mac: str) -> None:
    # GAgent sends 12 upper-case hex digits, e.g. "00163E002CAC".
    assert normalize_mac(mac) == MAC_WIRE


@pytest.mark.parametrize("mac", ["", "a0b1c2d3e4", "a0b1c2d3e4f5a6", "g0b1c2d3e4f5"])
def test_normalize_mac_rejects(mac: str) -> None:
    with pytest.raises(ValueError, match="MAC"):
        normalize_mac(mac)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", "00000001"), ("ESP826", "00ESP826"), ("04020021", "04020021"), ("1.2", "000001.2")],
)
def test_normalize_version_pads_to_eight(raw: str, expected: str) -> None:
    assert normalize_version(raw) == expected


@pytest.mark.parametrize("raw", ["", "123456789", "1 2", "a&b"])
def test_normalize_version_rejects(raw: str) -> None:
    with pytest.raises(ValueError, match="version"):
        normalize_version(raw)


@pytest.mark.parametrize("did", ["", "short", DID + "x", "GdzuSRncfDPGHGo2Lxwg/2"])
def test_validate_did_rejects(did: str) -> None:
    with pytest.raises(ValueError, match="DID"):
        validate_did(did)


def test_m2m_endpoint_validates() -> None:
    assert M2MEndpoint("m2m.gizwits.com", 1883).extra == {}
    for host, port in (("", 1883), ("a b", 1883), ("h", 0), ("h", 65536)):
        with pytest.raises(ValueError, match="M2M"):
            M2MEndpoint(host, port)


async def test_bad_arguments_fail_before_the_network(http: aiohttp.ClientSession) -> None:
    gs = GServiceClient(http, f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ValueError, match="passcode"):
        await gs.register(PRODUCT_KEY, MAC, "pass word")
    with pytest.raises(ValueError, match="product key"):
        await gs.register("nothex", MAC, PASSCODE)
    with pytest.raises(ValueError, match="firmware type"):
        await gs.ota_update_and_check(
            did=DID, passcode=PASSCODE, firmware_type=3, hard_version="1", soft_version="1"
        )
    with pytest.raises(ValueError, match="current_fid"):
        await gs.ota_target_fid(
            did=DID,
            product_key=PRODUCT_KEY,
            firmware_type=1,
            hard_version="1",
            soft_version="1",
            current_fid=-1,
        )
    assert gs.base_url.startswith("http://127.0.0.1:")


# Register / provision / disable (§2.1-2.3) ----------------------------------------------------


async def test_register_returns_a_did(client: GServiceClient, state: CloudState) -> None:
    did = await client.register(PRODUCT_KEY.upper(), MAC, PASSCODE)
    assert len(did) == 22
    assert set(did) <= set(DID_ALPHABET)
    device = state.devices[did]
    assert (device.mac, device.passcode, device.product_key) == (MAC_WIRE, PASSCODE, PRODUCT_KEY)


async def test_reregister_keeps_the_did_and_takes_the_new_passcode(
    client: GServiceClient, state: CloudState
) -> None:
    did = await client.register(PRODUCT_KEY, MAC, PASSCODE)
    assert await client.register(PRODUCT_KEY, MAC, "NEWPASS123") == did
    assert state.devices[did].passcode == "NEWPASS123"
    # After a disable (device reset) the same MAC gets a fresh DID.
    await client.disable(did, "NEWPASS123")
    assert await client.register(PRODUCT_KEY, MAC, PASSCODE) != did


async def test_register_unknown_product(client: GServiceClient) -> None:
    with pytest.raises(GServiceUnknownProduct) as info:
        await client.register(OTHER_PRODUCT_KEY, MAC, PASSCODE)
    assert (info.value.status, info.value.error_code) == (400, 9002)


async def test_provision(client: GServiceClient, state: CloudState) -> None:
    did = await client.register(PRODUCT_KEY, MAC, PASSCODE)
    state.m2m_host, state.m2m_port = "m2m.example", 8883
    state.m2m_extra = {"port_s": "8883", "log_host": "x"}
    endpoint = await client.provision(did)
    assert (endpoint.host, endpoint.port) == ("m2m.example", 8883)
    assert isinstance(endpoint.server_ts, int)
    assert endpoint.extra == {"port_s": "8883", "log_host": "x"}  # unknown keys kept aside


async def test_provision_unknown_did(client: GServiceClient) -> None:
    with pytest.raises(GServiceInvalidCredentials) as info:
        await client.provision(DID)
    assert info.value.error_code == 9014


async def test_disable_then_provision_is_refused(client: GServiceClient) -> None:
    did = await client.register(PRODUCT_KEY, MAC, PASSCODE)
    await client.disable(did, PASSCODE)
    with pytest.raises(GServiceInvalidCredentials) as info:
        await client.provision(did)
    assert info.value.error_code == 9023
    # Disabling again is already done (9023), not an error.
    await client.disable(did, PASSCODE)


async def test_disable_wrong_passcode(client: GServiceClient) -> None:
    did = await client.register(PRODUCT_KEY, MAC, PASSCODE)
    with pytest.raises(GServiceInvalidCredentials) as info:
        await client.disable(did, "WRONGPASS1")
    assert info.value.error_code == 9016


# OTA v4.0 (§2.4, seed §4.4) ------------------------------------------------------------------


@pytest.mark.parametrize("current_fid", [0, 5])
async def test_v40_target_equal_to_the_sent_fid_is_no_update(
    http: aiohttp.ClientSession, current_fid: int
) -> None:
    """protocol.md §7: current_fid is sent as is (0 when none); an answer naming the fid
    that was sent is "no update"."""
    sent: list[str] = []

    async def echo(request: web.Request) -> web.StreamResponse:
        sent.append(request.query["current_fid"])
        return web.Response(text=f"target_fid={request.query['current_fid']}&download_url=/f")

    async with scripted(http, echo) as gs:
        target = await gs.ota_target_fid(
            did=DID,
            product_key=PRODUCT_KEY,
            firmware_type=2,
            hard_version="1",
            soft_version="1",
            current_fid=current_fid,
        )
    assert target is None
    assert sent == [str(current_fid)]


async def test_ota_v40(client: GServiceClient, state: CloudState) -> None:
    did = await client.register(PRODUCT_KEY, MAC, PASSCODE)

    async def check(current_fid: int) -> TargetFirmware | None:
        return await client.ota_target_fid(
            did=did,
            product_key=PRODUCT_KEY,
            firmware_type=1,
            hard_version="ESP826",
            soft_version="4020020",
            current_fid=current_fid,
        )

    assert await check(0) is None  # 9027: nothing offered
    device = state.devices[did]
    assert device.versions[1] == ("00ESP826", "04020020")
    assert device.current_fid[1] == 0  # protocol.md §7: 0 when nothing came through v4.0

    offer = state.set_offer(FirmwareOffer(1, "04020021", b"fw"), product_key=PRODUCT_KEY)
    target = await check(7)
    assert target == TargetFirmware(
        offer.target_fid,
        f"{client.base_url}/dev/ota/download/{offer.target_fid}",
        "04020021",
    )
    assert await check(offer.target_fid) is None


# OTA v4.1 (§2.4, §7) -------------------------------------------------------------------------


async def test_ota_v41(client: GServiceClient, state: CloudState) -> None:
    did = await client.register(PRODUCT_KEY, MAC, PASSCODE)

    async def check(soft: str, passcode: str = PASSCODE) -> FirmwareUpdate | None:
        return await client.ota_update_and_check(
            did=did, passcode=passcode, firmware_type=2, hard_version="1", soft_version=soft
        )

    assert await check("3") is None  # 9500: no push rule
    offer = state.set_offer(FirmwareOffer(2, "00000005", b"mcu"), product_key=PRODUCT_KEY)
    update = await check("3")
    assert update == FirmwareUpdate(
        "00000005", f"{client.base_url}/dev/ota/v4.1/download/{offer.target_fid}"
    )
    assert state.devices[did].versions[2] == ("00000001", "00000003")
    assert await check("5") is None  # 9502: already upgraded
    assert await check("3", passcode="WRONGPASS1") is None  # any other status: no update


# Error classification -------------------------------------------------------------------------


async def test_server_error_fault(client: GServiceClient, state: CloudState) -> None:
    did = await client.register(PRODUCT_KEY, MAC, PASSCODE)
    state.inject_fault("provision", "status", status=503)
    with pytest.raises(GServiceServerError) as info:
        await client.provision(did)
    assert info.value.status == 503
    state.inject_fault("ota_update_and_check", "status")
    with pytest.raises(GServiceServerError):
        await client.ota_update_and_check(
            did=did, passcode=PASSCODE, firmware_type=1, hard_version="1", soft_version="1"
        )
    assert (await client.provision(did)).port == 1883  # faults are one-shot


async def test_garbage_body_is_malformed(client: GServiceClient, state: CloudState) -> None:
    state.inject_fault("register", "garbage")
    with pytest.raises(GServiceMalformedResponse) as info:
        await client.register(PRODUCT_KEY, MAC, PASSCODE)
    assert isinstance(info.value, GServiceError)


async def test_missing_host_and_bad_port(client: GServiceClient, state: CloudState) -> None:
    did = await client.register(PRODUCT_KEY, MAC, PASSCODE)
    state.m2m_port = 0
    with pytest.raises(GServiceMalformedResponse, match="port"):
        await client.provision(did)
    state.m2m_host, state.m2m_port = "", 1883
    with pytest.raises(GServiceMalformedResponse, match="host"):
        await client.provision(did)


async def test_hang_times_out(http: aiohttp.ClientSession, state: CloudState) -> None:
    state.inject_fault("provision", "hang")
    async with serve_emulator(state) as url:
        gs = GServiceClient(http, url, timeout=0.3)
        with pytest.raises(GServiceTimeout) as info:
            await gs.provision(DID)
    assert isinstance(info.value, GServiceCannotConnect)


async def test_connection_refused(http: aiohttp.ClientSession) -> None:
    gs = GServiceClient(http, f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(GServiceCannotConnect) as info:
        await gs.provision(DID)
    assert not isinstance(info.value, GServiceTimeout)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, '{"error_code": 9015, "error_message": "form invalid!"}', GServiceRejected),
        (400, '{"error_code": 9008, "error_message": "server error"}', GServiceServerError),
        (400, '{"error_code": 9016}', GServiceInvalidCredentials),
        # protocol.md §7 ruling: only a Gizwits code naming the DID/passcode is "refused";
        # a bare 401/403/404 (a proxy, a wrong base URL) is "unreachable".
        (404, "Not Found", GServiceCannotConnect),
        (401, "", GServiceCannotConnect),
        (403, "<html>Forbidden</html>", GServiceCannotConnect),
        (
            404,
            '{"error_code": 9014, "error_message": "device not found!"}',
            GServiceInvalidCredentials,
        ),
        (403, "error_code=9023&error_message=device+disabled", GServiceInvalidCredentials),
        (
            401,
            '{"error_code": "9016", "error_message": "invalid passcode"}',
            GServiceInvalidCredentials,
        ),
        (418, "[1, 2]", GServiceRejected),
        (400, '{"error_code": true}', GServiceRejected),
        (500, "oops", GServiceServerError),
        (200, "host=h&port=1883&server_ts=soon", GServiceMalformedResponse),
        (200, "host=h&port=-1", GServiceMalformedResponse),
        (200, "port=1883", GServiceMalformedResponse),
        (200, "no-equals-sign", GServiceMalformedResponse),
        (200, b"host=\xff&port=1", GServiceMalformedResponse),
        (200, "x" * (64 * 1024 + 1), GServiceMalformedResponse),
        # A hostile error body nested past Python's recursion limit is not Gizwits' answer,
        # and must not escape as a RecursionError (protocol.md §6).
        (400, "[" * 60000, GServiceRejected),
    ],
)
async def test_provision_answers_are_classified(
    http: aiohttp.ClientSession, status: int, body: str | bytes, error: type[GServiceError]
) -> None:
    async with scripted(http, answer(body, status)) as gs:
        with pytest.raises(error) as info:
            await gs.provision(DID)
    assert type(info.value) is error


async def test_an_answer_arriving_in_pieces_is_read_whole(http: aiohttp.ClientSession) -> None:
    """A body sent in several TCP writes is read to its end (one read() returns only what has
    arrived), so a provision answer split by the network still parses (protocol.md §7)."""
    release = asyncio.Event()

    async def in_pieces(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        await response.prepare(request)
        await response.write(b"host=m2m.example&po")
        await release.wait()
        await response.write(b"rt=1883&server_ts=1700000000")
        await response.write_eof()
        return response

    async with scripted(http, in_pieces) as gs:
        provision = asyncio.ensure_future(gs.provision(DID))
        await asyncio.sleep(0.05)  # the first piece is on the wire before the second is sent
        release.set()
        endpoint = await provision
    assert (endpoint.host, endpoint.port) == ("m2m.example", 1883)


async def test_provision_without_server_ts(http: aiohttp.ClientSession) -> None:
    async with scripted(http, answer("host=h&port=1883\r\n")) as gs:
        assert await gs.provision(DID) == M2MEndpoint("h", 1883, None)


@pytest.mark.parametrize(
    ("status", "body"),
    [(201, "passcode=x"), (201, "did=tooshort"), (409, "")],
)
async def test_register_bad_answers(http: aiohttp.ClientSession, status: int, body: str) -> None:
    async with scripted(http, answer(body, status)) as gs:
        with pytest.raises(GServiceError):
            await gs.register(PRODUCT_KEY, MAC, PASSCODE)


async def test_register_sends_the_gagent_form(http: aiohttp.ClientSession) -> None:
    seen: list[tuple[str, str, str | None, str]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        seen.append((request.method, request.path, request.content_type, await request.text()))
        return web.Response(status=201, text=f"did={DID}")

    async with scripted(http, handler) as gs:
        assert await gs.register(PRODUCT_KEY, MAC, PASSCODE) == DID
    assert seen == [
        (
            "POST",
            "/dev/devices",
            "application/x-www-form-urlencoded",
            f"passcode={PASSCODE}&mac={MAC_WIRE}&product_key={PRODUCT_KEY}",
        )
    ]


async def test_disable_server_error_even_with_9023(http: aiohttp.ClientSession) -> None:
    async with scripted(http, answer('{"error_code": 9023}', 500)) as gs:
        with pytest.raises(GServiceServerError):
            await gs.disable(DID, PASSCODE)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, "target_fid=9&download_url=/dev/ota/download/9", "/dev/ota/download/9"),
        (200, "target_fid=9&download_url=http://cdn.example/f.bin&x=1", "http://cdn.example/f.bin"),
    ],
)
async def test_v40_download_url_is_made_absolute(
    http: aiohttp.ClientSession, status: int, body: str, expected: str
) -> None:
    async with scripted(http, answer(body, status)) as gs:
        target = await gs.ota_target_fid(
            did=DID,
            product_key=PRODUCT_KEY,
            firmware_type=2,
            hard_version="1",
            soft_version="1",
            current_fid=3,
        )
    assert target is not None
    assert target.firmware_version is None
    assert target.download_url.endswith(expected)
    assert target.download_url.startswith("http")


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, "target_fid=x&download_url=/f", GServiceMalformedResponse),
        (200, "target_fid=9&download_url=ftp://host/f", GServiceMalformedResponse),
        (200, "target_fid=9", GServiceMalformedResponse),
        # urlsplit raises ValueError on an unclosed IPv6 bracket: a typed error, not a bare one.
        (200, "target_fid=9&download_url=http://[::1/f", GServiceMalformedResponse),
        (502, "", GServiceServerError),
        (400, '{"error_code": 9014}', GServiceInvalidCredentials),
    ],
)
async def test_v40_bad_answers(
    http: aiohttp.ClientSession, status: int, body: str, error: type[GServiceError]
) -> None:
    async with scripted(http, answer(body, status)) as gs:
        with pytest.raises(error) as info:
            await gs.ota_target_fid(
                did=DID,
                product_key=PRODUCT_KEY,
                firmware_type=1,
                hard_version="1",
                soft_version="1",
                current_fid=3,
            )
    assert type(info.value) is error


@pytest.mark.parametrize(
    ("body", "result"),
    [
        # The linux GAgent sample answer (chunked bodies end with CRLF).
        (
            "soft_ver=04020021&download_url=http://api.gizwits.com/dev/ota/v4.1/download/7072\r\n",
            FirmwareUpdate("04020021", "http://api.gizwits.com/dev/ota/v4.1/download/7072"),
        ),
        # protocol.md §7: the raw text to the end of the line, its own query intact, no decoding.
        (
            "soft_ver=04020021&download_url=http://cdn.example/fw.bin?a=1&b=2\r\n",
            FirmwareUpdate("04020021", "http://cdn.example/fw.bin?a=1&b=2"),
        ),
        (
            "download_url=http://cdn.example/f%20x.bin?sig=a%2Bb&t=1\nsoft_ver=04020021",
            FirmwareUpdate("04020021", "http://cdn.example/f%20x.bin?sig=a%2Bb&t=1"),
        ),
        ("soft_ver=04020019&download_url=/d/1", None),  # older than ours: ignored
        ("soft_ver=4020021&download_url=/d/1", FirmwareUpdate("04020021", "")),
    ],
)
async def test_v41_answers(
    http: aiohttp.ClientSession, body: str, result: FirmwareUpdate | None
) -> None:
    async with scripted(http, answer(body)) as gs:
        update = await gs.ota_update_and_check(
            did=DID, passcode=PASSCODE, firmware_type=1, hard_version="1", soft_version="04020020"
        )
    if result is None or result.download_url:
        assert update == result
    else:
        assert update is not None
        assert update.soft_version == result.soft_version
        assert update.download_url == f"{gs.base_url}/d/1"


@pytest.mark.parametrize(
    "body",
    [
        "soft_ver=123456789&download_url=/d",
        "download_url=/d",
        "soft_ver=1&download_url=",
        "soft_ver=04020021&download_url=http://[::1/fw.bin",
    ],
)
async def test_v41_malformed(http: aiohttp.ClientSession, body: str) -> None:
    async with scripted(http, answer(body)) as gs:
        with pytest.raises(GServiceMalformedResponse):
            await gs.ota_update_and_check(
                did=DID, passcode=PASSCODE, firmware_type=1, hard_version="1", soft_version="1"
            )
