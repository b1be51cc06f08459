"""`python -m emulator app ...` against a running emulator (subprocess smoke test)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import json
from pathlib import Path
import signal
import sys
from urllib.parse import parse_qsl

import aiohttp
import aiomqtt

from emulator.server import Emulator
from emulator.wire import (
    AckedPassthrough,
    AppPassthrough,
    DevicePassthrough,
    OnlineAppCount,
    PassthroughAck,
    decode,
    encode,
)
from tests.conftest import PRODUCT_KEY
from tests.emulator.cli import REPO, finish, run_cli, start_cli

PASSCODE = "CLIPASS123"


@contextlib.asynccontextmanager
async def registered_device(emu: Emulator) -> AsyncIterator[tuple[str, aiomqtt.Client]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{emu.gservice_url}/dev/devices",
            data={"passcode": PASSCODE, "mac": "112233445566", "product_key": PRODUCT_KEY},
        ) as resp,
    ):
        did = dict(parse_qsl(await resp.text()))["did"]
    async with aiomqtt.Client(
        emu.broker.host,
        emu.broker.port,
        username=did,
        password=PASSCODE,
        identifier=did,
        protocol=aiomqtt.ProtocolVersion.V31,
    ) as client:
        await client.subscribe(f"ser2cli_res/{did}")
        await client.subscribe(f"app2dev/{did}/#")
        yield did, client


async def next_frame(client: aiomqtt.Client) -> tuple[str, object]:
    async with asyncio.timeout(30):
        async for message in client.messages:
            assert isinstance(message.payload, bytes)
            return str(message.topic), decode(message.payload)
    raise AssertionError("unreachable")


async def test_cli_send_and_online_apps(emulator: Emulator) -> None:
    async with registered_device(emulator) as (did, device):
        code, _out, err = await run_cli(emulator, did, "--client-id", "cli1", "send", "01 02")
        assert code == 0, err
        # bind (+1), the frame, unbind (-1)
        assert await next_frame(device) == (f"ser2cli_res/{did}", OnlineAppCount(1))
        assert await next_frame(device) == (f"app2dev/{did}/cli1", AppPassthrough(b"\x01\x02"))
        assert await next_frame(device) == (f"ser2cli_res/{did}", OnlineAppCount(0))

        code, _out, err = await run_cli(emulator, did, "online-apps", "5")
        assert code == 0, err
        assert await next_frame(device) == (f"ser2cli_res/{did}", OnlineAppCount(5))


async def test_cli_send_acked_and_listen(emulator: Emulator) -> None:
    async with registered_device(emulator) as (did, device):
        cli = asyncio.create_task(run_cli(emulator, did, "--client-id", "cli2", "send-acked", "aa"))
        _, frame = await next_frame(device)
        while not isinstance(frame, AckedPassthrough):
            _, frame = await next_frame(device)
        await device.publish(f"dev2app/{did}/cli2", encode(PassthroughAck(frame.sn, b"\x03\x01")))
        code, out, err = await cli
        assert code == 0, err
        assert out.strip() == f"PassthroughAck(sn={frame.sn}, payload=03 01)"

        proc = await start_cli(emulator, did, "--client-id", "cli3", "listen", "--count", "1")
        assert proc.stderr is not None
        # The CLI says "bound as app ..." on stderr once it is subscribed.
        async with asyncio.timeout(60):
            line = await proc.stderr.readline()
        assert line.startswith(b"bound as app cli3"), line
        await device.publish(f"dev2app/{did}", encode(DevicePassthrough(b"\x04\x01")))
        code, out, err = await finish(proc)
        assert code == 0, err
        assert out.strip() == f"dev2app/{did} DevicePassthrough(payload=04 01)"


async def test_cli_reports_unknown_did(emulator: Emulator) -> None:
    code, _out, err = await run_cli(emulator, "nosuchdid", "send", "00")
    assert code == 1
    assert "404" in err


async def _read_until(stream: asyncio.StreamReader, text: str, lines: list[str]) -> str:
    async with asyncio.timeout(60):
        while True:
            line = (await stream.readline()).decode()
            assert line, f"output ended before {text!r}"
            lines.append(line)
            if text in line:
                return line


CLI_SECRET = "6f3e2b1c0a9d8e7f6a5b4c3d2e1f0a9b"


def _after(lines: list[str], label: str) -> str:
    """The value printed after `label` in serve's banner."""
    return next(line.split(label, 1)[1].strip() for line in lines if label in line)


@contextlib.asynccontextmanager
async def _serve(
    tmp_path: Path, *args: str
) -> AsyncIterator[tuple[asyncio.StreamReader, list[str]]]:
    """`python -m emulator serve ARGS` on free ports, once its banner is printed: its
    stdout and the banner's lines; stopped with Ctrl-C (SIGINT), exit code 0."""
    # Port 0: serve binds free ports itself and prints them. A port found free beforehand
    # may be taken by another process's connection before serve binds it (busy CI machine).
    stderr_path = tmp_path / "serve.stderr"
    with stderr_path.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "emulator",
            "serve",
            "--http-port",
            "0",
            "--mqtt-port",
            "0",
            *args,
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
        )
    assert proc.stdout is not None
    banner: list[str] = []
    try:
        try:
            await _read_until(proc.stdout, "Ctrl-C stops.", banner)
        except AssertionError as err:
            raise AssertionError(f"{err}; serve's stderr:\n{stderr_path.read_text()}") from err
        yield proc.stdout, banner
    finally:
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            await proc.communicate()
    assert proc.returncode == 0


async def test_cli_serve_answers_0x020f_and_reports_denied_publishes(
    socket_enabled: None, tmp_path: Path
) -> None:
    """`python -m emulator serve`: a device registers, its 0x020F on cli2ser_req is answered,
    and a publish the cloud's ACL refuses is printed (protocol.md §4)."""
    async with _serve(tmp_path, "--product-key", PRODUCT_KEY, "--product-secret", CLI_SECRET) as (
        stdout,
        banner,
    ):
        # The secret is printed like the product key (protocol.md §9).
        assert _after(banner, "product secret    =").startswith(CLI_SECRET)
        gservice_url = _after(banner, "GService (HTTP):")
        mqtt_port = int(_after(banner, "M2M (MQTT 3.1):").rsplit(":", 1)[1])
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{gservice_url}/dev/devices",
                data={"passcode": PASSCODE, "mac": "112233445566", "product_key": PRODUCT_KEY},
            ) as resp,
        ):
            did = dict(parse_qsl(await resp.text()))["did"]
        # serve says which API the device registered through.
        line = await _read_until(stdout, "register through the plain API", [])
        assert line.strip() == f"[gservice] device {did}: register through the plain API"
        async with aiomqtt.Client(
            "127.0.0.1",
            mqtt_port,
            username=did,
            password=PASSCODE,
            identifier=did,
            protocol=aiomqtt.ProtocolVersion.V31,
        ) as device:
            await device.subscribe(f"ser2cli_res/{did}")
            await device.publish("cli2ser_req", bytes.fromhex("00000003 020f"))
            assert await next_frame(device) == (f"ser2cli_res/{did}", OnlineAppCount(0))
            await device.publish("ser2cli_req", bytes.fromhex("00000003 020f"))
            line = await _read_until(stdout, "DENIED", [])
        assert line.strip() == f"[broker] DENIED publish from {did} to 'ser2cli_req'"


async def test_cli_serve_publishes_datapoints_to_app_ids(
    socket_enabled: None, tmp_path: Path
) -> None:
    """`serve --datapoint FILE --app-id ID`: /app/datapoint answers that App ID, refuses others
    with Gizwits' 9003 (protocol.md §5)."""
    definition_path = REPO / "tests" / "vectors" / "products" / "jebao_wave_maker.json"
    definition = json.loads(definition_path.read_text(encoding="utf-8"))
    app_id = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    async with _serve(tmp_path, "--datapoint", str(definition_path), "--app-id", app_id) as (
        _stdout,
        banner,
    ):
        assert any(definition["product_key"] in line for line in banner if "[datapoint]" in line)
        url = f"{_after(banner, 'GService (HTTP):')}/app/datapoint"
        params = {"product_key": definition["product_key"]}
        async with aiohttp.ClientSession() as session:
            headers = {"X-Gizwits-Application-Id": app_id}
            async with session.get(url, params=params, headers=headers) as resp:
                assert resp.status == 200
                assert await resp.json() == definition
            headers = {"X-Gizwits-Application-Id": "f" * 32}
            async with session.get(url, params=params, headers=headers) as resp:
                assert resp.status == 400
                assert (await resp.json())["error_code"] == 9003
