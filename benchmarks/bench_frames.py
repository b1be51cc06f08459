"""Frame codec throughput vs `struct` packing/unpacking the very same bytes.

    python -m benchmarks.bench_frames [--seconds 0.2]

The baseline knows each frame's layout in advance and neither validates nor builds a frame
object, so it is a floor, not a competitor: the ratio shows what the codec's generality and
checks cost. Informational only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
import struct
import timeit
from typing import Any

from custom_components.gizwits_device.protocol.frame_codec import decode_frame, encode_frame
from custom_components.gizwits_device.protocol.frames import (
    AckedPassthrough,
    DevicePassthrough,
    Frame,
    OnlineAppCount,
    PassthroughAck,
    SetLogLevel,
)


@dataclass(frozen=True, slots=True)
class Case:
    """One frame and a struct layout producing the same bytes."""

    name: str
    frame: Frame
    encode: Callable[[], bytes]
    decode: Callable[[bytes], object]


type Pair = tuple[Callable[[], bytes], Callable[[bytes], object]]


def _long_form(command: int, fields: str, *values: object, payload: bytes = b"") -> Pair:
    """struct encode/decode of a long form: header, varint, flag, command, fields, payload."""
    length = 3 + struct.calcsize(">" + fields) + len(payload)
    varint = bytearray()
    while True:  # computed once here: the baseline gets its length field for free
        byte, length = length & 0x7F, length >> 7
        varint.append(byte | (0x80 if length else 0))
        if not length:
            break
    layout = struct.Struct(f">4s{len(varint)}sBH{fields}")
    head = (b"\x00\x00\x00\x03", bytes(varint), 0, command)
    size = layout.size

    def encode() -> bytes:
        return layout.pack(*head, *values) + payload

    def decode(data: bytes) -> object:
        return layout.unpack_from(data), data[size:]

    return encode, decode


def _short_form(command: int, fields: str, *values: object) -> Pair:
    """struct encode/decode of a short form: header, command, fields."""
    layout = struct.Struct(f">4sH{fields}")

    def encode() -> bytes:
        return layout.pack(b"\x00\x00\x00\x03", command, *values)

    return encode, layout.unpack


def cases() -> list[Case]:
    """The frames measured: the hot passthrough ones, small and large, and a short form."""
    small, large = bytes(range(16)), bytes(1024)
    table: list[tuple[str, Frame, Pair]] = [
        ("0x0093 sn + 16 B", AckedPassthrough(7, small), _long_form(0x93, "I", 7, payload=small)),
        ("0x0094 ack (sn)", PassthroughAck(7), _long_form(0x94, "I", 7)),
        ("0x0091 1 KiB", DevicePassthrough(large), _long_form(0x91, "", payload=large)),
        ("0x0010 log level", SetLogLevel(0x0103), _long_form(0x10, "H", 0x0103)),
        ("0x0210 short form", OnlineAppCount(3), _short_form(0x0210, "H", 3)),
    ]
    return [Case(name, frame, enc, dec) for name, frame, (enc, dec) in table]


def rate(func: Callable[[], object], seconds: float) -> float:
    """Calls per second: the best of 5 runs of about `seconds` each (best = least disturbed)."""
    timer = timeit.Timer(func)
    number, _ = timer.autorange()
    number = max(1, int(number * seconds / 0.2))
    best = min(timer.repeat(repeat=5, number=number))
    return number / best


def measure(seconds: float) -> list[dict[str, Any]]:
    """Rates of the codec and the struct floor; one dict (and a printable text) per line."""
    lines = []
    for case in cases():
        data = encode_frame(case.frame)
        if case.encode() != data:  # same bytes on both sides, or the ratio means nothing
            raise SystemExit(f"{case.name}: struct gives {case.encode().hex()}, not {data.hex()}")
        frame = case.frame
        for op, codec, baseline in (
            ("encode", lambda f=frame: encode_frame(f), case.encode),
            ("decode", lambda d=data: decode_frame(d), lambda d=data, c=case: c.decode(d)),
        ):
            ours, theirs = rate(codec, seconds), rate(baseline, seconds)
            lines.append(
                {
                    "frame": case.name,
                    "op": op,
                    "codec_per_s": ours,
                    "struct_per_s": theirs,
                    "text": f"{case.name:<26} {op:<7} {ours:>11,.0f} {theirs:>13,.0f} "
                    f"{theirs / ours:>11.1f}x",
                }
            )
    return lines


HEADER = f"{'message':<26} {'op':<7} {'codec ops/s':>11} {'struct ops/s':>13} {'struct/codec':>12}"


def print_rates(doc: str, measure: Callable[[float], list[dict[str, Any]]]) -> None:
    """The command line of this benchmark and bench_p0: one line per case and direction."""
    parser = argparse.ArgumentParser(description=doc.split("\n", maxsplit=1)[0])
    parser.add_argument("--seconds", type=float, default=0.2, help="length of one timing run")
    args = parser.parse_args()
    print(HEADER)
    for line in measure(args.seconds):
        print(line["text"])


def main() -> None:
    """Print one line per frame and direction."""
    print_rates(__doc__, measure)


if __name__ == "__main__":
    main()
