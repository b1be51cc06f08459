"""The emulator's P0 codec and the integration's agree, byte for byte, on random values.

Both are written apart and held to the golden vectors (tests/vectors/p0.json); this property
widens that to every value of every product the tests use, in both directions: what one
encodes the other encodes identically and reads back to the same shown values (same types).
It is the one place that imports both codecs; the emulator itself never imports the
integration (tests/emulator/test_wire.py). protocol.md §5.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st

from custom_components.gizwits_device.protocol import p0_messages as theirs
from custom_components.gizwits_device.protocol.p0 import P0Codec
from custom_components.gizwits_device.protocol.product import ProductModel
from emulator import p0 as ours

from .p0_products import CODECS, DEFINITIONS, names, some_values, status_values

THEIRS = {name: P0Codec(ProductModel.from_json(d)) for name, d in DEFINITIONS.items()}


def _theirs(message: ours.P0Message) -> theirs.P0Message:
    match message:
        case ours.Control(values=values):
            return theirs.Control(values)
        case ours.ReadReply(values=values):
            return theirs.ReadReply(values)
        case ours.StatusReport(values=values):
            return theirs.StatusReport(values)
        case ours.ReadRequest(names=names):
            return theirs.ReadRequest(names)
    raise AssertionError(message)


def _shown(message: Any) -> tuple[str, dict[str, tuple[type, Any]]]:
    """Kind and values (with their types) of either codec's message."""
    values = getattr(message, "values", None)
    if values is None:
        return type(message).__name__, {name: (str, name) for name in message.names or ()}
    return type(message).__name__, {k: (type(v), v) for k, v in values.items()}


def _agree(name: str, message: ours.P0Message) -> None:
    mine, other = CODECS[name], THEIRS[name]
    payload = mine.encode(message)
    assert other.encode(_theirs(message)) == payload
    assert _shown(other.decode(payload)) == _shown(mine.decode(payload)) == _shown(message)


@given(st.data())
def test_statuses_agree(data: st.DataObject) -> None:
    name = data.draw(names)
    values = data.draw(status_values(CODECS[name].product))
    _agree(name, ours.StatusReport(values))
    _agree(name, ours.ReadReply(values))


@given(st.data())
def test_controls_agree(data: st.DataObject) -> None:
    name = data.draw(names)
    _agree(name, ours.Control(data.draw(some_values(CODECS[name].product.writable))))


@given(st.data())
def test_variable_length_reads_agree(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([n for n, c in CODECS.items() if c.product.variable_length]))
    points = CODECS[name].product.points
    chosen = data.draw(st.lists(st.sampled_from(points), unique=True))
    asked = tuple(p.name for p in points if p in chosen)
    _agree(name, ours.ReadRequest(asked))
    assert CODECS[name].encode(ours.ReadRequest()) == THEIRS[name].encode(theirs.ReadRequest())


@given(st.data())
def test_both_accept_and_refuse_the_same_bytes(data: st.DataObject) -> None:
    """§6: on arbitrary bytes after a known action both decode to the same message or both
    refuse them."""
    name = data.draw(names)
    product = CODECS[name].product
    actions = [0x11, 0x12, 0x13, 0x14] if product.variable_length else [0x01, 0x02, 0x03, 0x04]
    # Mostly the sizes a fixed-length product expects, so that values, not lengths, are tested.
    exact = [0, product.status_bytes, -(-len(product.writable) // 8) + product.control_bytes]
    size = data.draw(st.sampled_from(exact) | st.integers(0, product.status_bytes + 6))
    payload = bytes([data.draw(st.sampled_from(actions))]) + data.draw(
        st.binary(min_size=size, max_size=size)
    )
    try:
        mine: Any = _shown(CODECS[name].decode(payload))
    except ours.P0Error:
        mine = "refused"
    try:
        other: Any = _shown(THEIRS[name].decode(payload))
    except theirs.P0Error:
        other = "refused"
    assert mine == other
