"""The example product definitions the integration ships (custom_components/.../products)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

PRODUCTS = Path(__file__).parents[1] / "custom_components" / "gizwits_device" / "products"


def product_json(name: str) -> dict[str, Any]:
    """The export of one shipped example, e.g. ``smart_plug``."""
    data: dict[str, Any] = json.loads((PRODUCTS / f"{name}.json").read_text("utf-8"))
    return data
