"""Property tests of the LAN codec and the stream decoder (protocol.md §3, §6, §8)."""

import contextlib
import itertools

from hypothesis import given, strategies as st
import pytest

from custom_components.gizwits_device.protocol.frame_fields import FrameError
from custom_components.gizwits_device.protocol.lan import (
    MAX_LAN_FRAME,
    LanStreamDecoder,
    decode_lan_frame,
    encode_lan_frame,
)

from .strategies import LAN_STRATEGIES, lan_messages

_BODY_IGNORED = {0x0003, 0x0006, 0x0013, 0x0015}


@pytest.mark.parametrize("message_type", list(LAN_STRATEGIES), ids=lambda t: t.__name__)
@given(data=st.data())
def test_round_trip(message_type: type, data: st.DataObject) -> None:
    message = data.draw(LAN_STRATEGIES[message_type])
    raw = encode_lan_frame(message)
    assert decode_lan_frame(raw) == message
    assert raw[:4] == b"\x00\x00\x00\x03"


@given(messages=st.lists(lan_messages, max_size=8), cuts=st.lists(st.integers(0, 4000)))
def test_any_chunking_yields_the_same_frames(messages: list[object], cuts: list[int]) -> None:
    # protocol.md §8: TCP is a stream; frames are cut out whatever the read sizes.
    frames = [encode_lan_frame(m) for m in messages]  # type: ignore[arg-type]
    stream = b"".join(frames)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    decoder = LanStreamDecoder()
    out: list[bytes] = []
    for start, end in itertools.pairwise(points):
        decoder.feed(stream[start:end])
        while (raw := decoder.next_frame()) is not None:
            out.append(raw)
    assert out == frames
    assert [decode_lan_frame(raw) for raw in out] == messages
    assert decoder.buffered == 0


@given(chunks=st.lists(st.binary(max_size=200), max_size=20))
def test_garbage_only_raises_frame_errors_and_stays_bounded(chunks: list[bytes]) -> None:
    # protocol.md §6: any input is either frames or a typed error, never anything else.
    decoder = LanStreamDecoder(max_buffer=1024)
    try:
        for chunk in chunks:
            decoder.feed(chunk)
            while (raw := decoder.next_frame()) is not None:
                assert raw.startswith(b"\x00\x00\x00\x03")
                with contextlib.suppress(FrameError):
                    decode_lan_frame(raw)
            assert decoder.buffered <= 1024
    except FrameError:
        pass


@given(prefix=st.lists(lan_messages, max_size=3), noise=st.binary(min_size=1, max_size=50))
def test_frames_before_garbage_are_delivered(prefix: list[object], noise: bytes) -> None:
    frames = [encode_lan_frame(m) for m in prefix]  # type: ignore[arg-type]
    decoder = LanStreamDecoder()
    decoder.feed(b"".join(frames) + noise)
    out: list[bytes] = []
    try:
        while (raw := decoder.next_frame()) is not None:
            out.append(raw)
    except FrameError:
        pass
    assert out[: len(frames)] == frames
    assert decoder.buffered <= MAX_LAN_FRAME * 2


@given(data=st.binary(max_size=300))
def test_decode_lan_frame_raises_only_frame_errors(data: bytes) -> None:
    try:
        message = decode_lan_frame(data)
    except FrameError:
        return
    # Whatever decodes re-encodes to the same bytes, except requests whose body is ignored.
    if message.command not in _BODY_IGNORED:
        assert encode_lan_frame(message) == data


@given(message=lan_messages, flip=st.integers(0, 10_000), value=st.integers(0, 255))
def test_mutated_frames_raise_only_frame_errors(message: object, flip: int, value: int) -> None:
    raw = bytearray(encode_lan_frame(message))  # type: ignore[arg-type]
    raw[flip % len(raw)] = value
    with contextlib.suppress(FrameError):
        decode_lan_frame(bytes(raw))
