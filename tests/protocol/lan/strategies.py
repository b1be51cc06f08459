"""Hypothesis strategies producing valid LAN messages of every type (protocol.md §8)."""

from hypothesis import strategies as st

from custom_components.gizwits_device.protocol.lan import (
    DeviceAnnouncement,
    DiscoveryReply,
    DiscoveryRequest,
    Heartbeat,
    HeartbeatReply,
    LanMessage,
    LoginReply,
    LoginRequest,
    ModuleInfo,
    ModuleInfoRequest,
    PasscodeReply,
    PasscodeRequest,
    StartupBroadcast,
)
from tests.protocol.frame_strategies import FRAME_STRATEGIES, payloads

_ascii = st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=40)
_version = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=8, max_size=8)

announcements = st.builds(
    DeviceAnnouncement,
    did=_ascii,
    mac=st.binary(min_size=6, max_size=6),
    product_key=_ascii,
    wifi_firmware_version=_ascii,
    mcu_attributes=st.binary(min_size=8, max_size=8),
    api_server=_ascii,
    gagent_version=_ascii,
    mcu_soft_version=_ascii,
)

LAN_STRATEGIES: dict[type, st.SearchStrategy[LanMessage]] = {
    DiscoveryRequest: st.just(DiscoveryRequest()),
    DiscoveryReply: st.builds(DiscoveryReply, announcements),
    StartupBroadcast: st.builds(StartupBroadcast, announcements),
    PasscodeRequest: st.just(PasscodeRequest()),
    PasscodeReply: st.builds(PasscodeReply, st.binary(max_size=40)),
    LoginRequest: st.builds(LoginRequest, st.binary(max_size=40)),
    LoginReply: st.builds(LoginReply, st.booleans()),
    ModuleInfoRequest: st.just(ModuleInfoRequest()),
    ModuleInfo: st.builds(
        ModuleInfo,
        _ascii,
        _version,
        _version,
        _version,
        _version,
        _version,
        _ascii,
        st.binary(min_size=8, max_size=8),
    ),
    Heartbeat: st.just(Heartbeat()),
    HeartbeatReply: st.just(HeartbeatReply()),
}
# The passthrough commands are the cloud's frame classes (protocol.md §8: same frames).
for _cls, _strategy in FRAME_STRATEGIES.items():
    if _cls.__name__.endswith(("Passthrough", "PassthroughAck")):
        LAN_STRATEGIES[_cls] = _strategy  # type: ignore[assignment]

lan_messages: st.SearchStrategy[LanMessage] = st.one_of(*LAN_STRATEGIES.values())

__all__ = ["LAN_STRATEGIES", "announcements", "lan_messages", "payloads"]
