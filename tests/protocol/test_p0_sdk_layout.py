"""Bit regions of more than 8 bits, byte for byte as the Gizwits MCU SDK lays them out (§5).

protocol.md §5. The reference below re-implements, byte by byte, what the SDK code the console
generates does with the generated ``*_BYTEOFFSET`` / ``*_BITOFFSET`` / ``*_LEN`` constants
(dataPointTools.c, V03030000):

- gizStandardCompressValue(byteOffset, bitOffset, bitLen, buf, value) ORs ``value`` into
  ``buf[byteOffset]`` shifted by ``bitOffset % 8``; when the field crosses a byte
  (gizAcrossByteJudge) its high bits go into ``buf[byteOffset + 1]``.
- gizDataPoints2ReportData then calls gizByteOrderExchange on each bit buffer (wBitBuf,
  rBitBuf, ...), reversing its bytes before the status is sent.
- gizStandardDecompressionValue copies the received buffer, reverses it the same way and reads
  the field back from ``byteOffset`` / ``bitOffset % 8``.

The codec under test reads a region as one big-endian integer instead; these tests hold it to
the SDK's byte-level procedure for real layouts: [LIGHT] (13 bools + a 2-bit enum in 2 bytes,
switch1 at BYTEOFFSET 1 / BITOFFSET 8) and WIDE_BITS (an enum across a byte boundary, 16
read-only bools in a second region). Sources: tests/protocol/p0_models.py.
"""

from collections.abc import Iterable

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.gizwits_device.protocol.p0 import P0Codec
from custom_components.gizwits_device.protocol.p0_messages import Control, StatusReport, Value
from custom_components.gizwits_device.protocol.product import DataPoint, DataType, ProductModel

from .p0_models import WIDE_BITS, load_public

LIGHT = load_public("tree18_light")
WIDE = ProductModel.from_json(WIDE_BITS)


# --- the SDK's procedure, one byte at a time -------------------------------------------------


def sdk_compress(
    buf: bytearray, byte_offset: int, bit_offset: int, bit_len: int, value: int
) -> None:
    """gizStandardCompressValue: OR ``value`` in at byte_offset, bit bit_offset % 8."""
    shift = bit_offset % 8
    if shift + bit_len <= 8:
        buf[byte_offset] |= (value << shift) & 0xFF
    else:  # crosses into the next byte: low part here, the rest in byte_offset + 1
        buf[byte_offset + 1] |= (value >> (8 - shift)) & 0xFF
        buf[byte_offset] |= (value << shift) & 0xFF


def sdk_decompress(region: bytes, byte_offset: int, bit_offset: int, bit_len: int) -> int:
    """gizStandardDecompressionValue on a region as received (reversed first)."""
    buf = region[::-1] if len(region) > 1 else region
    shift = bit_offset % 8
    if shift + bit_len <= 8:
        return (buf[byte_offset] >> shift) & (0xFF >> (8 - bit_len))
    high_len = bit_len - (8 - shift)
    high = buf[byte_offset + 1] & (0xFF >> (8 - high_len))
    return (high << (8 - shift)) | (buf[byte_offset] >> shift)


def sdk_region(points: Iterable[DataPoint], raw: dict[str, int], start: int, size: int) -> bytes:
    """A bit region as the SDK sends it: compress each field, then gizByteOrderExchange."""
    buf = bytearray(size)
    for point in points:
        sdk_compress(
            buf, point.byte_offset - start, point.bit_offset, point.length, raw[point.name]
        )
    return bytes(buf[::-1])


# --- helpers -----------------------------------------------------------------------------------


def _raw(point: DataPoint, value: Value) -> int:
    if point.data_type is DataType.BOOL:
        return int(bool(value))
    return point.options.index(str(value))


def _bit_value(point: DataPoint) -> st.SearchStrategy[Value]:
    if point.data_type is DataType.BOOL:
        return st.booleans()
    return st.sampled_from(point.options)


def _byte_value(point: DataPoint) -> st.SearchStrategy[Value]:
    if point.data_type is DataType.BINARY:
        return st.binary(min_size=point.length, max_size=point.length)
    assert point.minimum is not None
    assert point.maximum is not None
    return st.integers(point.minimum, point.maximum).map(point.to_shown)


def _status(model: ProductModel) -> st.SearchStrategy[dict[str, Value]]:
    fields = {p.name: _bit_value(p) if p.is_bit_field else _byte_value(p) for p in model.points}
    return st.fixed_dictionaries(fields)


def _regions(model: ProductModel) -> dict[int, list[DataPoint]]:
    regions: dict[int, list[DataPoint]] = {}
    for point in model.points:
        if point.is_bit_field:
            regions.setdefault(point.byte_offset - point.bit_offset // 8, []).append(point)
    return regions


# --- hand vectors ([LIGHT]) --------------------------------------------------------------------

LIGHT_CODEC = P0Codec(LIGHT)
ZEROS_22 = "00" * 22  # the 22 writable byte-field bytes after the 2-byte bit region


@pytest.mark.parametrize(
    ("values", "hexdump"),
    [
        # switch1: flag bit 8 of 31 -> 00 00 01 00; SDK: buf[1] |= 1 -> 00 01 -> reversed 01 00.
        ({"switch1": True}, "01 00000100 0100" + ZEROS_22),
        # Led_OnOff_Change (bit 0) + enum "enum2" (2 at BITOFFSET 13): buf = 01 40 -> 40 01.
        ({"Led_OnOff_Change": True, "enum": "enum2"}, "01 00002001 4001" + ZEROS_22),
        # Led_auto_OnOff (bit 7) + switch5 (bit 12): buf = 80 10 -> 10 80.
        ({"Led_auto_OnOff": True, "switch5": True}, "01 00001080 1080" + ZEROS_22),
    ],
    ids=["switch1", "bit0+enum", "bit7+switch5"],
)
def test_light_control_vectors(values: dict[str, Value], hexdump: str) -> None:
    payload = bytes.fromhex(hexdump)
    assert LIGHT_CODEC.encode(Control(values)) == payload
    assert LIGHT_CODEC.decode(payload) == Control(values)


def test_light_ninth_switch_is_bit_0_of_the_first_wire_byte() -> None:
    # The region bytes the SDK sends for switch1 alone, and what it reads back from them.
    switch1 = LIGHT.point("switch1")
    region = sdk_region([switch1], {"switch1": 1}, 0, 2)
    assert region == b"\x01\x00"
    assert sdk_decompress(region, switch1.byte_offset, switch1.bit_offset, 1) == 1
    status = LIGHT_CODEC.encode(StatusReport(_all_off(LIGHT) | {"switch1": True}))
    assert status[1:3] == region


def _all_off(model: ProductModel) -> dict[str, Value]:
    values: dict[str, Value] = {}
    for p in model.points:
        if p.data_type is DataType.BOOL:
            values[p.name] = False
        elif p.data_type is DataType.ENUM:
            values[p.name] = p.options[0]
        else:
            values[p.name] = p.to_shown(0)
    return values


# --- the codec agrees with the SDK for every value ----------------------------------------------


@pytest.mark.parametrize("model", [LIGHT, WIDE], ids=["tree18_light", "wide_bits"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_status_bit_regions_match_the_sdk(model: ProductModel, data: st.DataObject) -> None:
    values = data.draw(_status(model))
    payload = P0Codec(model).encode(StatusReport(values))
    body = payload[1:]
    for start, points in _regions(model).items():
        size = max((p.bit_offset + p.length + 7) // 8 for p in points)
        raw = {p.name: _raw(p, values[p.name]) for p in points}
        region = sdk_region(points, raw, start, size)
        assert body[start : start + size] == region
        for point in points:
            got = sdk_decompress(region, point.byte_offset - start, point.bit_offset, point.length)
            assert got == raw[point.name]
    assert P0Codec(model).decode(payload) == StatusReport(values)
