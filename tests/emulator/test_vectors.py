"""The emulator's own wire code against the golden vectors (issue 12: an independent witness).

emulator/wire.py is written without the integration's frames.py, and
tests/protocol/test_vectors.py holds frames.py to the same bytes: both implementations must read
each real frame (GAgent's, a PH-803W's; sources in tests/vectors/frames.json) into the fields
its source documents and write it back byte for byte, so a framing mistake cannot pass
symmetrically; the LAN app simulator's wire code (emulator/lan.py) reads the PH-803W's LAN
frames the same way. protocol.md §3, §4, §7, §8.
"""

from typing import Any

import pytest

from emulator import lan, wire
from tests.vectors import Vector, frame_vectors, lan_vectors, unhex

FRAMES = frame_vectors()
IDS = [v.name for v in FRAMES]
LAN = lan_vectors()


def _fields(frame: wire.Frame) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in ("sn", "count", "firmware_type", "payload"):
        if hasattr(frame, name):
            value = getattr(frame, name)
            fields[name] = value.hex() if isinstance(value, bytes) else value
    return fields


@pytest.mark.parametrize("vector", FRAMES, ids=IDS)
def test_emulator_reads_each_vector(vector: Vector) -> None:
    expected = vector.expected["frame"]
    frame = wire.decode(vector.data)
    assert frame.cmd == int(expected["command"], 16)
    assert type(frame).__name__ == expected["type"]
    want = {k: unhex(v).hex() if k == "payload" else v for k, v in expected["fields"].items()}
    assert _fields(frame) == want


@pytest.mark.parametrize("vector", FRAMES, ids=IDS)
def test_emulator_writes_each_vector_back(vector: Vector) -> None:
    # Byte for byte, less the tail a cloud -> device short form may carry (protocol.md §3).
    assert wire.encode(wire.decode(vector.data)) == vector.canonical


def test_online_apps_request_form_and_topic_are_gagents() -> None:
    # GAgent's Mqtt_ReqOnlineClient: 00 00 00 03 02 0f, short form, published on cli2ser_req.
    (vector,) = [v for v in FRAMES if v.expected["frame"]["command"] == "0x020f"]
    assert wire.is_short_form(vector.data)
    assert wire.encode(wire.OnlineAppsRequest()) == vector.data
    assert vector.expected["topic"] == wire.CLI2SER_REQ


@pytest.mark.parametrize("vector", LAN, ids=[v.name for v in LAN])
def test_lan_app_reads_and_writes_each_lan_vector(vector: Vector) -> None:
    buffer = bytearray(vector.data)
    unpacked = lan.unpack(buffer)
    assert unpacked is not None
    command, body = unpacked
    assert buffer == b""  # exactly one frame
    assert command == int(vector.expected["command"], 16)
    assert lan.pack(command, body) == vector.data


@pytest.mark.parametrize(
    "vector", [v for v in LAN if v.expected["command"] == "0x0004"], ids=lambda v: v.name
)
def test_lan_app_reads_the_discovery_replies(vector: Vector) -> None:
    """The PH-803W's (two strings) and current firmware's (a third: the MCU soft version)."""
    unpacked = lan.unpack(bytearray(vector.data))
    assert unpacked is not None
    found = lan.parse_found(unpacked[1], ("127.0.0.1", 12414))
    fields = vector.expected["fields"]
    assert (found.did, found.mac, found.product_key) == (
        fields["did"],
        fields["mac"],
        fields["product_key"],
    )
    assert found.wifi_firmware_version == fields["wifi_firmware_version"]
    assert found.mcu_attributes.hex() == fields["mcu_attributes"]
    assert (found.api_server, found.gagent_version) == (
        fields["api_server"],
        fields["gagent_version"],
    )
    assert found.mcu_soft_version == fields["mcu_soft_version"]
