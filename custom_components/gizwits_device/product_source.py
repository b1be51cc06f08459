"""Where the options flow gets a product definition: pasted, uploaded, an example or downloaded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.components.file_upload import process_uploaded_file
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .protocol import (
    Access,
    GizwitsValueError,
    ProductDefinitionError,
    ProductDownloadError,
    ProductDownloadRefused,
    ProductModel,
    download_product_definition,
)

EXAMPLES = ("smart_plug", "dimmable_light")
PRODUCTS_DIR = Path(__file__).parent / "products"
# Console exports are a few KiB; anything near this is not a product definition.
MAX_PRODUCT_FILE = 256 * 1024
# The mapping step's lists of points, one placeholder per access type (translated headings).
ACCESS_PLACEHOLDERS = {
    Access.WRITABLE: "writable",
    Access.READONLY: "read_only",
    Access.ALERT: "alert",
    Access.FAULT: "fault",
}


class ProductFileError(ValueError):
    """A source that gave no definition: its form error key, field and placeholders."""

    def __init__(
        self,
        key: str,
        detail: str = "",
        *,
        field: str = "base",
        placeholders: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or key)
        self.key = key
        self.detail = detail
        self.field = field
        self.placeholders = {"error": detail, **(placeholders or {})}


def describe_points(model: ProductModel) -> dict[str, str]:
    """Markdown lists of the points (name, display name, type, range/options) by access."""
    lines: dict[str, list[str]] = {key: [] for key in ACCESS_PLACEHOLDERS.values()}
    for point in model.points:
        detail = ""
        if point.is_uint:
            detail = f" {point.shown_min}…{point.shown_max}"
        elif point.options:
            detail = f" [{', '.join(point.options)}]"
        lines[ACCESS_PLACEHOLDERS[point.access]].append(
            f"- `{point.name}` ({point.display_name}): {point.data_type}{detail}"
        )
    return {key: "\n".join(found) or "—" for key, found in lines.items()}


def read_example(name: str) -> dict[str, Any]:
    """A shipped example definition (run in the executor)."""
    data: dict[str, Any] = json.loads((PRODUCTS_DIR / f"{name}.json").read_text("utf-8"))
    return data


def _read_limited(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_PRODUCT_FILE:
        raise ProductFileError("file_too_large", str(size))
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ProductFileError("upload_failed", f"not UTF-8 text: {err.reason}") from err


def read_uploaded_product(hass: HomeAssistant, file_id: str) -> str:
    """The uploaded file's text (run in the executor; the upload is deleted afterwards)."""
    try:
        with process_uploaded_file(hass, file_id) as path:
            return _read_limited(path)
    except ProductFileError:
        raise
    except (ValueError, OSError) as err:  # unknown/expired file ID, or it vanished
        raise ProductFileError("upload_failed", str(err)) from err


def checked_product(raw: object) -> dict[str, Any]:
    """``raw`` if it is a valid product definition (ProductDefinitionError names the problem)."""
    if not isinstance(raw, dict):
        raise ProductDefinitionError("product definition: must be an object")
    ProductModel.from_json(raw)
    return raw


def parse_product_text(text: str) -> dict[str, Any]:
    """Pasted or uploaded JSON text as a checked product definition."""
    try:
        raw = json.loads(text)
    except ValueError as err:
        raise ProductDefinitionError(f"not JSON: {err}") from err
    return checked_product(raw)


async def async_download_product(
    hass: HomeAssistant, base_url: str, product_key: str, app_id: str
) -> dict[str, Any]:
    """The definition Gizwits serves for ``product_key`` to ``app_id``, checked.

    ProductFileError carries the form error (App ID format, refusal with Gizwits' code and
    message, unreachable, not JSON); ProductDefinitionError a JSON object that is no product.
    """
    try:
        raw = await download_product_definition(
            async_get_clientsession(hass), base_url, product_key, app_id
        )
    except GizwitsValueError as err:
        raise ProductFileError("invalid_app_id", str(err), field="app_id") from err
    except ProductDownloadRefused as err:
        raise ProductFileError(
            "download_refused",
            str(err),
            placeholders={
                "error_code": "—" if err.error_code is None else str(err.error_code),
                "error_message": err.error_message or "—",
            },
        ) from err
    except ProductDownloadError as err:  # reason: unreachable | not_json
        raise ProductFileError(f"download_{err.reason}", str(err)) from err
    return checked_product(raw)
