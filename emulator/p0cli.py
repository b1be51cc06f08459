"""P0 helpers for the CLI: load a product file, parse `name=value` arguments, show messages."""

from __future__ import annotations

import argparse
from pathlib import Path

from emulator.p0 import (
    Control,
    DataPointCodec,
    P0Message,
    ReadReply,
    ReadRequest,
    StatusReport,
    Transparent,
    Value,
)
from emulator.product import ProductError

_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"0", "false", "off", "no"}


class P0CliError(ValueError):
    """A bad product file or `name=value` argument (message for the user)."""


def load_codec(path: str) -> DataPointCodec:
    """The codec for a product definition file (a Gizwits console JSON export)."""
    try:
        return DataPointCodec.from_definition(Path(path).read_bytes())
    except OSError as err:
        raise P0CliError(f"cannot read {path}: {err}") from err
    except ProductError as err:
        raise P0CliError(f"{path}: {err}") from err


def optional_codec(args: argparse.Namespace) -> DataPointCodec | None:
    """The codec of the `--product FILE` given on the command line, or None without one."""
    product: str | None = getattr(args, "product", None)
    return None if product is None else load_codec(product)


def parse_assignments(codec: DataPointCodec, items: list[str]) -> dict[str, Value]:
    """`name=value` arguments as shown values (bool on/off, enum option or index, hex binary)."""
    values: dict[str, Value] = {}
    product = codec.product
    for item in items:
        name, sep, text = item.partition("=")
        if not sep:
            raise P0CliError(f"expected name=value, got {item!r}")
        point = product.point(name)
        if point is None:
            names = ", ".join(p.name for p in product.points)
            raise P0CliError(f"no data point {name!r} (have: {names})")
        if point.kind == "bool":
            if text.lower() not in _TRUE | _FALSE:
                raise P0CliError(f"{name}: expected on/off, got {text!r}")
            values[name] = text.lower() in _TRUE
        elif point.kind == "enum":
            if text not in point.options and text.isdigit() and int(text) < len(point.options):
                text = point.options[int(text)]
            values[name] = text
        elif point.kind == "binary":
            try:
                values[name] = bytes.fromhex(text)
            except ValueError as err:
                raise P0CliError(f"{name}: expected hex, got {text!r}") from err
        else:
            try:
                number = float(text)
            except ValueError as err:
                raise P0CliError(f"{name}: expected a number, got {text!r}") from err
            values[name] = int(number) if number.is_integer() and point.whole_numbers else number
    return values


def format_message(message: P0Message) -> str:
    """`Kind name=value ...` for one decoded P0 message."""
    match message:
        case Control(values=values) | ReadReply(values=values) | StatusReport(values=values):
            shown = " ".join(
                f"{k}={v.hex() if isinstance(v, bytes) else v}" for k, v in values.items()
            )
            return f"{type(message).__name__} {shown}".rstrip()
        case ReadRequest(names=names):
            return f"ReadRequest {' '.join(names or ())}".rstrip()
        case Transparent(action=action, data=data):
            return f"Transparent 0x{action:02x} {data.hex(' ')}"
