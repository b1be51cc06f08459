"""download_product_definition against real loopback servers (protocol.md §5).

Request and refusal shapes: gizwits-docs Cloud/openapi_apps ("获取产品数据点定义", get_errors):
``GET /app/datapoint?product_key=`` with ``X-Gizwits-Application-Id``; refusals are
``{"error_code": 9003, "error_message": "appid invalid", "detail_message": null}``. The
emulator's route (emulator/datapoint.py) is one witness, scripted servers give the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json

import aiohttp
from aiohttp import web
from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.gizwits_device.protocol.errors import GizwitsValueError
from custom_components.gizwits_device.protocol.product_download import (
    MAX_DEFINITION_BYTES,
    ProductDownloadError,
    ProductDownloadNotJson,
    ProductDownloadRefused,
    ProductDownloadUnreachable,
    _json_object,
    download_product_definition,
    validate_app_id,
)
from emulator.datapoint import DatapointStore, add_datapoint_routes
from tests.gservice_servers import PRODUCT_KEY, closed_port, scripted_app, serve

APP_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
DEFINITION = {"name": "Test", "product_key": PRODUCT_KEY, "entities": []}


@pytest.fixture
async def datapoint_url(socket_enabled: None) -> AsyncIterator[str]:
    store = DatapointStore()
    store.publish(DEFINITION, [APP_ID])
    app = web.Application()
    add_datapoint_routes(app, store)
    async with serve(app) as url:
        yield url


async def test_the_emulator_serves_the_definition(
    http: aiohttp.ClientSession, datapoint_url: str
) -> None:
    assert await download_product_definition(http, datapoint_url, PRODUCT_KEY, APP_ID) == DEFINITION


@pytest.mark.parametrize(
    "case",
    [
        (PRODUCT_KEY, "f" * 32, 9003, "appid invalid"),
        ("a" * 32, APP_ID, 9002, "product_key invalid"),
    ],
    ids=["wrong-app-id", "unknown-product"],
)
async def test_refusals_carry_gizwits_code_and_message(
    http: aiohttp.ClientSession, datapoint_url: str, case: tuple[str, str, int, str]
) -> None:
    product_key, app_id, code, message = case
    with pytest.raises(ProductDownloadRefused) as caught:
        await download_product_definition(http, datapoint_url, product_key, app_id)
    assert (caught.value.status, caught.value.error_code) == (400, code)
    assert caught.value.error_message == message
    assert caught.value.reason == "refused"


async def test_the_request_is_the_documented_one(http: aiohttp.ClientSession) -> None:
    seen: list[tuple[str, str, str | None]] = []

    async def record(request: web.Request) -> web.StreamResponse:
        seen.append(
            (request.method, request.path_qs, request.headers.get("X-Gizwits-Application-Id"))
        )
        return web.json_response(DEFINITION)

    async with serve(scripted_app(record)) as url:
        await download_product_definition(http, url + "/", PRODUCT_KEY.upper(), APP_ID.upper())
    assert seen == [("GET", f"/app/datapoint?product_key={PRODUCT_KEY}", APP_ID)]


def _answer(status: int, body: bytes, content_type: str = "application/json") -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, body=body, content_type=content_type)

    return scripted_app(handler)


@pytest.mark.parametrize(
    "case",
    [
        (200, b"<html>hi</html>", ProductDownloadNotJson, "not_json"),
        (200, b"[1, 2]", ProductDownloadNotJson, "not_json"),
        (200, b"\xff\xfe{}", ProductDownloadNotJson, "not_json"),
        (200, b" " * (MAX_DEFINITION_BYTES + 1), ProductDownloadNotJson, "not_json"),
        (404, b"<html>Not Found</html>", ProductDownloadUnreachable, "unreachable"),
        (502, b"", ProductDownloadUnreachable, "unreachable"),
        (400, b'{"error_code": "x", "error_message": 5}', ProductDownloadRefused, "refused"),
        (200, b'{"error_code": 9008, "error_message": "server error"}', ProductDownloadRefused,
         "refused"),
    ],
    ids=["html", "json-list", "not-utf8", "too-large", "404-page", "502", "odd-error", "200-error"],
)  # fmt: skip
async def test_answers_that_are_no_definition(
    http: aiohttp.ClientSession,
    socket_enabled: None,
    case: tuple[int, bytes, type[ProductDownloadError], str],
) -> None:
    status, body, error, reason = case
    async with serve(_answer(status, body)) as url:
        with pytest.raises(error) as caught:
            await download_product_definition(http, url, PRODUCT_KEY, APP_ID)
    assert caught.value.reason == reason


async def test_size_cap_and_a_large_definition_in_many_chunks(
    http: aiohttp.ClientSession, socket_enabled: None
) -> None:
    # A definition near the cap arrives in many TCP reads and is read whole; one byte over the
    # cap is refused as too large (not parsed).
    big = {**DEFINITION, "ui": "x" * (MAX_DEFINITION_BYTES - 200)}
    async with serve(_answer(200, json.dumps(big).encode())) as url:
        assert await download_product_definition(http, url, PRODUCT_KEY, APP_ID) == big
    async with serve(_answer(200, b" " * (MAX_DEFINITION_BYTES + 1))) as url:
        with pytest.raises(ProductDownloadNotJson, match="larger than"):
            await download_product_definition(http, url, PRODUCT_KEY, APP_ID)


async def test_odd_error_body_keeps_what_it_can(
    http: aiohttp.ClientSession, socket_enabled: None
) -> None:
    async with serve(_answer(400, b'{"error_code": true, "error_message": 5}')) as url:
        with pytest.raises(ProductDownloadRefused) as caught:
            await download_product_definition(http, url, PRODUCT_KEY, APP_ID)
    assert (caught.value.error_code, caught.value.error_message) == (None, "")


async def test_closed_port_and_time_limit(
    http: aiohttp.ClientSession, socket_enabled: None
) -> None:
    with pytest.raises(ProductDownloadUnreachable):
        await download_product_definition(
            http, f"http://127.0.0.1:{closed_port()}", PRODUCT_KEY, APP_ID
        )
    release = asyncio.Event()

    async def hang(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.json_response(DEFINITION)

    async with serve(scripted_app(hang)) as url:
        with pytest.raises(ProductDownloadUnreachable, match="timed out"):
            await download_product_definition(http, url, PRODUCT_KEY, APP_ID, time_limit=0.2)
        release.set()


@pytest.mark.parametrize("app_id", ["", "x" * 32, APP_ID[:-1], APP_ID + "0"])
def test_app_id_format(app_id: str) -> None:
    with pytest.raises(GizwitsValueError):
        validate_app_id(app_id)
    assert validate_app_id(f" {APP_ID.upper()} ") == APP_ID


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_answer_parser_never_crashes(raw: bytes) -> None:
    parsed = _json_object(raw)
    assert parsed is None or isinstance(parsed, dict)
    if parsed is not None:
        assert json.loads(raw.decode("utf-8-sig")) == parsed
