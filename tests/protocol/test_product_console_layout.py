"""Bit regions in the console form and the MCU SDK header form (protocol.md §5, amended).

The console exports every bit field of a region with ``byte_offset`` at the region's first byte
and ``bit_offset`` counting across the region (8, 9 … 20); the SDK's generated header writes
``BYTEOFFSET = start + bit / 8``. Both describe one wire layout: the importer reads each point in
whichever form fits, normalises to the header form and refuses only a point that fits neither.
Sources: [LIGHT] and [SDK] in p0_models; the console exports in tests/vectors/products.
"""

import copy
import json
import re

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.gizwits_device.protocol.p0 import P0Codec
from custom_components.gizwits_device.protocol.p0_messages import Control, StatusReport, Value
from custom_components.gizwits_device.protocol.product import (
    DataPoint,
    DataType,
    ProductDefinitionError,
    ProductModel,
)
from tests.vectors import Vector, p0_vectors, vector_value

from .p0_models import VECTOR_PRODUCTS_DIR, WIDE_BITS, Json, R, W, attr, product
from .test_p0_fuzz import values_for
from .test_p0_sdk_layout import sdk_region


def _bit_attrs(doc: Json) -> list[Json]:
    return [a for a in doc["entities"][0]["attrs"] if a["position"]["unit"] == "bit"]


def console_form(doc: Json, *, only: set[str] | None = None) -> Json:
    """``doc`` with bit fields (all, or those named in ``only``) at their region's first byte."""
    changed = copy.deepcopy(doc)
    for entry in _bit_attrs(changed):
        if only is None or entry["name"] in only:
            position = entry["position"]
            position["byte_offset"] -= position["bit_offset"] // 8
    return changed


def header_form(doc: Json) -> Json:
    """``doc`` (console form) with each bit field at start + bit_offset // 8."""
    changed = copy.deepcopy(doc)
    for entry in _bit_attrs(changed):
        position = entry["position"]
        position["byte_offset"] += position["bit_offset"] // 8
    return changed


def _read_tree18() -> Json:
    text = (VECTOR_PRODUCTS_DIR / "tree18_light.json").read_text(encoding="utf-8")
    doc: Json = json.loads(text)
    return doc


@pytest.mark.parametrize("doc", [WIDE_BITS, _read_tree18()], ids=["wide_bits", "tree18_light"])
def test_console_form_reads_as_the_header_form(doc: Json) -> None:
    header = ProductModel.from_json(doc)
    console = ProductModel.from_json(console_form(doc))
    assert console == header
    assert console_form(doc) != doc  # the forms differ in the JSON, not in the model


def test_console_form_normalises_to_the_holding_byte() -> None:
    # [LIGHT] as the console exports it: switch1 at byte_offset 0 / bit_offset 8 -> byte 1.
    model = ProductModel.from_json(console_form(_read_tree18()))
    switch1 = model.point("switch1")
    assert (switch1.byte_offset, switch1.bit_offset, switch1.region_start) == (1, 8, 0)
    assert model.point("enum").byte_offset == 1


def test_mixed_forms_in_one_region() -> None:
    # Some points in one form, some in the other: each is read in the form it fits.
    doc = _read_tree18()
    mixed = console_form(doc, only={"switch1", "switch3", "enum"})
    assert ProductModel.from_json(mixed) == ProductModel.from_json(doc)


def test_mixed_forms_across_regions() -> None:
    # WIDE_BITS: the writable region in the console form, the read-only one in the header form.
    writable = {a["name"] for a in _bit_attrs(WIDE_BITS) if a["type"] == W}
    mixed = console_form(WIDE_BITS, only=writable)
    assert ProductModel.from_json(mixed) == ProductModel.from_json(WIDE_BITS)


@pytest.mark.parametrize(
    ("byte_offset", "message"),
    [
        (
            1,
            'attrs[17] "DI8": position.byte_offset must be 3 '
            "(bit 7 of the status_readonly bit region, which starts at byte 3)",
        ),
        (
            5,
            'attrs[17] "DI8": position.byte_offset must be 3 '
            "(bit 7 of the status_readonly bit region, which starts at byte 3)",
        ),
    ],
    ids=["before", "after"],
)
def test_low_bit_in_neither_reading(byte_offset: int, message: str) -> None:
    # Below bit 8 both readings are the region start: anything else names the point.
    doc = copy.deepcopy(WIDE_BITS)
    doc["entities"][0]["attrs"][17]["position"]["byte_offset"] = byte_offset
    with pytest.raises(ProductDefinitionError, match="^" + re.escape(message)):
        ProductModel.from_json(doc)


def test_high_bit_in_neither_reading() -> None:
    # A 21-bit region (like the four-head dosing pump): bit 17 is at byte 0 or byte 2, not 1.
    doc = product(
        [
            *(attr(i, f"b{i}", "bool", W, 0, i) for i in range(17)),
            attr(17, "late", "bool", W, 1, 17),
            attr(18, "mode", "enum", W, 0, 18, 3, options=[f"m{i}" for i in range(8)]),
        ]
    )
    message = (
        'attrs[17] "late": position.byte_offset must be 0 (console form) or 2 '
        "(MCU SDK header form) (bit 17 of the status_writable bit region, which starts at byte 0)"
    )
    with pytest.raises(ProductDefinitionError, match="^" + re.escape(message)):
        ProductModel.from_json(doc)
    doc["entities"][0]["attrs"][17]["position"]["byte_offset"] = 0
    assert ProductModel.from_json(doc).point("late").byte_offset == 2


# --- property: both readings of one layout encode the same bytes -------------------------------


@st.composite
def bit_layouts(draw: st.DrawFn) -> Json:
    """A standard product (console form): a writable and a read-only bit region of random
    widths (bools and enums of 1-3 bits, up to 40 bits), each followed by a byte field."""
    attrs: list[Json] = []
    start = 0
    for access in (W, R):
        bit = 0
        for _ in range(draw(st.integers(1, 24))):
            width = draw(st.sampled_from([1, 1, 2, 3]))
            point_id = len(attrs)
            if width == 1:
                attrs.append(attr(point_id, f"p{point_id}", "bool", access, start, bit))
            else:
                options = [f"o{i}" for i in range(draw(st.integers(2, 1 << width)))]
                attrs.append(
                    attr(
                        point_id, f"p{point_id}", "enum", access, start, bit, width, options=options
                    )
                )
            bit += width
        start += (bit + 7) // 8
        point_id = len(attrs)
        attrs.append(attr(point_id, f"p{point_id}", "uint8", access, start, spec=(0, 255, 1, 0)))
        start += 1
    return product(attrs, name="Random bits")


@settings(max_examples=80, deadline=None)
@given(layout=bit_layouts(), data=st.data())
def test_both_readings_encode_identical_bytes(layout: Json, data: st.DataObject) -> None:
    console = ProductModel.from_json(layout)
    header = ProductModel.from_json(header_form(layout))
    assert console == header
    status: dict[str, Value] = data.draw(values_for(console.points, every=True))
    control: dict[str, Value] = data.draw(values_for(console.writable, every=False))
    for message in (StatusReport(status), Control(control)):
        payload = P0Codec(console).encode(message)
        assert payload == P0Codec(header).encode(message)
        assert P0Codec(header).decode(payload) == message


# --- real console exports (tests/vectors/products, p0.json) -----------------------------------

CONSOLE_EXPORTS = {"jebao_wave_maker": 9, "jebao_doser": 12, "jebao_doser_wifi_ble": 21}


def _export(name: str) -> Json:
    doc: Json = json.loads((VECTOR_PRODUCTS_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return doc


@pytest.mark.parametrize(("name", "bits"), CONSOLE_EXPORTS.items(), ids=list(CONSOLE_EXPORTS))
def test_real_console_exports_are_in_the_console_form(name: str, bits: int) -> None:
    # As exported: every writable bit field at byte_offset 0, bit_offset up to bits - 1.
    doc = _export(name)
    writable = [a for a in _bit_attrs(doc) if a["type"] == W]
    assert {a["position"]["byte_offset"] for a in writable} == {0}
    assert max(a["position"]["bit_offset"] + a["position"]["len"] for a in writable) == bits
    model = ProductModel.from_json(doc)
    assert model == ProductModel.from_json(header_form(doc))
    assert {p.region_start for p in model.writable if p.is_bit_field} == {0}


CONSOLE_VECTORS = [v for v in p0_vectors() if v.expected["product"] in CONSOLE_EXPORTS]


@pytest.mark.parametrize("vector", CONSOLE_VECTORS, ids=[v.name for v in CONSOLE_VECTORS])
def test_console_vectors_follow_the_sdk_procedure(vector: Vector) -> None:
    # The hand-built bytes of each bit region are what the SDK's compress + byte-order exchange
    # produce from the header form of the same export (test_p0_sdk_layout's reference).
    model = ProductModel.from_json(header_form(_export(vector.expected["product"])))
    values = {k: vector_value(v) for k, v in vector.expected["values"].items()}
    control = vector.expected["message"] == "Control"
    points = [p for p in (model.writable if control else model.points) if p.is_bit_field]
    body = vector.data[1 + (len(model.writable) + 7) // 8 :] if control else vector.data[1:]
    regions: dict[int, list[DataPoint]] = {}
    for point in points:
        regions.setdefault(point.region_start, []).append(point)
    for start, members in regions.items():
        size = max((p.bit_offset + p.length + 7) // 8 for p in members)
        raw = {p.name: _sdk_raw(p, values.get(p.name)) for p in members}
        assert body[start : start + size] == sdk_region(members, raw, start, size)
    assert P0Codec(model).encode(_as_message(vector.expected["message"], values)) == vector.data


def _sdk_raw(point: DataPoint, value: Value | None) -> int:
    if value is None:  # not in a control: zero in the writable section
        return 0
    if point.data_type is DataType.BOOL:
        return int(bool(value))
    return point.options.index(str(value))


def _as_message(kind: str, values: dict[str, Value]) -> Control | StatusReport:
    return Control(values) if kind == "Control" else StatusReport(values)
