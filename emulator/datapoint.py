"""The emulated Open API's `/app/datapoint`: product definitions by product key, per App ID.

Gizwits answers ``GET /app/datapoint?product_key=<key>`` with header
``X-Gizwits-Application-Id`` with the product's data-point definition when the App ID is
associated with the product (gizwits-docs, Cloud/openapi_apps "获取产品数据点定义"). Refusals
are Open API error bodies with HTTP 400 (the ``get_errors`` table): 9003 "appid invalid" for a
missing, unknown or unassociated App ID, 9002 "product_key invalid" for a product it does not
serve.

The operator publishes definitions with ``POST /emulator/datapoints``
``{"definition": {...}, "app_ids": ["<32 hex>", ...]}``.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from .operator_http import OperatorError, json_errors, json_object
from .state import ERROR_PRODUCT_KEY_INVALID

APP_ID_HEADER = "X-Gizwits-Application-Id"
ERROR_APPID_INVALID = 9003
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")


class DatapointStore:
    """Definitions by product key and the App IDs allowed to read each."""

    def __init__(self) -> None:
        self.definitions: dict[str, dict[str, Any]] = {}
        self.app_ids: dict[str, set[str]] = {}  # product key -> App IDs

    def publish(self, definition: dict[str, Any], app_ids: list[str]) -> str:
        """Serve ``definition`` (its own product_key) to ``app_ids``; the product key."""
        product_key = definition.get("product_key")
        if not isinstance(product_key, str) or not _HEX32.fullmatch(product_key):
            raise ValueError("the definition needs a product_key of 32 hex characters")
        for app_id in app_ids:
            if not _HEX32.fullmatch(app_id):
                raise ValueError(f"App ID {app_id!r} is not 32 hex characters")
        key = product_key.lower()
        self.definitions[key] = definition
        self.app_ids.setdefault(key, set()).update(a.lower() for a in app_ids)
        return key


DATAPOINT_STORE = web.AppKey("datapoint_store", DatapointStore)


def _refusal(code: int, message: str) -> web.Response:
    body = {"error_message": message, "error_code": code, "detail_message": None}
    return web.json_response(body, status=400)


async def _datapoint(request: web.Request) -> web.StreamResponse:
    store = request.app[DATAPOINT_STORE]
    product_key = request.query.get("product_key", "").lower()
    app_id = request.headers.get(APP_ID_HEADER, "").lower()
    if product_key not in store.definitions:
        if not app_id:
            return _refusal(ERROR_APPID_INVALID, "appid invalid")
        return _refusal(ERROR_PRODUCT_KEY_INVALID, "product_key invalid")
    if app_id not in store.app_ids.get(product_key, set()):
        return _refusal(ERROR_APPID_INVALID, "appid invalid")
    return web.json_response(store.definitions[product_key])


async def _op_publish(request: web.Request) -> web.StreamResponse:
    body = await json_object(request)
    definition = body.get("definition")
    app_ids = body.get("app_ids", [])
    if not isinstance(definition, dict):
        raise OperatorError("definition must be an object")
    if not isinstance(app_ids, list) or not all(isinstance(a, str) for a in app_ids):
        raise OperatorError("app_ids must be a list of strings")
    try:
        product_key = request.app[DATAPOINT_STORE].publish(definition, app_ids)
    except ValueError as err:
        raise OperatorError(str(err)) from err
    return web.json_response({"product_key": product_key})


def add_datapoint_routes(app: web.Application, store: DatapointStore) -> None:
    """Serve ``store`` on ``app``: the Open API route and its operator route."""
    app[DATAPOINT_STORE] = store
    app.router.add_get("/app/datapoint", _datapoint)
    app.router.add_post("/emulator/datapoints", json_errors(_op_publish))


__all__ = ["DATAPOINT_STORE", "DatapointStore", "add_datapoint_routes"]
