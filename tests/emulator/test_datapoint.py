"""The emulator's /app/datapoint and its operator route (protocol.md §5)."""

from __future__ import annotations

import aiohttp
from aiohttp import web
import pytest

from emulator.datapoint import DatapointStore, add_datapoint_routes
from tests.gservice_servers import PRODUCT_KEY, serve

APP_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
DEFINITION = {"name": "Test", "product_key": PRODUCT_KEY.upper(), "entities": []}


async def test_operator_publishes_and_the_open_api_answers(socket_enabled: None) -> None:
    store = DatapointStore()
    app = web.Application()
    add_datapoint_routes(app, store)
    async with serve(app) as url, aiohttp.ClientSession() as http:
        body = {"definition": DEFINITION, "app_ids": [APP_ID]}
        async with http.post(f"{url}/emulator/datapoints", json=body) as resp:
            assert (resp.status, await resp.json()) == (200, {"product_key": PRODUCT_KEY})
        for bad in ({"definition": []}, {"definition": DEFINITION, "app_ids": "x"},
                    {"definition": {"product_key": "nope"}}):  # fmt: skip
            async with http.post(f"{url}/emulator/datapoints", json=bad) as resp:
                assert resp.status == 400
        query = f"{url}/app/datapoint?product_key={PRODUCT_KEY}"
        async with http.get(query, headers={"X-Gizwits-Application-Id": APP_ID}) as resp:
            assert await resp.json() == DEFINITION
        async with http.get(query) as resp:  # no App ID at all
            assert (resp.status, (await resp.json())["error_code"]) == (400, 9003)
        async with http.get(f"{url}/app/datapoint?product_key={'a' * 32}") as resp:
            assert (await resp.json())["error_code"] == 9003  # no App ID: that is said first


def test_store_checks_app_ids() -> None:
    store = DatapointStore()
    store.publish(DEFINITION, [])
    with pytest.raises(ValueError, match="App ID"):
        store.publish(DEFINITION, ["short"])
    store.publish(DEFINITION, [APP_ID.upper()])
    assert store.app_ids == {PRODUCT_KEY: {APP_ID}}
