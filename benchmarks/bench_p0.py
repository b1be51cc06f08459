"""P0 codec throughput for a 30-point product vs `struct` on the very same bytes.

    python -m benchmarks.bench_p0 [--seconds 0.2]

The product (fixed layout, protocol "standard"): 8 bools and 4 enums in the writable bit
region, 6 uint8 and 4 uint16 writable, 4 uint32 and 2 uint16 read-only (scaled: ratio and
addition), one alert and one fault bit: 30 points. Measured: the full status report (what every
HA-side change sends) and a 3-point control (what an app sends), encoded and decoded. The
baseline packs/unpacks the same bytes as raw integers with one precomputed `struct` layout: no
scaling, range checks or names, so a floor rather than a competitor.
"""

from __future__ import annotations

from collections.abc import Callable
import functools
import struct
from typing import Any

from benchmarks.bench_frames import print_rates, rate
from custom_components.gizwits_device.protocol import (
    Control,
    P0Codec,
    P0Message,
    ProductModel,
    StatusReport,
)


def _attr(index: int, name: str, data_type: str, access: str, pos: dict[str, int], **extra: Any):
    unit = "bit" if data_type in ("bool", "enum") else "byte"
    return {
        "display_name": name,
        "name": name,
        "data_type": data_type,
        "position": {"unit": unit, "bit_offset": 0, **pos},
        "type": access,
        "id": index,
        "desc": "",
        **extra,
    }


def product() -> dict[str, Any]:
    """The 30-point product definition (Gizwits export JSON)."""
    attrs: list[dict[str, Any]] = []

    def add(name: str, data_type: str, access: str, pos: dict[str, int], **extra: Any) -> None:
        attrs.append(_attr(len(attrs), name, data_type, access, pos, **extra))

    writable, readonly = "status_writable", "status_readonly"
    for i in range(8):  # writable bit region, bits 0-7 in byte 0
        add(f"switch_{i}", "bool", writable, {"byte_offset": 0, "len": 1, "bit_offset": i})
    for i in range(4):  # bits 8-15: byte 1 (MCU SDK layout: region start + bit // 8)
        bit = 8 + 2 * i
        add(
            f"mode_{i}",
            "enum",
            writable,
            {"byte_offset": 1, "len": 2, "bit_offset": bit},
            enum=["off", "low", "mid", "high"],
        )
        attrs[-1]["position"]["bit_offset"] = bit
    offset = 2
    for i in range(6):
        spec = {"addition": 0, "max": 200, "ratio": 1, "min": 0}
        add(f"level_{i}", "uint8", writable, {"byte_offset": offset, "len": 1}, uint_spec=spec)
        offset += 1
    for i in range(4):
        spec = {"addition": -40, "max": 2000, "ratio": 0.1, "min": 0}
        add(f"setpoint_{i}", "uint16", writable, {"byte_offset": offset, "len": 2}, uint_spec=spec)
        offset += 2
    for i in range(4):
        spec = {"addition": 0, "max": 99999999, "ratio": 0.01, "min": 0}
        add(f"energy_{i}", "uint32", readonly, {"byte_offset": offset, "len": 4}, uint_spec=spec)
        offset += 4
    for i in range(2):
        spec = {"addition": 0, "max": 40000, "ratio": 0.1, "min": 0}
        add(f"power_{i}", "uint16", readonly, {"byte_offset": offset, "len": 2}, uint_spec=spec)
        offset += 2
    add("overheat", "bool", "alert", {"byte_offset": offset, "len": 1})
    add("sensor_fault", "bool", "fault", {"byte_offset": offset + 1, "len": 1})
    return {
        "name": "Benchmark 30",
        "packetVersion": "0x00000004",
        "protocolType": "standard",
        "product_key": "30303030303030303030303030303030",
        "entities": [{"display_name": "Benchmark 30", "attrs": attrs}],
    }


def status_values(model: ProductModel) -> dict[str, Any]:
    """A value for every point, none at its default."""
    values: dict[str, Any] = {}
    for number, point in enumerate(model.points):
        kind = point.data_type.value
        if kind == "bool":
            values[point.name] = number % 2 == 0
        elif kind == "enum":
            values[point.name] = point.options[number % len(point.options)]
        else:
            values[point.name] = point.to_shown(min(point.maximum or 0, 17 * (number + 1)))
    return values


type Case = tuple[str, P0Message, struct.Struct]


def cases(model: ProductModel) -> list[Case]:
    """Status report (every point) and a 3-point control, each with its struct layout."""
    values = status_values(model)
    control = Control({k: values[k] for k in ("switch_3", "mode_2", "setpoint_1")})
    return [
        # action, bit region (2 bytes), 6 x uint8, 4 x uint16, 4 x uint32, 2 x uint16, 2 bytes
        ("status report, 30 points", StatusReport(values), struct.Struct(">B2s6B4H4I2HBB")),
        # action, 3 flag bytes (22 writable points), writable section: bits, 6 x uint8, 4 x uint16
        ("control, 3 of 30 points", control, struct.Struct(">B3s2s6B4H")),
    ]


def main() -> None:
    """Print one line per message and direction."""
    print_rates(__doc__, measure)


def measure(seconds: float) -> list[dict[str, Any]]:
    """Rates of the codec and the struct floor; one dict (and a printable text) per line."""
    model = ProductModel.from_json(product())
    assert len(model.points) == 30
    codec = P0Codec(model)
    lines = []
    for name, message, layout in cases(model):
        data = codec.encode(message)
        fields = layout.unpack(data)
        if layout.pack(*fields) != data:  # same bytes on both sides, or the ratio means nothing
            raise SystemExit(f"{name}: struct layout does not match {data.hex()}")
        pairs: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
            ("encode", lambda m=message: codec.encode(m), functools.partial(layout.pack, *fields)),
            ("decode", lambda d=data: codec.decode(d), functools.partial(layout.unpack, data)),
        ]
        for op, ours, floor in pairs:
            ours_rate, floor_rate = rate(ours, seconds), rate(floor, seconds)
            lines.append(
                {
                    "message": name,
                    "op": op,
                    "codec_per_s": ours_rate,
                    "struct_per_s": floor_rate,
                    "text": f"{name:<26} {op:<7} {ours_rate:>11,.0f} {floor_rate:>13,.0f} "
                    f"{floor_rate / ours_rate:>11.1f}x",
                }
            )
    return lines


if __name__ == "__main__":
    main()
