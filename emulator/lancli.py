"""`python -m emulator lan ...`: act as a Gizwits app on the local network.

python -m emulator lan [--host H] [--port 12416] [--udp-port 12414] COMMAND
  discover                          0x0003, print every 0x0004 answer
  passcode                          0x0006 (the device must be in binding mode)
  login    --passcode P             log in, print the module info
  read     --passcode P [--product FILE] [--acked]
  control  --passcode P --product FILE [--acked] [--no-wait] NAME=VALUE ...
  send     --passcode P [--acked] HEX
  listen   --passcode P [--product FILE] [--count N] [--timeout T]
  status   [--bind A] [--product FILE] [--count N] [--seconds T]
                                    print the UDP status broadcasts heard on A:--udp-port

Options of every logged-in command: --sn N sends every 0x0093 with sn N (LAN clients for
Jebao pumps send 0), --heartbeat S pings every S seconds (those clients: 20; default 4).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from typing import Any

from emulator.lan import (
    DISCOVERY_PORT,
    HEARTBEAT_INTERVAL,
    TCP_PORT,
    LanApp,
    LanAppError,
    StatusListener,
    discover,
)
from emulator.p0 import DataPointCodec, P0Error
from emulator.p0cli import P0CliError, format_message, optional_codec, parse_assignments


class LanCliError(Exception):
    """A user-facing failure: printed, exit status 1."""


def add_lan_parser(sub: Any) -> None:
    """Add the `lan` sub-command group to the top-level sub-parsers."""
    lan = sub.add_parser("lan", help="act as an app on the local network (GAgent LAN protocol)")
    lan.add_argument("--host", default="127.0.0.1", help="the device's address")
    lan.add_argument("--port", type=int, default=TCP_PORT, help="TCP port")
    lan.add_argument("--udp-port", type=int, default=DISCOVERY_PORT, help="discovery port")
    lan.add_argument("--timeout", type=float, default=10)
    cmds = lan.add_subparsers(dest="command", required=True)
    found = cmds.add_parser("discover", help="0x0003 to --host, print the 0x0004 answers")
    found.add_argument("--seconds", type=float, default=2.0, help="how long to collect answers")
    cmds.add_parser("passcode", help="0x0006: fetch the passcode (binding mode only)")
    status = cmds.add_parser("status", help="print the UDP status broadcasts (0x0091 | MAC)")
    status.add_argument("--product", help="product definition JSON (P0 data points)")
    status.add_argument("--count", type=int, help="stop after N broadcasts")
    status.add_argument("--seconds", type=float, help="stop after T seconds")
    status.add_argument(
        "--bind",
        default="0.0.0.0",  # a unicast address does not hear broadcasts
        help="address to listen on (the wildcard, or a broadcast address)",
    )
    for name, text in (
        ("login", "log in and print the module info"),
        ("read", "P0 read, print the reply"),
        ("control", "P0 control, print the report"),
        ("send", "send raw payload bytes"),
        ("listen", "print reports (0x0091)"),
    ):
        cmd = cmds.add_parser(name, help=text)
        cmd.add_argument("--passcode", required=True)
        cmd.add_argument("--sn", type=int, help="send every 0x0093 with this sn")
        cmd.add_argument(
            "--heartbeat", type=float, default=HEARTBEAT_INTERVAL, help="ping interval (s)"
        )
        if name != "login":
            cmd.add_argument("--product", help="product definition JSON (P0 data points)")
        if name in ("read", "control", "send"):
            cmd.add_argument("--acked", action="store_true", help="send as 0x0093")
        if name == "control":
            cmd.add_argument("assignments", nargs="+", metavar="NAME=VALUE")
            cmd.add_argument("--no-wait", action="store_true", help="do not wait for a report")
        if name == "send":
            cmd.add_argument("hex")
        if name == "listen":
            cmd.add_argument("--count", type=int, help="stop after N reports")
            cmd.add_argument("--seconds", type=float, help="stop after T seconds")


def _show(codec: DataPointCodec | None, payload: bytes) -> str:
    if codec is not None:
        with contextlib.suppress(P0Error):
            return format_message(codec.decode(payload))
    return payload.hex(" ")


async def lan_main(args: argparse.Namespace) -> None:
    """Run one `lan` sub-command."""
    try:
        if args.command == "discover":
            for found in await discover(args.host, args.udp_port, args.seconds):
                print(
                    f"{found.address[0]}:{found.address[1]} did={found.did} mac={found.mac} "
                    f"product_key={found.product_key} gagent={found.gagent_version} "
                    f"api={found.api_server}",
                    flush=True,
                )
            return
        codec = optional_codec(args)
        if args.command == "status":
            await _status(args, codec)
            return
        async with await LanApp.connect(
            args.host,
            args.port,
            heartbeat_interval=getattr(args, "heartbeat", HEARTBEAT_INTERVAL),
            fixed_sn=getattr(args, "sn", None),
        ) as app:
            if args.command == "passcode":
                passcode = await app.request_passcode(args.timeout)
                if passcode is None:
                    raise LanCliError("refused: the device is not in binding mode")
                print(passcode)
                return
            if not await app.login(args.passcode, args.timeout):
                raise LanCliError("login refused (wrong passcode, or too many failed logins)")
            await _logged_in(args, app, codec)
    except OSError as err:
        raise LanCliError(f"cannot reach {args.host}: {err}") from err
    except (LanAppError, P0CliError, P0Error) as err:
        raise LanCliError(str(err)) from err
    except TimeoutError:
        raise LanCliError("timed out waiting for the device") from None


async def _status(args: argparse.Namespace, codec: DataPointCodec | None) -> None:
    """Print each status broadcast heard; running out of --seconds is the normal end."""
    async with await StatusListener.bind(args.bind, args.udp_port) as listener:

        async def next_line() -> str:
            heard = await listener.next(timeout=None)
            return f"{heard.mac} {_show(codec, heard.payload)}"

        await _print_lines(args, next_line)


async def _print_lines(args: argparse.Namespace, next_line: Callable[[], Awaitable[str]]) -> None:
    """Print lines until --count of them or --seconds (running out of time is the normal end)."""
    seen = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(args.seconds):
            while args.count is None or seen < args.count:
                print(await next_line(), flush=True)
                seen += 1


async def _logged_in(args: argparse.Namespace, app: LanApp, codec: DataPointCodec | None) -> None:
    if args.command == "login":
        info = await app.module_info(args.timeout)
        print("logged in " + " ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    elif args.command == "send" or (args.command == "read" and codec is None):
        payload = bytes.fromhex(args.hex) if args.command == "send" else b"\x02"
        if args.acked:
            print("ack " + _show(codec, await app.send_acked(payload, args.timeout)), flush=True)
        else:
            await app.send(payload)
            if args.command == "read":
                print(_show(codec, await app.next_report(args.timeout)), flush=True)
    elif args.command == "read":
        assert codec is not None
        print(format_message(await app.read(codec, acked=args.acked, timeout=args.timeout)))
    elif args.command == "control":
        if codec is None:
            raise LanCliError("control needs --product FILE")
        await app.control(codec, parse_assignments(codec, args.assignments), acked=args.acked)
        print("sent", flush=True)
        if not args.no_wait:
            print(format_message(await app.wait_report(codec, args.timeout)), flush=True)
    else:  # listen

        async def next_line() -> str:
            return _show(codec, await app.reports.get())

        await _print_lines(args, next_line)
