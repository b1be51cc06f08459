"""The library's exception root: every error it raises is a `GizwitsError`.

Each module adds its own typed branch (frames, P0, product definitions, GService, M2M session,
firmware download, LAN). `GizwitsValueError` is for arguments a caller passed that fail
validation (a MAC, DID, passcode, product key, version or URL); it is also a `ValueError`.
"""

from __future__ import annotations


class GizwitsError(Exception):
    """Root of every error raised by this library."""


class GizwitsValueError(GizwitsError, ValueError):
    """An argument failed validation (bad MAC, DID, passcode, product key, version, URL …)."""


__all__ = ["GizwitsError", "GizwitsValueError"]
