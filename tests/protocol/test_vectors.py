"""The integration's codecs against golden vectors from real firmware and devices.

protocol.md §3, §4 (frames), §5 (P0), §7 (GAgent's bytes), §8 (the PH-803W's LAN frames). Every
vector names its public source (tests/vectors); each must decode to the fields the source
documents and re-encode to exactly the same bytes: frames.py for cloud frames, protocol/lan for
the LAN frames (and the PH-803W passthrough frames, which were sniffed on its LAN port), p0.py
for P0 payloads.
"""

from typing import Any

import pytest

from custom_components.gizwits_device.protocol.frame_codec import decode_frame, encode_frame
from custom_components.gizwits_device.protocol.frame_fields import LengthError, UnknownCommandError
from custom_components.gizwits_device.protocol.frames import Frame
from custom_components.gizwits_device.protocol.lan import (
    DiscoveryReply,
    LanMessage,
    LoginReply,
    LoginRequest,
    PasscodeReply,
    decode_lan_frame,
    encode_lan_frame,
)
from custom_components.gizwits_device.protocol.p0 import P0Codec
from custom_components.gizwits_device.protocol.p0_messages import (
    Control,
    P0Message,
    ReadReply,
    ReadRequest,
    StatusReport,
    Value,
)
from custom_components.gizwits_device.protocol.product import ProductModel
from custom_components.gizwits_device.protocol.topics import SERVER_REQUEST_TOPIC
from tests.vectors import (
    Vector,
    frame_vectors,
    lan_vectors,
    p0_vectors,
    product_text,
    unhex,
    vector_value,
)

FRAMES = frame_vectors()
P0 = p0_vectors()
P0_BY_NAME = {v.name: v for v in P0}
LAN = lan_vectors()

_CODECS: dict[str, P0Codec] = {}


def codec(product: str) -> P0Codec:
    """P0 codec for a product in tests/vectors/products."""
    if product not in _CODECS:
        _CODECS[product] = P0Codec(ProductModel.from_json(product_text(product)))
    return _CODECS[product]


def _fields(frame: Frame) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in ("sn", "count", "firmware_type", "payload"):
        if hasattr(frame, name):
            value = getattr(frame, name)
            fields[name] = value.hex() if isinstance(value, bytes) else value
    return fields


def _expected_fields(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: unhex(v).hex() if k == "payload" else v for k, v in fields.items()}


def _message(kind: str, values: dict[str, Value] | None) -> P0Message:
    if kind == "ReadRequest":
        assert values is None
        return ReadRequest()
    assert values is not None
    cls = {"Control": Control, "ReadReply": ReadReply, "StatusReport": StatusReport}[kind]
    return cls({name: vector_value(value) for name, value in values.items()})


def _ids(vectors: list[Vector]) -> list[str]:
    return [v.name for v in vectors]


# --- frames -----------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", FRAMES, ids=_ids(FRAMES))
def test_frame_vector_decodes_to_its_fields(vector: Vector) -> None:
    expected = vector.expected["frame"]
    frame = decode_frame(vector.data)
    assert type(frame).__name__ == expected["type"]
    assert frame.command == int(expected["command"], 16)
    assert _fields(frame) == _expected_fields(expected["fields"])


@pytest.mark.parametrize("vector", FRAMES, ids=_ids(FRAMES))
def test_frame_vector_reencodes_byte_for_byte(vector: Vector) -> None:
    # Byte for byte, less the tail a cloud -> device short form may carry (protocol.md §3).
    assert encode_frame(decode_frame(vector.data)) == vector.canonical


CLOUD_PUSHES_WITH_TAIL = [v for v in FRAMES if "ignored" in v.expected]


@pytest.mark.parametrize("vector", CLOUD_PUSHES_WITH_TAIL, ids=_ids(CLOUD_PUSHES_WITH_TAIL))
def test_real_ota_check_push_with_a_tail_is_read(vector: Vector) -> None:
    # protocol.md §3: real 0x0211 pushes carry a u16 length + 22 characters after the firmware
    # type; GAgent (04020006, Mqtt_DispatchPublishPacket) reads only byte 6. Dropping the
    # frame as malformed would lose the push, so the tail is read past.
    assert vector.expected["frame"]["command"] == "0x0211"
    tail = unhex(vector.expected["ignored"])
    assert int.from_bytes(tail[:2]) == len(tail) - 2 == 22
    assert tail[2:].isascii()
    frame = decode_frame(vector.data)
    assert frame.command == 0x0211
    with pytest.raises(LengthError):  # a long form must still fill its length exactly
        decode_frame(_long_form(vector.data))


def _long_form(short: bytes) -> bytes:
    body = short[4:]
    return short[:4] + bytes([len(body) + 1, 0]) + body


@pytest.mark.parametrize(
    "vector",
    [v for v in FRAMES if "mqtt_publish" in v.expected],
    ids=_ids([v for v in FRAMES if "mqtt_publish" in v.expected]),
)
def test_vector_is_the_payload_of_its_mqtt_publish(vector: Vector) -> None:
    # The source's whole PUBLISH packet frames the vector: type 3 QoS 0, a one-byte remaining
    # length covering topic length + topic + payload, the topic the vector names.
    packet = unhex(vector.expected["mqtt_publish"])
    assert packet[0] == 0x30
    assert packet[1] == len(packet) - 2
    topic_len = int.from_bytes(packet[2:4])
    topic = packet[4 : 4 + topic_len].decode()
    assert topic.startswith(vector.expected["topic"].removesuffix("<DID>"))
    assert packet[4 + topic_len :] == vector.data


@pytest.mark.parametrize(
    "vector",
    [v for v in FRAMES if "p0" in v.expected],
    ids=_ids([v for v in FRAMES if "p0" in v.expected]),
)
def test_frame_payloads_are_the_p0_vectors_they_name(vector: Vector) -> None:
    # The frame's payload is byte for byte the P0 vector it names, for the same product.
    frame = decode_frame(vector.data)
    link = vector.expected["p0"]
    p0 = P0_BY_NAME[link["vector"]]
    assert p0.expected["product"] == link["product"]
    assert _fields(frame)["payload"] == p0.data.hex()


def test_gagent_online_apps_request_is_six_bytes_on_cli2ser_req() -> None:
    # protocol.md §4, §7: GAgent's Mqtt_ReqOnlineClient publishes exactly 00 00 00 03 02 0f.
    (vector,) = [v for v in FRAMES if v.expected["frame"]["command"] == "0x020f"]
    assert vector.origin == "firmware"
    assert vector.data == bytes.fromhex("00000003020f")
    # The session publishes OnlineAppsRequest on SERVER_REQUEST_TOPIC, as GAgent does.
    assert vector.expected["topic"] == SERVER_REQUEST_TOPIC


# --- P0 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", P0, ids=_ids(P0))
def test_p0_vector_decodes_to_its_values(vector: Vector) -> None:
    expected = _message(vector.expected["message"], vector.expected["values"])
    decoded = codec(vector.expected["product"]).decode(vector.data)
    assert decoded == expected
    if not isinstance(expected, ReadRequest):  # 205 stays an int, 7.32 a float, True a bool
        assert not isinstance(decoded, ReadRequest)
        assert _types(decoded.values) == _types(expected.values)


def _types(values: Any) -> dict[str, type]:
    return {name: type(value) for name, value in values.items()}


@pytest.mark.parametrize("vector", P0, ids=_ids(P0))
def test_p0_vector_reencodes_byte_for_byte(vector: Vector) -> None:
    product = codec(vector.expected["product"])
    assert product.encode(_message(vector.expected["message"], vector.expected["values"])) == (
        vector.data
    )
    assert product.encode(product.decode(vector.data)) == vector.data


def test_ph803w_read_reply_as_node_ph803w_reads_it() -> None:
    # node-ph803w's test expects ph 7.32, redox 205 mV and both switches on from these bytes.
    reply = codec("ph803w").decode(
        P0_BY_NAME["PH-803W read reply, pH 7.32, 205 mV, outputs on"].data
    )
    assert isinstance(reply, ReadReply)
    assert (reply.values["pH"], reply.values["mV"]) == (7.32, 205)
    assert reply.values["pH_OUT"] is True
    assert reply.values["mV_OUT"] is True


# --- LAN (protocol.md §8) ----------------------------------------------------------------------


def _lan_fields(message: LanMessage) -> dict[str, Any]:
    match message:
        case DiscoveryReply(announcement=a):
            return {
                "did": a.did,
                "mac": a.mac.hex(),
                "wifi_firmware_version": a.wifi_firmware_version,
                "product_key": a.product_key,
                "mcu_attributes": a.mcu_attributes.hex(),
                "api_server": a.api_server,
                "gagent_version": a.gagent_version,
                "mcu_soft_version": a.mcu_soft_version,
            }
        case PasscodeReply(passcode=passcode) | LoginRequest(passcode=passcode):
            return {"passcode": passcode.decode("ascii")}
        case LoginReply(accepted=accepted):
            return {"result": 0 if accepted else 1}  # GAgent: 00 ok, 01 refused
        case _:
            return {}


@pytest.mark.parametrize("vector", LAN, ids=_ids(LAN))
def test_lan_vector_decodes_and_reencodes(vector: Vector) -> None:
    message = decode_lan_frame(vector.data)
    assert message.command == int(vector.expected["command"], 16)
    assert _lan_fields(message) == vector.expected["fields"]
    assert encode_lan_frame(message) == vector.data


@pytest.mark.parametrize("vector", LAN, ids=_ids(LAN))
def test_lan_vectors_are_unknown_to_the_cloud_codec(vector: Vector) -> None:
    # Same long-form envelope (§3, §8): the cloud codec gets as far as the command and refuses
    # it with a typed error; one byte less breaks the length field first.
    command = int(vector.expected["command"], 16)
    with pytest.raises(UnknownCommandError, match=f"0x{command:04x}"):
        decode_frame(vector.data)
    with pytest.raises(LengthError):
        decode_frame(vector.data[:-1])


LAN_PASSTHROUGH = [v for v in FRAMES if v.source["repo"] == "Apollon77/node-ph803w"]


@pytest.mark.parametrize("vector", LAN_PASSTHROUGH, ids=_ids(LAN_PASSTHROUGH))
def test_ph803w_passthrough_frames_through_the_lan_codec(vector: Vector) -> None:
    # These were sniffed on the PH-803W's TCP port 12416: the LAN codec reads them as the cloud
    # codec does and writes them back unchanged.
    message = decode_lan_frame(vector.data)
    assert message == decode_frame(vector.data)
    assert encode_lan_frame(message) == vector.data
