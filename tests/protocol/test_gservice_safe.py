"""GServiceClient's safe register and provision (protocol.md §9) against the emulator and
scripted servers on loopback: the encrypted bodies, the shared error mapping (§7), bad replies."""

from __future__ import annotations

from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
import pytest

from custom_components.gizwits_device.protocol import GizwitsValueError
from custom_components.gizwits_device.protocol.gservice import GServiceClient
from custom_components.gizwits_device.protocol.gservice_wire import (
    GServiceCannotConnect,
    GServiceInvalidCredentials,
    GServiceMalformedResponse,
    GServiceRejected,
    GServiceSecretMismatch,
    GServiceServerError,
    GServiceTimeout,
    GServiceUnknownProduct,
)
from emulator.gservice_safe import seal, unseal
from emulator.state import CloudState
from tests.gservice_servers import (
    MAC,
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

DID = "GdzuSRncfDPGHGo2LxwgM2"
SECRET = "6f3e2b1c0a9d8e7f6a5b4c3d2e1f0a9b"
WRONG_SECRET = "00112233445566778899aabbccddeeff"


@pytest.fixture
def state() -> CloudState:
    cloud = new_state()
    cloud.add_product(PRODUCT_KEY, secret=SECRET)
    return cloud


def safe_client(
    http: aiohttp.ClientSession, url: str, secret: str = SECRET, *, timeout: float = 5
) -> GServiceClient:
    return GServiceClient(
        http, url, timeout=timeout, product_key=PRODUCT_KEY.upper(), product_secret=secret
    )


async def test_register_and_provision_through_the_emulator(
    http: aiohttp.ClientSession, state: CloudState
) -> None:
    state.m2m_extra = {"future_key": "x"}
    async with serve_emulator(state) as url:
        client = safe_client(http, url)
        assert client.uses_product_secret
        did = await client.register(PRODUCT_KEY, MAC, PASSCODE)
        endpoint = await client.provision(did)
    assert state.devices[did].apis == {"register": "safe", "provision": "safe"}
    assert (endpoint.host, endpoint.port) == (state.m2m_host, state.m2m_port)
    # §9's extra keys and the emulator's future one are ignored, as §7 says.
    assert {"log_host", "log_port", "biz_log", "sys_log", "future_key"} <= endpoint.extra.keys()


async def test_a_plain_client_keeps_the_plain_calls(
    http: aiohttp.ClientSession, state: CloudState
) -> None:
    async with serve_emulator(state) as url:
        client = GServiceClient(http, url)
        assert not client.uses_product_secret
        did = await client.register(PRODUCT_KEY, MAC, PASSCODE)
        await client.provision(did)
    assert state.devices[did].apis == {"register": "plain", "provision": "plain"}


async def test_request_bodies_are_the_firmwares(http: aiohttp.ClientSession) -> None:
    """Register posts `data=<hex>` of `mac=<lowercase>&passcode=&type=normal` to
    /dev/<pk>/device; provision asks /dev/<pk>/device?did=<hex AES(DID)> (decrypted here by the
    emulator's own cipher)."""
    seen: list[tuple[str, str, dict[str, str]]] = []

    async def record(request: web.Request) -> web.StreamResponse:
        form = dict(parse_qsl((await request.read()).decode()))
        seen.append((request.method, request.path, form or dict(request.query)))
        if request.method == "POST":
            return web.Response(status=201, text=seal(SECRET, f"did={DID}"))
        return web.Response(text=seal(SECRET, "host=m2m.example&port=1883&server_ts=1"))

    async with serve(scripted_app(record)) as url:
        client = safe_client(http, url)
        assert await client.register(PRODUCT_KEY, MAC, PASSCODE) == DID
        await client.provision(DID)
    (post, post_path, post_form), (get, get_path, query) = seen
    assert (post, post_path, get, get_path) == (
        "POST",
        f"/dev/{PRODUCT_KEY}/device",
        "GET",
        f"/dev/{PRODUCT_KEY}/device",
    )
    assert post_form["data"] == post_form["data"].lower()
    assert unseal(SECRET, post_form["data"]) == f"mac=a0b1c2d3e4f5&passcode={PASSCODE}&type=normal"
    assert unseal(SECRET, query["did"]) == DID


async def test_wrong_secret_is_a_mismatch_and_registers_nothing(
    http: aiohttp.ClientSession, state: CloudState
) -> None:
    registered = state.register(PRODUCT_KEY, MAC, PASSCODE)
    async with serve_emulator(state) as url:
        client = safe_client(http, url, WRONG_SECRET)
        with pytest.raises(GServiceSecretMismatch):
            await client.register(PRODUCT_KEY, "02:00:00:00:00:01", PASSCODE)
        with pytest.raises(GServiceSecretMismatch) as info:
            await client.provision(registered.did)
    assert list(state.devices) == [registered.did]
    # The message never quotes what the reply decrypted to.
    assert registered.did not in str(info.value)


def sealed(text: str, status: int = 200, secret: str = SECRET) -> Handler:
    async def handler(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, text=seal(secret, text))

    return handler


def answer(body: str, status: int = 200) -> Handler:
    async def handler(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, text=body)

    return handler


@pytest.mark.parametrize(
    ("handler", "call"),
    [
        pytest.param(answer(f"did={DID}", 201), "register", id="register-plain-answer"),
        pytest.param(sealed("hello=1", 201), "register", id="register-no-did"),
        pytest.param(sealed("did=short", 201), "register", id="register-bad-did"),
        pytest.param(sealed("not a form %%", 201), "register", id="register-not-a-form"),
        pytest.param(answer("host=a&port=1"), "provision", id="provision-plain-answer"),
        pytest.param(sealed("port=1883"), "provision", id="provision-no-host"),
        pytest.param(answer("ab" * 15), "provision", id="provision-short"),
    ],
)
async def test_replies_that_do_not_decrypt(
    http: aiohttp.ClientSession, handler: Handler, call: str
) -> None:
    async with serve(scripted_app(handler)) as url:
        client = safe_client(http, url)
        request = (
            client.register(PRODUCT_KEY, MAC, PASSCODE)
            if call == "register"
            else client.provision(DID)
        )
        with pytest.raises(GServiceSecretMismatch) as info:
            await request
    assert DID not in str(info.value)


async def test_a_bad_port_in_a_decrypted_provision_is_malformed(
    http: aiohttp.ClientSession,
) -> None:
    """A reply that decrypts (the secret is right) but says nonsense is not a mismatch."""
    async with serve(scripted_app(sealed("host=a&port=99999"))) as url:
        with pytest.raises(GServiceMalformedResponse, match="port") as info:
            await safe_client(http, url).provision(DID)
    assert not isinstance(info.value, GServiceSecretMismatch)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (9002, GServiceUnknownProduct),
        (9014, GServiceInvalidCredentials),
        (9023, GServiceInvalidCredentials),
        (9015, GServiceRejected),
    ],
)
async def test_gizwits_error_bodies_keep_code_and_message(
    http: aiohttp.ClientSession, code: int, error: type[Exception]
) -> None:
    body = f'{{"error_code": {code}, "error_message": "told by Gizwits", "detail_message": null}}'
    async with serve(scripted_app(answer(body, 400))) as url:
        client = safe_client(http, url)
        for call in (client.register(PRODUCT_KEY, MAC, PASSCODE), client.provision(DID)):
            with pytest.raises(error) as info:
                await call
            assert info.value.error_code == code  # type: ignore[attr-defined]
            assert info.value.error_message == "told by Gizwits"  # type: ignore[attr-defined]
            assert "told by Gizwits" in str(info.value)


async def test_unknown_product_and_did_at_the_emulator(
    http: aiohttp.ClientSession, state: CloudState
) -> None:
    async with serve_emulator(state) as url:
        other = GServiceClient(
            http, url, product_key=OTHER_PRODUCT_KEY, product_secret=SECRET, timeout=5
        )
        with pytest.raises(GServiceUnknownProduct):
            await other.register(OTHER_PRODUCT_KEY, MAC, PASSCODE)
        with pytest.raises(GServiceInvalidCredentials):
            await safe_client(http, url).provision(DID)


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, GServiceCannotConnect), (403, GServiceCannotConnect), (502, GServiceServerError)],
)
async def test_refused_vs_unreachable_is_unchanged(
    http: aiohttp.ClientSession, status: int, error: type[Exception]
) -> None:
    """protocol.md §7: a bare 401/403/404 or a 5xx says nothing about the device."""
    async with serve(scripted_app(answer("Not Found", status))) as url:
        with pytest.raises(error):
            await safe_client(http, url).provision(DID)


async def test_timeouts_and_refused_connections(
    http: aiohttp.ClientSession, state: CloudState
) -> None:
    state.inject_fault("provision", "hang")
    async with serve_emulator(state) as url:
        with pytest.raises(GServiceTimeout):
            await safe_client(http, url, timeout=0.3).provision(DID)
    with pytest.raises(GServiceCannotConnect):
        await safe_client(http, f"http://127.0.0.1:{closed_port()}").register(
            PRODUCT_KEY, MAC, PASSCODE
        )


async def test_a_secret_belongs_to_its_product(http: aiohttp.ClientSession) -> None:
    with pytest.raises(GizwitsValueError, match="needs the product key"):
        GServiceClient(http, "http://127.0.0.1:1", product_secret=SECRET)
    with pytest.raises(GizwitsValueError, match="32 hexadecimal"):
        GServiceClient(http, "http://127.0.0.1:1", product_key=PRODUCT_KEY, product_secret="x")
    client = safe_client(http, "http://127.0.0.1:1")
    with pytest.raises(GizwitsValueError, match="another product key"):
        await client.register(OTHER_PRODUCT_KEY, MAC, PASSCODE)
