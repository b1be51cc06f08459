"""Errors of the LAN service (frame errors are the shared FrameError family)."""

from ..errors import GizwitsError

__all__ = ["LanBindError", "LanConfigError", "LanError", "LanPortInUseError"]


class LanError(GizwitsError):
    """Root of the LAN service's own errors."""


class LanConfigError(LanError):
    """A device cannot be served as configured (e.g. its DID or passcode is already served)."""


class LanBindError(LanError):
    """A socket could not be bound."""

    def __init__(self, transport: str, host: str | None, port: int, reason: str) -> None:
        self.transport = transport
        self.host = host
        self.port = port
        super().__init__(f"cannot listen on {transport} port {port} ({host or 'all'}): {reason}")


class LanPortInUseError(LanBindError):
    """The port is already used by another program (or another instance)."""
