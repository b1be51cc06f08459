"""The identity the config flow proposes for a new device (passcode, MAC); a URL's region;
the part of an entry's data its session depends on."""

from __future__ import annotations

from collections.abc import Mapping
import hashlib
import secrets
import string
from typing import Any

from .const import CONF_AUTO_TITLE, DOMAIN, LAN_PASSCODE_LENGTH, REGION_CUSTOM, SOFT_VERSION_KEYS
from .protocol import REGIONS

PASSCODE_LENGTH = LAN_PASSCODE_LENGTH
# GAgent's passcodes are 10 capital letters; LAN apps expect exactly that shape.
_PASSCODE_ALPHABET = string.ascii_uppercase


def generate_passcode() -> str:
    """A fresh device passcode: 10 letters A-Z, as GAgent makes after every reset."""
    return "".join(secrets.choice(_PASSCODE_ALPHABET) for _ in range(PASSCODE_LENGTH))


def derive_mac(instance: str, index: int) -> str:
    """A stable, locally administered unicast MAC for the `index`-th device of this HA."""
    digest = bytearray(hashlib.sha256(f"{DOMAIN}:{instance}:{index}".encode()).digest()[:6])
    # Locally administered (bit 1 set), unicast (bit 0 clear): never a vendor's address.
    digest[0] = (digest[0] & 0xFC) | 0x02
    return digest.hex().upper()


def region_of(base_url: str) -> str:
    """The region whose URL `base_url` is, else `custom`."""
    for region, url in REGIONS.items():
        if url == base_url:
            return region
    return REGION_CUSTOM


def session_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """The entry data a running session is built from: a change needs a reload.

    The soft versions are not part of it: confirming a flashed firmware changes them live; nor
    is the title the integration chose (naming.py), which follows a product changed live.
    """
    live = {*SOFT_VERSION_KEYS.values(), CONF_AUTO_TITLE}
    return {key: value for key, value in data.items() if key not in live}
