"""The emulator's LAN app (its own wire code) against the integration's LAN library.

Loopback only, free ports (protocol.md §8). The device side is the library's LanServer and
DiscoveryResponder with a small P0 device behind the command handler.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
import socket
import sys

import pytest

from custom_components.gizwits_device.protocol.commands import AppCommand, CommandRunner
from custom_components.gizwits_device.protocol.lan import (
    DeviceAnnouncement,
    DiscoveryResponder,
    LanDevice,
    LanServer,
    StatusBroadcaster,
)
from emulator.__main__ import main
from emulator.lan import LanApp, LanAppError, discover
from emulator.p0 import (
    Control,
    DataPointCodec,
    ReadReply,
    ReadRequest,
    StatusReport,
    Value,
)
from emulator.p0cli import load_codec

REPO = Path(__file__).resolve().parents[2]
PRODUCT = REPO / "custom_components" / "gizwits_device" / "products" / "smart_plug.json"
HOST = "127.0.0.1"
DID = "LanAppTestDid00000000A"
MAC = bytes.fromhex("5ccf7f112233")
PASSCODE = "QWERTYUIOP"


@dataclass
class PlugDevice:
    """A P0 smart plug: answers reads, applies controls and reports to all LAN apps."""

    codec: DataPointCodec
    server: LanServer | None = None
    values: dict[str, Value] = field(
        default_factory=lambda: {
            "switch": False,
            "countdown": 0,
            "power": 12,
            "energy": 345,
            "overload": False,
        }
    )
    commands: list[AppCommand] = field(default_factory=list)

    async def handle(self, command: AppCommand) -> bytes | None:
        self.commands.append(command)
        message = self.codec.decode(command.payload)
        if isinstance(message, ReadRequest):
            return self.codec.encode(ReadReply(dict(self.values)))
        if isinstance(message, Control):
            self.values.update(message.values)
            assert self.server is not None
            report = self.codec.encode(StatusReport(dict(self.values)))
            self.server.send_to_all(DID, report)
        return None


@dataclass
class Lan:
    server: LanServer
    responder: DiscoveryResponder
    device: LanDevice
    plug: PlugDevice


@pytest.fixture
async def lan(socket_enabled: None) -> AsyncIterator[Lan]:
    plug = PlugDevice(load_codec(str(PRODUCT)))
    server = LanServer(hosts=[HOST], port=0)
    plug.server = server
    announcement = DeviceAnnouncement(DID, MAC, plug.codec.product.product_key)
    runner = CommandRunner()
    runner.set_handler(plug.handle)
    device = LanDevice(announcement, PASSCODE, runner)
    server.add_device(device)
    responder = DiscoveryResponder(server.announcements, hosts=[HOST], port=0)
    await server.start()
    await responder.start()
    yield Lan(server, responder, device, plug)
    responder.stop()
    await server.stop()
    device.binding.close()


async def test_discover(lan: Lan) -> None:
    (found,) = await discover(HOST, lan.responder.port, timeout=5, expected=1)
    assert (found.did, found.mac, found.product_key) == (
        DID,
        MAC.hex(),
        lan.plug.codec.product.product_key,
    )
    assert (found.api_server, found.gagent_version) == ("api.gizwits.com:80", "4.0.8")
    assert found.address == (HOST, lan.responder.port)


async def test_passcode_only_in_binding_mode(lan: Lan) -> None:
    async with await LanApp.connect(HOST, lan.server.port) as app:
        assert await app.request_passcode() is None
        await asyncio.wait_for(app.closed.wait(), 5)
        with pytest.raises(LanAppError):
            await app.ping()
    lan.device.binding.open()
    async with await LanApp.connect(HOST, lan.server.port) as app:
        assert await app.request_passcode() == PASSCODE
        assert await app.login(PASSCODE)


async def test_login_ping_module_info(lan: Lan) -> None:
    async with await LanApp.connect(HOST, lan.server.port) as app:
        assert not await app.login("WRONGWRONG")
    async with await LanApp.connect(HOST, lan.server.port) as app:
        assert await app.login(PASSCODE)
        await app.ping()
        info = await app.module_info()
        assert info["product_key"] == lan.plug.codec.product.product_key
        assert info["p0_version"] == "00000004"


async def test_read_is_the_same_over_0090_and_0093(lan: Lan) -> None:
    codec = lan.plug.codec
    async with await LanApp.connect(HOST, lan.server.port) as app:
        assert await app.login(PASSCODE)
        plain = await app.read(codec)
        acked = await app.read(codec, acked=True)
        assert plain == acked == ReadReply(lan.plug.values)
        assert [c.sn is None for c in lan.plug.commands] == [True, False]


async def test_control_is_reported_to_every_app(lan: Lan) -> None:
    codec = lan.plug.codec
    async with (
        await LanApp.connect(HOST, lan.server.port) as controller,
        await LanApp.connect(HOST, lan.server.port) as listener,
    ):
        assert await controller.login(PASSCODE)
        assert await listener.login(PASSCODE)
        await controller.control(codec, {"switch": True}, acked=True)
        for app in (controller, listener):
            report = await app.wait_report(codec)
            assert report.values["switch"] is True
        await controller.control(codec, {"countdown": 30})
        assert (await listener.wait_report(codec)).values["countdown"] == 30


# -- the CLI ---------------------------------------------------------------------------------------


async def _cli(lan: Lan, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`python -m emulator lan ...` in a worker thread (its own event loop)."""
    argv = ["lan", "--port", str(lan.server.port), "--udp-port", str(lan.responder.port), *args]
    code = await asyncio.to_thread(main, argv)
    out, err = capsys.readouterr()
    return code, out, err


async def test_cli_module_entry_point(lan: Lan) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "emulator",
        "lan",
        "--udp-port",
        str(lan.responder.port),
        "discover",
        "--seconds",
        "1",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, _ = await proc.communicate()
    assert proc.returncode == 0
    assert f"did={DID}" in out.decode()


async def test_cli_passcode_login(lan: Lan, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = await _cli(lan, capsys, "passcode")
    assert code == 1
    assert "binding mode" in err
    lan.device.binding.open()
    code, out, _ = await _cli(lan, capsys, "passcode")
    assert (code, out.strip()) == (0, PASSCODE)
    code, out, _ = await _cli(lan, capsys, "login", "--passcode", PASSCODE)
    assert code == 0
    assert "logged in" in out
    code, _, err = await _cli(lan, capsys, "login", "--passcode", "NOPENOPENO")
    assert code == 1
    assert "refused" in err


async def test_cli_read_control_send(lan: Lan, capsys: pytest.CaptureFixture[str]) -> None:
    product = ["--product", str(PRODUCT)]
    code, out, _ = await _cli(lan, capsys, "read", "--passcode", PASSCODE, *product, "--acked")
    assert code == 0
    assert out.startswith("ReadReply switch=False")
    code, out, _ = await _cli(lan, capsys, "control", "--passcode", PASSCODE, *product, "switch=on")
    assert code == 0
    assert "StatusReport switch=True" in out
    code, out, _ = await _cli(lan, capsys, "send", "--passcode", PASSCODE, "--acked", "02")
    assert code == 0
    assert out.startswith("ack 03")
    code, out, _ = await _cli(lan, capsys, "read", "--passcode", PASSCODE)
    assert code == 0
    assert out.startswith("03")
    code, _, err = await _cli(lan, capsys, "control", "--passcode", PASSCODE, "switch=on")
    assert code == 1
    assert "--product" in err


async def test_cli_listen(lan: Lan, capsys: pytest.CaptureFixture[str]) -> None:
    task = asyncio.create_task(
        _cli(
            lan, capsys, "listen", "--passcode", PASSCODE, "--product", str(PRODUCT), "--count", "1"
        )
    )
    async with asyncio.timeout(60):
        while lan.server.logged_in_count(DID) == 0:
            await asyncio.sleep(0.05)
    codec = lan.plug.codec
    lan.server.send_to_all(DID, codec.encode(StatusReport(dict(lan.plug.values))))
    code, out, _ = await task
    assert code == 0
    assert out.startswith("StatusReport switch=False")


async def test_cli_unreachable(socket_enabled: None, capsys: pytest.CaptureFixture[str]) -> None:
    from emulator.broker import free_port

    code = await asyncio.to_thread(
        main, ["lan", "--port", str(free_port()), "login", "--passcode", "X"]
    )
    assert code == 1
    assert "cannot reach" in capsys.readouterr().err


def test_wire_code_frames_and_errors() -> None:
    from emulator.lan import pack, unpack

    # protocol.md §8 example request, and a long frame with a two-byte varint.
    assert pack(0x0093, bytes.fromhex("00000004 02")) == bytes.fromhex(
        "00000003 08 00 0093 00000004 02"
    )
    long_frame = pack(0x0091, bytes(200))
    assert long_frame[4:6] == bytes.fromhex("cb 01")
    buffer = bytearray(long_frame[:100])
    assert unpack(buffer) is None
    buffer += long_frame[100:] + pack(0x0016)
    assert unpack(buffer) == (0x0091, bytes(200))
    assert unpack(buffer) == (0x0016, b"")
    assert not buffer
    for garbage in (b"HTTP", bytes.fromhex("00000003 02"), bytes.fromhex("00000003 ffffffff")):
        with pytest.raises(LanAppError):
            unpack(bytearray(garbage))


async def test_client_with_a_fixed_sn_gets_each_command_run(lan: Lan) -> None:
    """LanApp(fixed_sn=0) as LAN clients for Jebao pumps: every 0x0093 carries sn 0; the
    device runs each new command and skips only an exact repeat (protocol.md §4)."""
    lan.device.binding.open()
    async with await LanApp.connect(HOST, lan.server.port, fixed_sn=0) as app:
        passcode = await app.request_passcode()
        assert passcode is not None
        assert await app.login(passcode)
        codec = lan.plug.codec
        on, off = (codec.encode(Control({"switch": value})) for value in (True, False))
        # Sent together: the acks (all sn 0) are matched oldest first.
        answers = await asyncio.gather(app.send_acked(on), app.send_acked(off))
        assert answers == [b"", b""]
        assert await app.send_acked(off) == b""  # the exact repeat
    assert [c.sn for c in lan.plug.commands] == [0, 0]
    assert [c.payload for c in lan.plug.commands] == [on, off]
    assert lan.server.stats.duplicates == 1


async def test_slow_pinging_client(lan: Lan) -> None:
    """`heartbeat_interval` sets the ping rate (real clients: 4 s or 20 s)."""
    lan.device.binding.open()
    async with await LanApp.connect(HOST, lan.server.port, heartbeat_interval=0.05) as app:
        passcode = await app.request_passcode()
        assert passcode is not None
        assert await app.login(passcode)
        async with asyncio.timeout(10):
            while app.pings_sent < 3:
                await asyncio.sleep(0.01)
        assert not app.closed.is_set()


async def test_cli_status_prints_the_broadcasts(
    socket_enabled: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m emulator lan status` hears 0x0091 | 06 <MAC> | report on UDP."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.255.255.255", 0))
    port = probe.getsockname()[1]
    probe.close()
    argv = ["lan", "--udp-port", str(port), "status", "--bind", "127.255.255.255"]
    argv += ["--product", str(PRODUCT), "--count", "1", "--seconds", "30"]
    listening = asyncio.ensure_future(asyncio.to_thread(main, argv))
    codec = load_codec(str(PRODUCT))
    report = codec.encode(
        StatusReport({"switch": True, "countdown": 0, "power": 1, "energy": 2, "overload": False})
    )
    broadcaster = StatusBroadcaster(MAC, ["127.255.255.255"], port=port, min_interval=0)
    try:
        async with asyncio.timeout(30):
            while not listening.done():
                broadcaster.send(report)
                await asyncio.sleep(0.05)
    finally:
        broadcaster.close()
    assert listening.result() == 0
    out, _ = capsys.readouterr()
    assert out.startswith(f"{MAC.hex()} StatusReport switch=True")
