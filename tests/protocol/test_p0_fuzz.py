"""Property tests for the P0 codec (protocol.md §5, §6): round trips and decoder fuzzing."""

from decimal import Decimal

from hypothesis import given, settings, strategies as st

from custom_components.gizwits_device.protocol.p0 import P0Codec
from custom_components.gizwits_device.protocol.p0_messages import (
    Control,
    Direction,
    P0Error,
    P0Message,
    ReadReply,
    ReadRequest,
    StatusReport,
    TransparentData,
    Value,
)
from custom_components.gizwits_device.protocol.product import (
    Access,
    DataPoint,
    DataType,
    ProductModel,
    Unit,
)

from .p0_models import models

CODECS = {name: P0Codec(model) for name, model in models().items()}
codec_names = st.sampled_from(sorted(CODECS))


def value_for(point: DataPoint) -> st.SearchStrategy[Value]:
    """Any valid shown value of ``point``."""
    if point.data_type is DataType.BOOL:
        return st.booleans()
    if point.data_type is DataType.ENUM:
        return st.sampled_from(point.options)
    if point.data_type is DataType.BINARY:
        return st.binary(min_size=point.length, max_size=point.length)
    assert point.minimum is not None
    assert point.maximum is not None
    return st.integers(point.minimum, point.maximum).map(point.to_shown)


def values_for(
    points: tuple[DataPoint, ...], *, every: bool
) -> st.SearchStrategy[dict[str, Value]]:
    """Values for all of ``points`` (every=True) or any subset."""
    chosen = (
        st.just(points)
        if every
        else st.lists(st.sampled_from(points), unique=True).map(tuple)
        if points
        else st.just(())
    )
    return chosen.flatmap(lambda pts: st.fixed_dictionaries({p.name: value_for(p) for p in pts}))


@st.composite
def messages(draw: st.DrawFn, codec: P0Codec) -> P0Message:
    """Any message ``codec`` can encode."""
    model = codec.model
    kind = draw(st.sampled_from(["control", "read", "reply", "report", "transparent"]))
    if kind == "control":
        return Control(draw(values_for(model.writable, every=False)))
    if kind == "read":
        if not model.variable_length:
            return ReadRequest()
        names = draw(st.lists(st.sampled_from([p.name for p in model.points]), unique=True))
        return ReadRequest(tuple(p.name for p in model.points if p.name in names))
    if kind == "transparent":
        return TransparentData(draw(st.sampled_from(Direction)), draw(st.binary(max_size=64)))
    values = draw(values_for(model.points, every=not model.variable_length))
    return ReadReply(values) if kind == "reply" else StatusReport(values)


@given(st.data())
def test_round_trip(data: st.DataObject) -> None:
    # protocol.md §5: encode -> decode gives the same message, for every product and action.
    codec = CODECS[data.draw(codec_names)]
    message = data.draw(messages(codec))
    payload = codec.encode(message)
    assert codec.decode(payload) == message
    assert codec.encode(codec.decode(payload)) == payload


@given(st.data())
def test_decoder_fuzz_random_bytes(data: st.DataObject) -> None:
    # protocol.md §6: untrusted bytes give a message or a P0Error (a ValueError), nothing else.
    codec = CODECS[data.draw(codec_names)]
    payload = data.draw(st.binary(max_size=40))
    _decode_or_p0_error(codec, payload)


@settings(max_examples=300)
@given(st.data())
def test_decoder_fuzz_mutated_valid_payloads(data: st.DataObject) -> None:
    # Start from a valid payload, then flip, cut or extend it (protocol.md §6).
    codec = CODECS[data.draw(codec_names)]
    payload = bytearray(codec.encode(data.draw(messages(codec))))
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "extend", "action"]))
        if op == "flip" and payload:
            index = data.draw(st.integers(0, len(payload) - 1))
            payload[index] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "cut":
            del payload[data.draw(st.integers(0, len(payload))) :]
        elif op == "extend":
            payload += data.draw(st.binary(min_size=1, max_size=4))
        elif payload:
            payload[0] = data.draw(
                st.sampled_from([0x01, 0x02, 0x03, 0x04, 0x11, 0x12, 0x13, 0x14])
            )
    _decode_or_p0_error(codec, bytes(payload))


def _decode_or_p0_error(codec: P0Codec, payload: bytes) -> None:
    try:
        message = codec.decode(payload)
    except P0Error:
        return
    # Whatever decodes re-encodes to something that decodes to the same message.
    assert codec.decode(codec.encode(message)) == message


RATIOS = [1, 2, 0.5, 0.1, 0.01, 0.001, 0.3, 0.25, 10]
ADDITIONS = [0, 5, -13, -100, 2700, 0.5, -20.25]


@given(
    st.sampled_from(RATIOS),
    st.sampled_from(ADDITIONS),
    st.integers(0, 0xFFFFFFFF),
)
def test_scaling_round_trip(ratio: float, addition: float, raw: int) -> None:
    # protocol.md §5 / [GOKIT] X2Y, Y2X: raw -> shown -> raw is exact for any scale.
    point = DataPoint(
        id=0,
        name="p",
        display_name="p",
        description="",
        data_type=DataType.UINT32,
        access=Access.READONLY,
        byte_offset=0,
        bit_offset=0,
        length=4,
        unit=Unit.BYTE,
        minimum=0,
        maximum=0xFFFFFFFF,
        ratio=ratio,
        addition=addition,
    )
    shown = point.to_shown(raw)
    assert point.to_raw(shown) == raw
    expected = Decimal(raw) * Decimal(str(ratio)) + Decimal(str(addition))
    assert Decimal(str(shown)) == expected


def test_every_product_is_exercised() -> None:
    assert set(CODECS) == {
        "smart_plug",
        "dimmable_light",
        "pet_house",
        "wide_bits",
        "boiler",
        "tree18_light",
        "ph803w",
        "clearlight",
    }
    assert isinstance(CODECS["boiler"].model, ProductModel)
