"""The library device without Home Assistant, against the emulator (protocol.md §2, §4, §5)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from custom_components.gizwits_device.protocol import (
    FirmwareType,
    GServiceClient,
    M2MSession,
    ProductModel,
    SessionTiming,
)
from custom_components.gizwits_device.protocol.device import (
    Device,
    DeviceIdentity,
    DeviceState,
    MemoryStore,
    PointValueError,
    check_value,
    from_json_value,
)
from custom_components.gizwits_device.protocol.mqtt_client import MqttClient
from emulator.p0 import Control, DataPointCodec, ReadReply, ReadRequest
from emulator.server import Emulator
from tests.conftest import PRODUCT_KEY
from tests.integration.bridge_helpers import P0App
from tests.integration.helpers import wait_until
from tests.products import PRODUCTS

DEFINITION = (PRODUCTS / "smart_plug.json").read_text(encoding="utf-8")
PRODUCT = ProductModel.from_json(DEFINITION)
# The apps speak P0 with the emulator's own codec (an independent witness).
CODEC = DataPointCodec.from_definition(DEFINITION)
PASSCODE = "ABCDEFGHIJ"
MAC = "0A1B2C3D4E60"
TIMING = SessionTiming(keepalive=2, connect_timeout=2.0, reconnect_jitter=0.0)


class FailingStore(MemoryStore):
    """A store whose saves fail (a full disk)."""

    async def save(self, data: Mapping[str, Any]) -> None:
        raise OSError("disk full")


async def _device(
    emulator: Emulator, http: aiohttp.ClientSession, store: MemoryStore, tmp_path: Path
) -> Device:
    registered = emulator.state.register(PRODUCT_KEY, MAC, PASSCODE)
    await emulator.settle()
    gservice = GServiceClient(http, emulator.gservice_url)
    session = M2MSession(
        gservice, did=registered.did, passcode=PASSCODE, product_key=PRODUCT_KEY, timing=TIMING
    )
    versions = dict.fromkeys(FirmwareType, "00000001")
    identity = DeviceIdentity(registered.did, PASSCODE, PRODUCT_KEY, versions, versions)
    return Device(
        session, gservice, identity, http=http, firmware_dir=tmp_path, product=PRODUCT, store=store
    )


@pytest.fixture
async def running(
    emulator: Emulator, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Device, MemoryStore, list[DeviceState]]]:
    """A started, logged-in device of the smart plug, its store and every state it told."""
    store = getattr(request, "param", None) or MemoryStore({"values": {"countdown": 30}})
    async with aiohttp.ClientSession() as http:
        device = await _device(emulator, http, store, tmp_path)
        states: list[DeviceState] = []
        device.add_listener(states.append)
        await device.start()
        task = asyncio.create_task(device.run())
        try:
            async with asyncio.timeout(10):
                await device.wait_connected()
            yield device, store, states
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await device.stop()


async def test_apps_control_and_read_the_devices_own_values(
    emulator: Emulator, running: tuple[Device, MemoryStore, list[DeviceState]]
) -> None:
    """§5: a control is applied by the device itself (no host), acked, reported to all apps,
    told to the listeners as a new frozen state and saved; a read is answered in the ack."""
    device, store, states = running
    assert device.state.values["countdown"] == 30  # restored from the store
    app = await emulator.app(device.identity.did)
    p0 = P0App(app, CODEC)
    assert await app.send_acked(CODEC.encode(Control({"switch": True}))) == b""
    assert (await p0.report(lambda v: v["switch"] is True))["switch"] is True
    assert states[-1].values["switch"] is True
    await wait_until(lambda: store.data is not None and store.data["values"]["switch"] is True)
    answer = await app.send_acked(CODEC.encode(ReadRequest()))
    assert answer is not None
    reply = CODEC.decode(answer)
    assert isinstance(reply, ReadReply)
    assert reply.values["switch"] is True

    # Out of range: refused, nothing changes, the apps get the current status.
    points = device.points
    assert points is not None
    payload = bytearray(CODEC.encode(Control({"countdown": 1})))
    payload[-2:] = (0xFFFF).to_bytes(2, "big")  # raw max is 1440
    assert await app.send_acked(bytes(payload)) == b""
    assert (await p0.report(lambda v: v["countdown"] == 30))["switch"] is True
    assert points.stats.rejected == 1
    await app.close()


async def test_values_set_on_the_devices_side_are_reported_paced(
    emulator: Emulator, running: tuple[Device, MemoryStore, list[DeviceState]]
) -> None:
    """§5 (MCU SDK): changes made on the device's side are coalesced into one report."""
    device, _store, _states = running
    app = await emulator.app(device.identity.did)
    points = device.points
    assert points is not None
    sent = points.stats.reports_sent
    assert device.set_values({"countdown": 40})
    assert device.set_values({"countdown": 50})
    assert not device.set_values({"countdown": 50})  # no change
    await wait_until(lambda: points.stats.reports_sent == sent + 1)
    assert (await P0App(app, CODEC).report(lambda v: v["countdown"] == 50))["switch"] is False
    await app.close()


async def test_a_status_goes_out_in_the_step_that_made_it(
    emulator: Emulator,
    running: tuple[Device, MemoryStore, list[DeviceState]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A report is written to the broker before report_now returns (no task in between);
    a client that cannot write at once still gets it out, and one that is gone drops it."""
    device, _store, _states = running
    app = await emulator.app(device.identity.did)
    p0 = P0App(app, CODEC)
    points = device.points
    assert points is not None
    await p0.report()  # the full report for the app that came online (§5)
    stats = device.session.stats
    sent = stats.frames_sent
    points.set_values({"countdown": 70}, report=False)
    points.report_now()
    assert stats.frames_sent == sent + 1  # already written, nothing awaited
    assert (await p0.report(lambda v: v["countdown"] == 70))["switch"] is False

    assert isinstance(device.session._client, MqttClient)
    # Like an aiomqtt without the direct publish's internals: the send is awaited in a task.
    monkeypatch.setattr(device.session, "send_passthrough_nowait", lambda _payload: False)
    points.set_values({"countdown": 71}, report=False)
    points.report_now()
    assert stats.frames_sent == sent + 1
    assert (await p0.report(lambda v: v["countdown"] == 71))["switch"] is False
    assert stats.frames_sent == sent + 2

    monkeypatch.setattr(device.session, "_client", None)  # the connection is gone
    points.set_values({"countdown": 72}, report=False)
    points.report_now()  # dropped quietly: the reconnect sends a full report
    assert stats.frames_sent == sent + 2
    await app.close()


@pytest.mark.parametrize("running", [FailingStore()], indirect=True)
async def test_a_store_that_fails_is_logged_and_the_device_goes_on(
    emulator: Emulator,
    running: tuple[Device, MemoryStore, list[DeviceState]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    device, _store, _states = running
    caplog.set_level(logging.ERROR)
    app = await emulator.app(device.identity.did)
    await app.set_log_level(3)
    await wait_until(lambda: "Could not save the Gizwits device's records" in caplog.text)
    assert device.state.log_level == 3
    assert device.connected
    await app.close()


async def test_a_device_without_a_product_has_no_values(emulator: Emulator, tmp_path: Path) -> None:
    async with aiohttp.ClientSession() as http:
        device = await _device(emulator, http, MemoryStore(), tmp_path)
    bare = Device(
        device.session,
        GServiceClient(http, emulator.gservice_url),
        device.identity,
        http=http,
        firmware_dir=tmp_path,
    )
    assert bare.points is None
    assert bare.state.values == {}
    with pytest.raises(LookupError):
        bare.set_values({"switch": True})


def test_values_are_checked_against_their_point() -> None:
    """Binary points take bytes of their length; stored hex that is not hex is refused."""
    binary = next(p for p in ProductModel.from_json(_BINARY).points)
    assert check_value(binary, b"\x01\x02") == b"\x01\x02"
    assert from_json_value(binary, "0102") == b"\x01\x02"
    with pytest.raises(PointValueError, match="not hex"):
        from_json_value(binary, "zz")
    with pytest.raises(PointValueError):
        check_value(binary, b"\x01")


_BINARY = {
    "name": "blob",
    "protocolType": "standard",
    "packetVersion": "0x00000004",
    "product_key": PRODUCT_KEY,
    "entities": [
        {
            "id": 0,
            "name": "entity0",
            "attrs": [
                {
                    "id": 0,
                    "name": "blob",
                    "display_name": "Blob",
                    "type": "status_writable",
                    "data_type": "binary",
                    "position": {"byte_offset": 0, "len": 2, "unit": "byte", "bit_offset": 0},
                }
            ],
        }
    ],
}


async def test_another_product_on_the_same_session(
    emulator: Emulator, running: tuple[Device, MemoryStore, list[DeviceState]]
) -> None:
    """§5: `set_product` swaps the points while logged in: no new login, the full status of
    the new product goes to the apps at once, values of points of the same name are kept,
    the store holds the new points; without a product the device has no values."""
    device, store, _ = running
    connects = device.session.stats.connects
    light_json = (
        Path(__file__).parents[2] / "custom_components/gizwits_device/products/dimmable_light.json"
    ).read_text(encoding="utf-8")
    light = ProductModel.from_json(light_json)
    # The app speaks P0 with the emulator's own codec.
    codec = DataPointCodec.from_definition(light_json)
    app = P0App(await emulator.app(device.identity.did), codec)
    device.set_product(light)
    assert device.points is not None
    assert set(device.state.values) == {p.name for p in light.points}
    assert set(await app.report()) == {p.name for p in light.points}
    answer = await app.app.send_acked(codec.encode(ReadRequest(None)))
    assert answer is not None
    reply = codec.decode(answer)
    assert isinstance(reply, ReadReply)
    assert set(reply.values) == {p.name for p in light.points}
    await wait_until(
        lambda: (
            store.data is not None and set(store.data["values"]) == {p.name for p in light.points}
        )
    )
    await app.app.close()

    # Back to the plug, its switch followed from outside: the light had no countdown (the
    # default), a value set then is kept by the next swap (same point, same name).
    device.set_product(PRODUCT, frozenset({"switch"}))
    assert device.points is not None
    assert device.points.followed == {"switch"}
    assert device.state.values["countdown"] == 0
    device.set_values({"countdown": 45}, report=False)
    device.set_product(PRODUCT)
    assert device.state.values["countdown"] == 45

    device.set_product(None)
    assert device.points is None
    assert device.state.values == {}
    assert device.session.stats.connects == connects
    assert device.connected
