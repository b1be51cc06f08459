"""The device's LAN side: discovery, binding, login and passthrough for apps on the network.

Pure asyncio, no Home Assistant imports. One `LanServer` (TCP) and one `DiscoveryResponder`
(UDP) serve every device registered with the server.
"""

from .binding import DEFAULT_BINDING_DURATION, BindingWindow
from .codec import MAX_LAN_FRAME, LanMessage, LanStreamDecoder, decode_lan_frame, encode_lan_frame
from .device import LanDevice
from .discovery import (
    DEFAULT_BROADCAST_PORT,
    DEFAULT_DISCOVERY_PORT,
    DiscoveryResponder,
    send_startup_broadcasts,
)
from .errors import LanBindError, LanConfigError, LanError, LanPortInUseError
from .messages import (
    DEFAULT_API_SERVER,
    DEFAULT_GAGENT_VERSION,
    DeviceAnnouncement,
    DiscoveryReply,
    DiscoveryRequest,
    Heartbeat,
    HeartbeatReply,
    LanCommand,
    LoginReply,
    LoginRequest,
    ModuleInfo,
    ModuleInfoRequest,
    PasscodeReply,
    PasscodeRequest,
    StartupBroadcast,
)
from .ratelimit import LoginRateLimiter
from .server import (
    DEFAULT_HEARTBEAT_TIMEOUT,
    DEFAULT_LOGIN_TIMEOUT,
    DEFAULT_TCP_PORT,
    MAX_CLIENTS_PER_DEVICE,
    LanServer,
)
from .stats import LanStats
from .status_broadcast import StatusBroadcast, StatusBroadcaster

__all__ = [
    "DEFAULT_API_SERVER",
    "DEFAULT_BINDING_DURATION",
    "DEFAULT_BROADCAST_PORT",
    "DEFAULT_DISCOVERY_PORT",
    "DEFAULT_GAGENT_VERSION",
    "DEFAULT_HEARTBEAT_TIMEOUT",
    "DEFAULT_LOGIN_TIMEOUT",
    "DEFAULT_TCP_PORT",
    "MAX_CLIENTS_PER_DEVICE",
    "MAX_LAN_FRAME",
    "BindingWindow",
    "DeviceAnnouncement",
    "DiscoveryReply",
    "DiscoveryRequest",
    "DiscoveryResponder",
    "Heartbeat",
    "HeartbeatReply",
    "LanBindError",
    "LanCommand",
    "LanConfigError",
    "LanDevice",
    "LanError",
    "LanMessage",
    "LanPortInUseError",
    "LanServer",
    "LanStats",
    "LanStreamDecoder",
    "LoginRateLimiter",
    "LoginReply",
    "LoginRequest",
    "ModuleInfo",
    "ModuleInfoRequest",
    "PasscodeReply",
    "PasscodeRequest",
    "StartupBroadcast",
    "StatusBroadcast",
    "StatusBroadcaster",
    "decode_lan_frame",
    "encode_lan_frame",
    "send_startup_broadcasts",
]
