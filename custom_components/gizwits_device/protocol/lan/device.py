"""What the LAN service needs to know about one device it serves, and how it hands on commands."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import ClassVar

from .binding import BindingWindow
from .messages import DeviceAnnouncement, ModuleInfo

__all__ = ["LanAppCommand", "LanCommandHandler", "LanDevice"]


@dataclass(frozen=True, slots=True)
class LanAppCommand:
    """A passthrough command from a logged-in LAN app.

    `sn` is the 0x0093 serial number, None for a 0x0090. `client` is the app's "host:port".
    """

    transport: ClassVar[str] = "lan"
    did: str
    client: str
    sn: int | None
    payload: bytes


# Returns the device's direct answer to the command (e.g. a P0 read reply), or None. The
# answer goes to the asking client only: as 0x0091 for a 0x0090, inside the 0x0094 for a
# 0x0093 (protocol rulings on 0x0094; a 0x0093 without an answer gets an empty 0x0094).
type LanCommandHandler = Callable[[LanAppCommand], Awaitable[bytes | None]]


@dataclass(slots=True, eq=False)
class LanDevice:
    """One device served on the LAN: identity, passcode, binding window and command handler."""

    announcement: DeviceAnnouncement
    passcode: str
    handler: LanCommandHandler
    module_info: ModuleInfo | None = None
    binding: BindingWindow = field(default_factory=BindingWindow)

    def __post_init__(self) -> None:
        if self.module_info is None:
            self.module_info = ModuleInfo(self.announcement.product_key)

    @property
    def did(self) -> str:
        """The device's DID (a secret in logs)."""
        return self.announcement.did

    @property
    def passcode_bytes(self) -> bytes:
        """The passcode as sent on the wire."""
        return self.passcode.encode()
