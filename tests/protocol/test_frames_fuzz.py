"""Property tests: frame round trips and decoder fuzzing (protocol.md §3, §4, §6)."""

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.gizwits_device.protocol import DeviceLog, FrameError, LogLevel
from custom_components.gizwits_device.protocol.frame_codec import HEADER, decode_frame, encode_frame
from custom_components.gizwits_device.protocol.frame_fields import MAX_SOURCE, MAX_TAG
from custom_components.gizwits_device.protocol.frames import Frame

from .frame_strategies import FRAME_STRATEGIES, frames, texts


@pytest.mark.parametrize("frame_type", list(FRAME_STRATEGIES), ids=lambda t: t.__name__)
@pytest.mark.parametrize("short_form", [None, False, True])
@given(data=st.data())
def test_round_trip(frame_type: type, short_form: bool | None, data: st.DataObject) -> None:
    frame = data.draw(FRAME_STRATEGIES[frame_type])
    encoded = encode_frame(frame, short_form=short_form)
    assert decode_frame(encoded) == frame
    # protocol.md §3: a long form's fifth byte (its length's first byte) is never 0-2.
    assert (encoded[4] <= 2) == (
        short_form is True or (short_form is None and frame.command > 0x0200)
    )


@given(text=texts)
def test_truncation_is_longest_whole_character_prefix(text: str) -> None:
    # protocol.md §4: truncate at a UTF-8 character boundary, never split a character.
    log = DeviceLog(LogLevel.INFO, text, "", "")
    source = DeviceLog(LogLevel.INFO, "", text, "").source
    for original, result, cap in ((text, log.tag, MAX_TAG), (text, source, MAX_SOURCE)):
        assert original.startswith(result)
        assert len(result.encode()) <= cap
        if result != original:  # the next whole character would not have fitted
            assert len(original[: len(result) + 1].encode()) > cap


# protocol.md §3: the cloud -> device short forms, which may carry ignored trailing bytes.
CLOUD_SHORT_FORMS = {0x020E, 0x0210, 0x0211}


def _check(data: bytes) -> Frame | None:
    """Decode; only a Frame or a FrameError is allowed. Accepted input must be canonical."""
    try:
        frame = decode_frame(data)
    except FrameError:
        return None
    # Every accepted frame re-encodes to exactly the bytes received, in the form received
    # (minimal varints, flag 0, and a short form ending where its last field ends), except
    # the bytes a cloud -> device short form may carry after its last field (protocol.md §3).
    short_form = data[4] <= 2
    encoded = encode_frame(frame, short_form=short_form)
    if encoded != data:
        assert short_form
        assert frame.command in CLOUD_SHORT_FORMS
        assert data.startswith(encoded)
    return frame


@settings(max_examples=500)
@given(st.binary(max_size=64))
def test_fuzz_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=1000)
@given(st.binary(max_size=64))
def test_fuzz_after_header(rest: bytes) -> None:
    _check(HEADER + rest)


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    data = bytearray(encode_frame(draw(frames), short_form=draw(st.booleans())))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "insert", "delete", "cut", "append"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data.insert(pos, draw(st.integers(0, 255)))
        elif op == "delete" and data:
            del data[pos]
        elif op == "cut":
            del data[pos:]
        elif op == "append":
            data += draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@settings(max_examples=2000)
@given(mutated_frames())
def test_fuzz_mutated_frames(data: bytes) -> None:
    _check(data)
