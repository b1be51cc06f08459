"""What the LAN service needs to know about one device it serves."""

from dataclasses import dataclass, field

from ..commands import CommandRunner
from .binding import BindingWindow
from .messages import DeviceAnnouncement, ModuleInfo

__all__ = ["LanDevice"]


@dataclass(slots=True, eq=False)
class LanDevice:
    """One device served on the LAN: identity, passcode, binding window and command runner.

    `commands` is the device's one CommandRunner: pass the M2M session's (`session.commands`)
    so LAN and cloud commands reach the same handler. LAN commands arrive as AppCommand with
    source LAN and the client's "host:port" as app client id; the answer goes to the asking
    client only (inside the 0x0094 for a 0x0093, as a 0x0091 for a 0x0090).
    """

    announcement: DeviceAnnouncement
    passcode: str
    commands: CommandRunner = field(default_factory=CommandRunner)
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
