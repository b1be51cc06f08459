"""Download a product definition from the Gizwits Open API (protocol.md §5).

``GET <API host>/app/datapoint?product_key=<key>`` with the header
``X-Gizwits-Application-Id: <App ID>`` answers the product's data-point definition, the same
JSON the console exports (gizwits-docs, Cloud/openapi_apps "获取产品数据点定义": the App ID must
be associated with the product). A refusal is an Open API error body,
``{"error_code": 9003, "error_message": "appid invalid", "detail_message": null}`` (the
``get_errors`` table: 9002 product_key invalid, 9003 appid invalid), usually with HTTP 400.

This module fetches and parses the answer; checking that it is a valid definition is
product_import's job (``ProductModel.from_json``).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from .errors import GizwitsError
from .gservice_wire import hex32, normalize_base_url, validate_product_key
from .http_body import read_capped

__all__ = [
    "APP_ID_HEADER",
    "MAX_DEFINITION_BYTES",
    "ProductDownloadError",
    "ProductDownloadNotJson",
    "ProductDownloadRefused",
    "ProductDownloadUnreachable",
    "download_product_definition",
    "validate_app_id",
]

APP_ID_HEADER = "X-Gizwits-Application-Id"
DATAPOINT_PATH = "/app/datapoint"
# Real definitions are a few to a few tens of KiB (UI section included).
MAX_DEFINITION_BYTES = 512 * 1024


class ProductDownloadError(GizwitsError):
    """The definition could not be downloaded; ``reason`` says why (one value per subclass)."""

    reason = "unreachable"


class ProductDownloadUnreachable(ProductDownloadError):
    """No answer: connection refused, DNS, TLS, timeout, or an answer that is not Gizwits'."""

    reason = "unreachable"


class ProductDownloadNotJson(ProductDownloadError):
    """An answer that is not a JSON object (too large, not UTF-8, not JSON)."""

    reason = "not_json"


class ProductDownloadRefused(ProductDownloadError):
    """Gizwits refused the request with an Open API error (e.g. 9003: App ID not valid)."""

    reason = "refused"

    def __init__(self, status: int, error_code: int | None, error_message: str) -> None:
        super().__init__(f"HTTP {status}, error_code {error_code}: {error_message}")
        self.status = status
        self.error_code = error_code
        self.error_message = error_message


def validate_app_id(app_id: str) -> str:
    """An App ID as Gizwits writes it: 32 hex characters (lower-cased)."""
    return hex32(app_id.strip(), "an App ID is 32 hexadecimal characters")


async def download_product_definition(
    session: aiohttp.ClientSession,
    base_url: str,
    product_key: str,
    app_id: str,
    *,
    time_limit: float = 10.0,
) -> dict[str, Any]:
    """The parsed answer of ``/app/datapoint`` (a JSON object; not yet validated)."""
    url = normalize_base_url(base_url) + DATAPOINT_PATH
    params = {"product_key": validate_product_key(product_key)}
    headers = {APP_ID_HEADER: validate_app_id(app_id), "Accept": "application/json"}
    try:
        async with session.get(
            url,
            params=params,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=time_limit),
            allow_redirects=False,
        ) as resp:
            status = resp.status
            raw = await read_capped(resp, MAX_DEFINITION_BYTES)
    except TimeoutError as err:
        raise ProductDownloadUnreachable(f"{url}: timed out") from err
    except aiohttp.ClientError as err:
        raise ProductDownloadUnreachable(f"{url}: {err}") from err
    if len(raw) > MAX_DEFINITION_BYTES:
        raise ProductDownloadNotJson(f"the answer is larger than {MAX_DEFINITION_BYTES} bytes")
    body = _json_object(raw)
    if status == 200 and body is not None and "error_code" not in body:
        return body
    if body is not None and "error_code" in body:
        code = body.get("error_code")
        message = body.get("error_message")
        raise ProductDownloadRefused(
            status,
            code if isinstance(code, int) and not isinstance(code, bool) else None,
            message if isinstance(message, str) else "",
        )
    if status != 200:  # a proxy's or web server's page: no Gizwits service there
        raise ProductDownloadUnreachable(f"{url}: HTTP {status} without a Gizwits error")
    raise ProductDownloadNotJson("the answer is not a JSON object")


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        parsed: object = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError, ValueError, RecursionError:
        return None
    return parsed if isinstance(parsed, dict) else None
