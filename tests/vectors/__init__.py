"""Golden vectors: bytes from public Gizwits firmware and public captures of real devices.

The data files here name their sources (repo, path, commit) and are shared by the tests of the
integration's codecs and of the emulator's own wire and P0 code, so that both are held to real
bytes:

- frames.json: device <-> cloud/app frames (0x020F, 0x0210, 0x0090/0x0091, 0x0093/0x0094),
- p0.json: P0 payloads of real products, keyed by the product file they follow,
- lan.json: LAN frames of a real PH-803W (discovery, passcode, login, heartbeat) and a
  current-firmware discovery reply,
- products/: real product definitions (SOURCES.json says where each comes from).
"""

from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any

VECTORS_DIR = Path(__file__).parent
PRODUCTS_DIR = VECTORS_DIR / "products"


def unhex(text: str) -> bytes:
    """Bytes from the files' hex notation: hex digits, spaces allowed, ``XX*N`` = N bytes XX."""
    out = bytearray()
    for token in text.split():
        byte, star, count = token.partition("*")
        out += bytes.fromhex(byte) * int(count) if star else bytes.fromhex(token)
    return bytes(out)


def vector_value(value: Any) -> Any:
    """A shown value from the files: ``{"hex": ...}`` is a binary point's bytes."""
    return unhex(value["hex"]) if isinstance(value, dict) else value


@dataclass(frozen=True, slots=True)
class Vector:
    """One vector: its bytes, where they come from, and what they decode to."""

    name: str
    data: bytes
    origin: str
    source: dict[str, str]
    expected: dict[str, Any]

    @property
    def canonical(self) -> bytes:
        """The bytes a codec writes back: ``data`` without the "ignored" tail, if any.

        Only cloud -> device short forms have one: bytes after the last field that a device
        reads past (protocol.md §3).
        """
        ignored = unhex(self.expected.get("ignored", ""))
        if not self.data.endswith(ignored):
            raise ValueError(f"{self.name}: 'ignored' is not the end of 'hex'")
        return self.data[: len(self.data) - len(ignored)]


def _load(file_name: str) -> list[Vector]:
    doc = json.loads((VECTORS_DIR / file_name).read_text(encoding="utf-8"))
    sources: dict[str, dict[str, str]] = doc["sources"]
    return [
        Vector(
            name=entry["name"],
            data=unhex(entry["hex"]),
            origin=entry["origin"],
            source=sources[entry["source"]],
            expected={
                k: v for k, v in entry.items() if k not in {"name", "hex", "origin", "source"}
            },
        )
        for entry in doc["vectors"]
    ]


def frame_vectors() -> list[Vector]:
    """frames.json; expected holds "frame" (command, type, fields) and optionally "p0"."""
    return _load("frames.json")


def p0_vectors() -> list[Vector]:
    """p0.json; expected holds "product", "message" and "values"."""
    return _load("p0.json")


def lan_vectors() -> list[Vector]:
    """lan.json; expected holds "command" and the body's "fields"."""
    return _load("lan.json")


def product_text(name: str) -> str:
    """A real product definition from products/ (sources in products/SOURCES.json)."""
    return (PRODUCTS_DIR / f"{name}.json").read_text(encoding="utf-8")
