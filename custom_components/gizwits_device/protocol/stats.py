"""Frame counters for diagnostics, shared by the M2M session's and the LAN service's stats."""

from collections import Counter
from dataclasses import dataclass, field, fields

__all__ = ["FrameStats"]


@dataclass(slots=True)
class FrameStats:
    """Frames in and out, and the dropped ones by reason; subclasses add their own counters."""

    frames_received: int = 0
    frames_sent: int = 0
    frames_dropped: int = 0
    dropped_reasons: Counter[str] = field(default_factory=Counter)

    def drop(self, reason: str) -> None:
        """Count one dropped frame (or datagram) under `reason`."""
        self.frames_dropped += 1
        self.dropped_reasons[reason] += 1

    def as_dict(self) -> dict[str, object]:
        """Plain data for diagnostics."""
        data: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        data["dropped_reasons"] = dict(self.dropped_reasons)
        return data
