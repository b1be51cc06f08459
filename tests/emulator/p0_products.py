"""Product definitions and value strategies shared by the emulator codec's P0 tests.

The definitions are every one the tests use: the real exports in tests/vectors/products (both
bit layouts), the integration's shipped examples and the hand-made ones of
tests/protocol/p0_models (a bit field crossing a byte, 16 read-only bits, a variable-length
product with fractional ratios).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from emulator.p0 import DataPointCodec, Value, shown_value
from emulator.product import Point, Product
from tests.products import product_json
from tests.protocol.p0_models import BOILER, PET_HOUSE, WIDE_BITS
from tests.vectors import PRODUCTS_DIR

type Json = dict[str, Any]


def _vector_products() -> dict[str, Json]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(PRODUCTS_DIR.glob("*.json"))
        if path.stem != "SOURCES"
    }


DEFINITIONS: dict[str, Json] = {
    **_vector_products(),
    "smart_plug": product_json("smart_plug"),
    "dimmable_light": product_json("dimmable_light"),
    "pet_house_model": PET_HOUSE,
    "wide_bits": WIDE_BITS,
    "boiler": BOILER,
}
CODECS = {name: DataPointCodec.from_definition(d) for name, d in DEFINITIONS.items()}
names = st.sampled_from(sorted(CODECS))


def value_for(point: Point) -> st.SearchStrategy[Value]:
    """Any valid shown value of `point` (a uint: any raw in its spec, scaled)."""
    if point.kind == "bool":
        return st.booleans()
    if point.kind == "enum":
        return st.sampled_from(point.options)
    if point.kind == "binary":
        return st.binary(min_size=point.width // 8, max_size=point.width // 8)
    return st.integers(point.raw_min, point.raw_max).map(lambda raw: shown_value(point, raw))


def values_for(points: tuple[Point, ...] | list[Point]) -> st.SearchStrategy[dict[str, Value]]:
    """A value for each of `points`, in their order."""
    return st.fixed_dictionaries({p.name: value_for(p) for p in points})


def some_values(points: tuple[Point, ...]) -> st.SearchStrategy[dict[str, Value]]:
    """Values for any subset of `points` (id order kept)."""
    return st.lists(st.booleans(), min_size=len(points), max_size=len(points)).flatmap(
        lambda keep: values_for([p for p, k in zip(points, keep, strict=True) if k])
    )


def status_values(product: Product) -> st.SearchStrategy[dict[str, Value]]:
    """A status a device may send: every point (fixed length) or any subset (variable)."""
    if product.variable_length:
        return some_values(product.points)
    return values_for(product.points)
