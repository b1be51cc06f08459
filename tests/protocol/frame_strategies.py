"""Hypothesis strategies producing valid frames of every type (protocol.md §4)."""

from hypothesis import strategies as st

from custom_components.gizwits_device.protocol.frame_fields import MAX_URL, FirmwareType, LogLevel
from custom_components.gizwits_device.protocol.frames import (
    AckedPassthrough,
    AppPassthrough,
    DeviceLog,
    DevicePassthrough,
    Frame,
    LogLevelConfirm,
    OnlineAppCount,
    OnlineAppsRequest,
    OtaCheckNotification,
    OtaNotification,
    PassthroughAck,
    SetLogLevel,
)

u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
# Mostly small payloads for speed; the 65535-byte limit has explicit boundary tests.
payloads = st.binary(max_size=300)
# Any valid text, including CJK and 4-byte characters (no lone surrogates: not UTF-8 encodable).
texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=120)


def _fits(limit: int) -> st.SearchStrategy[str]:
    return texts.filter(lambda s: len(s.encode()) <= limit)


FRAME_STRATEGIES: dict[type, st.SearchStrategy[Frame]] = {
    AppPassthrough: st.builds(AppPassthrough, payloads),
    DevicePassthrough: st.builds(DevicePassthrough, payloads),
    AckedPassthrough: st.builds(AckedPassthrough, u32, payloads),
    PassthroughAck: st.builds(PassthroughAck, u32, payloads),
    SetLogLevel: st.builds(SetLogLevel, u16),
    LogLevelConfirm: st.just(LogLevelConfirm()),
    # DeviceLog truncates over-long strings itself, so any text is a valid argument.
    DeviceLog: st.builds(DeviceLog, st.sampled_from(LogLevel), texts, texts, texts),
    OtaNotification: st.builds(OtaNotification, st.sampled_from(FirmwareType), u32, _fits(MAX_URL)),
    OtaCheckNotification: st.builds(OtaCheckNotification, st.sampled_from(FirmwareType)),
    OnlineAppsRequest: st.just(OnlineAppsRequest()),
    OnlineAppCount: st.builds(OnlineAppCount, u16),
}

frames: st.SearchStrategy[Frame] = st.one_of(*FRAME_STRATEGIES.values())

__all__ = ["FRAME_STRATEGIES", "frames", "texts"]
