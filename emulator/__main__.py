"""Command line: run the local Gizwits cloud, or act as an app / operator against a running one.

    python -m emulator serve [--http-port 8900] [--mqtt-port 1883] [--product-key PK ...]
                             [--state-dir DIR] [--datapoint FILE ...] [--app-id ID ...]
    python -m emulator app --did DID [--url http://127.0.0.1:8900] [--client-id ID] COMMAND

COMMAND (MQTT, as a bound app): send HEX | send-acked HEX | log-level VALUE | listen
COMMAND (P0, needs --product FILE): control NAME=VALUE ... | read  (listen then decodes P0 too)
COMMAND (operator HTTP API):    online-apps N|auto | ota-notify | ota-check | add-firmware

    python -m emulator lan [--host H] discover|passcode|login|read|control|send|listen ...
                             (an app on the local network; see emulator/lancli.py)
"""

from __future__ import annotations

import argparse
import asyncio
import base64
from collections.abc import Sequence
import contextlib
from dataclasses import fields
import json
import logging
from pathlib import Path
import re
import signal
import sys
from typing import Any

import aiohttp

from emulator.app import AppSimulator, Received, decode_p0
from emulator.brokerlog import PublishEvent
from emulator.lancli import LanCliError, add_lan_parser, lan_main
from emulator.p0 import DataPointCodec, P0Error
from emulator.p0cli import P0CliError, format_message, optional_codec, parse_assignments
from emulator.server import Emulator
from emulator.state import DeviceEvent
from emulator.wire import Frame, PassthroughAck

DEFAULT_HTTP_PORT = 8900
DEFAULT_MQTT_PORT = 1883
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_HTTP_PORT}"
# Used when `serve` gets no --product-key: any 32-hex string is a plausible product key.
DEMO_PRODUCT_KEY = "0123456789abcdef0123456789abcdef"


class CliError(Exception):
    """A user-facing failure: printed, exit status 1."""


def format_frame(frame: Frame) -> str:
    """`Name(field=value, ...)` with bytes shown as hex."""
    parts = []
    for f in fields(frame):
        value = getattr(frame, f.name)
        text = value.hex(" ") if isinstance(value, bytes) else repr(value)
        parts.append(f"{f.name}={text}")
    return f"{type(frame).__name__}({', '.join(parts)})"


def _hex(text: str) -> bytes:
    try:
        return bytes.fromhex(text.replace(":", " "))
    except ValueError as err:
        raise CliError(f"not hex: {text!r}") from err


# -- serve ---------------------------------------------------------------------------------


def _print_api_log() -> None:
    """Print which API (plain / safe) each register and provision used, and wrong secrets."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("[gservice] %(message)s"))
    for name in ("emulator.state", "emulator.gservice_safe"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def _publish_datapoints(emu: Emulator, files: list[str], app_ids: list[str]) -> None:
    """Serve each definition file on /app/datapoint to ``app_ids``; its product becomes known."""
    for name in files:
        try:
            definition = json.loads(Path(name).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise CliError(f"--datapoint {name}: {err}") from err
        if not isinstance(definition, dict):
            raise CliError(f"--datapoint {name}: not a JSON object")
        try:
            product_key = emu.datapoints.publish(definition, app_ids)
        except ValueError as err:
            raise CliError(f"--datapoint {name}: {err}") from err
        emu.state.add_product(product_key, str(definition.get("name", "")))
        print(f"[datapoint] {product_key} served to App IDs {', '.join(app_ids) or '(none)'}")


async def serve(args: argparse.Namespace) -> None:
    """Run the emulator until interrupted."""
    product_keys = args.product_key or [DEMO_PRODUCT_KEY]
    given_secrets = args.product_secret or []
    if len(given_secrets) > len(product_keys):
        raise CliError("more --product-secret than --product-key options")
    for secret in given_secrets:
        if not re.fullmatch(r"[0-9A-Fa-f]{32}", secret):
            raise CliError(f"a product secret is 32 hex digits, got {secret!r}")
    state_dir = Path(args.state_dir) if args.state_dir else None
    async with Emulator(
        product_keys=product_keys,
        product_secrets=dict(zip(product_keys, given_secrets, strict=False)),
        http_port=args.http_port,
        mqtt_port=args.mqtt_port,
        state_dir=state_dir,
    ) as emu:
        _publish_datapoints(emu, args.datapoint or [], args.app_id or [])

        def on_event(event: DeviceEvent) -> None:
            print(
                f"[device] {event.kind}: did={event.did} mac={event.mac} pk={event.product_key}"
                f" api={event.api}",
                flush=True,
            )

        def on_denied(event: PublishEvent) -> None:
            # The real cloud drops these silently; say so, it is almost always a topic bug.
            print(f"[broker] DENIED publish from {event.client_id} to {event.topic!r}", flush=True)

        emu.state.add_listener(on_event)
        emu.broker.log.on_denied.append(on_denied)
        _print_api_log()
        products = "".join(
            f"    {key}  secret {emu.state.product_secret(key)}\n"
            for key in sorted(emu.state.products)
        )
        print(
            f"Gizwits emulator running.\n"
            f"  GService (HTTP): {emu.gservice_url}\n"
            f"  M2M (MQTT 3.1):  {emu.broker.host}:{emu.broker.port}\n"
            f"  products:\n{products}"
            f"  state dir:       {state_dir or '(none: devices are forgotten on exit)'}\n"
            f"In Home Assistant add the Gizwits device integration with a custom server:\n"
            f"  GService base URL = {emu.gservice_url}\n"
            f"  product key       = {product_keys[0]}\n"
            f"  product secret    = {emu.state.product_secret(product_keys[0])}"
            f" (optional: leave it empty for the plain API)\n"
            f"  (any 12-hex-digit MAC; the M2M host/port come from provision)\n"
            f"Then drive it from another terminal, e.g.\n"
            f"  python -m emulator app --url {emu.gservice_url} --did <DID> listen\n"
            f"Registered DIDs: {emu.gservice_url}/emulator/devices\n"
            f"Ctrl-C stops.",
            flush=True,
        )
        for device in emu.state.devices.values():
            print(f"[device] known: did={device.did} enabled={device.enabled}")
        # Explicit handlers: a shell's `&` starts us with SIGINT ignored, and SIGTERM's default
        # would skip the cleanup that stops mosquitto.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        print("stopping", flush=True)


# -- app -----------------------------------------------------------------------------------


async def _request(
    session: aiohttp.ClientSession, method: str, url: str, body: dict[str, Any] | None = None
) -> Any:
    async with session.request(method, url, json=body) as resp:
        if resp.status >= 400:
            raise CliError(f"{method} {url}: HTTP {resp.status} {await resp.text()}")
        if resp.status == 204:
            return None
        return await resp.json()


async def _as_app(args: argparse.Namespace, session: aiohttp.ClientSession) -> None:
    base = f"{args.url}/emulator/devices/{args.did}"
    creds = await _request(session, "POST", f"{base}/apps", {"client_id": args.client_id})
    app = AppSimulator(
        creds["mqtt_host"],
        creds["mqtt_port"],
        args.did,
        username=creds["username"],
        password=creds["password"],
        client_id=creds["client_id"],
    )
    try:
        await app.start()
        print(f"bound as app {app.client_id}", file=sys.stderr, flush=True)
        await _app_command(args, app)
    finally:
        await app.close()
        await _request(session, "DELETE", f"{base}/apps/{creds['client_id']}")


async def _app_command(args: argparse.Namespace, app: AppSimulator) -> None:
    codec = optional_codec(args)
    try:
        if args.command in ("control", "read"):
            if codec is None:
                raise CliError(f"{args.command} needs --product FILE")
            await _p0_command(args, app, codec)
            return
        if args.command == "send":
            await app.send_passthrough(_hex(args.hex))
            print("sent")
        elif args.command == "send-acked":
            sn = app.next_sn()
            body = await app.send_acked(_hex(args.hex), sn=sn, timeout=args.timeout)
            print(format_frame(PassthroughAck(sn, body or b"")))
        elif args.command == "log-level":
            value = int(args.value, 0)
            confirm = await app.set_log_level(value, wait=not args.no_wait, timeout=args.timeout)
            print(format_frame(confirm) if confirm is not None else "sent")
        elif args.command == "listen":
            await _listen(app, args.count, args.timeout, codec)
    except TimeoutError:
        raise CliError("timed out waiting for the device") from None


async def _p0_command(args: argparse.Namespace, app: AppSimulator, codec: DataPointCodec) -> None:
    """control: send it, print the next report; read: print the reply to this app."""
    try:
        if args.command == "read":
            reply = await app.read(codec, timeout=args.timeout)
            print(format_message(reply), flush=True)
            return
        values = parse_assignments(codec, args.assignments)
        await app.control(codec, values, acked=args.acked)
    except (P0CliError, P0Error) as err:
        raise CliError(str(err)) from err
    print("sent", flush=True)
    if not args.no_wait:
        print(format_message(await app.wait_report(codec, args.timeout)), flush=True)


async def _listen(
    app: AppSimulator, count: int | None, seconds: float | None, codec: DataPointCodec | None = None
) -> None:
    def show(item: Received) -> None:
        message = None if codec is None else decode_p0(codec, item)
        text = format_frame(item.frame) if message is None else format_message(message)
        print(f"{item.topic} {text}", flush=True)

    seen = 0
    # Running out of --timeout is the normal end of a listen.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            async for item in app:
                show(item)
                seen += 1
                if count is not None and seen >= count:
                    return


async def _operator(args: argparse.Namespace, session: aiohttp.ClientSession) -> None:
    base = f"{args.url}/emulator/devices/{args.did}"
    if args.command == "online-apps":
        count = None if args.count == "auto" else int(args.count)
        result = await _request(session, "POST", f"{base}/online_apps", {"count": count})
    elif args.command == "ota-notify":
        body = {"firmware_type": args.type, "target_fid": args.fid, "url": args.firmware_url}
        result = await _request(session, "POST", f"{base}/ota_notify", body)
    elif args.command == "ota-check":
        result = await _request(
            session, "POST", f"{base}/ota_check_notify", {"firmware_type": args.type}
        )
    else:  # add-firmware
        data = await asyncio.to_thread(Path(args.file).read_bytes)
        body = {
            "firmware_type": args.type,
            "soft_version": args.soft_version,
            "hard_version": args.hard_version,
            "data_base64": base64.b64encode(data).decode(),
        }
        if args.target_fid:
            body["target_fid"] = args.target_fid
        if args.product_key:
            body["product_key"] = args.product_key
        else:
            body["did"] = args.did
        result = await _request(session, "POST", f"{args.url}/emulator/offers", body)
    print(json.dumps(result))


APP_COMMANDS = frozenset({"send", "send-acked", "log-level", "listen", "control", "read"})


async def app_main(args: argparse.Namespace) -> None:
    """Run one `app` sub-command."""
    args.url = args.url.rstrip("/")
    async with aiohttp.ClientSession() as session:
        try:
            if args.command in APP_COMMANDS:
                await _as_app(args, session)
            else:
                await _operator(args, session)
        except aiohttp.ClientError as err:
            raise CliError(f"cannot reach the emulator at {args.url}: {err}") from err


# -- argument parsing ----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The `python -m emulator` argument parser."""
    parser = argparse.ArgumentParser(prog="python -m emulator", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)

    srv = sub.add_parser("serve", help="run the local Gizwits cloud until Ctrl-C")
    srv.add_argument("--http-port", type=int, default=DEFAULT_HTTP_PORT)
    srv.add_argument("--mqtt-port", type=int, default=DEFAULT_MQTT_PORT)
    srv.add_argument("--product-key", action="append", help="known product key (repeatable)")
    srv.add_argument(
        "--product-secret",
        action="append",
        help="Product Secret (32 hex) of the n-th --product-key, for the safe register and"
        " provision calls; default: one derived from the key (repeatable)",
    )
    srv.add_argument("--state-dir", help="persist registered devices here (devices.json)")
    srv.add_argument(
        "--datapoint",
        action="append",
        metavar="FILE",
        help="product definition JSON served on /app/datapoint (repeatable)",
    )
    srv.add_argument(
        "--app-id",
        action="append",
        help="App ID (32 hex) allowed to download every --datapoint definition (repeatable)",
    )

    app = sub.add_parser("app", help="act as an app bound to a DID, or drive the operator API")
    app.add_argument("--did", required=True)
    app.add_argument("--url", default=DEFAULT_URL, help="the emulator's GService URL")
    app.add_argument("--client-id", help="app client id (default: random)")
    app.add_argument("--product", help="product definition JSON: speak/decode P0 data points")
    cmds = app.add_subparsers(dest="command", required=True)
    cmds.add_parser("send", help="0x0090 passthrough").add_argument("hex")
    acked = cmds.add_parser("send-acked", help="0x0093, wait for the 0x0094")
    acked.add_argument("hex")
    acked.add_argument("--timeout", type=float, default=10)
    level = cmds.add_parser("log-level", help="0x0010, wait for the 0x0011")
    level.add_argument("value", help="16-bit value (0x.. accepted)")
    level.add_argument("--no-wait", action="store_true")
    level.add_argument("--timeout", type=float, default=10)
    control = cmds.add_parser("control", help="P0 control (needs --product), print the report")
    control.add_argument("assignments", nargs="+", metavar="NAME=VALUE")
    control.add_argument("--acked", action="store_true", help="send as 0x0093")
    control.add_argument("--no-wait", action="store_true", help="do not wait for a report")
    control.add_argument("--timeout", type=float, default=10)
    read = cmds.add_parser("read", help="P0 read (needs --product), print the reply")
    read.add_argument("--timeout", type=float, default=10)
    listen = cmds.add_parser("listen", help="print frames from the device")
    listen.add_argument("--count", type=int, help="stop after N frames")
    listen.add_argument("--timeout", type=float, help="stop after T seconds")
    online = cmds.add_parser("online-apps", help="push 0x0210 (auto: back to counting apps)")
    online.add_argument("count")
    ota = cmds.add_parser("ota-notify", help="push 0x020E")
    ota.add_argument("--type", type=int, choices=(1, 2), required=True)
    ota.add_argument("--fid", type=int, required=True)
    ota.add_argument("--firmware-url", required=True)
    check = cmds.add_parser("ota-check", help="push 0x0211")
    check.add_argument("--type", type=int, choices=(1, 2), required=True)
    fw = cmds.add_parser("add-firmware", help="offer a firmware file (to the DID or a product)")
    fw.add_argument("file")
    fw.add_argument("--type", type=int, choices=(1, 2), required=True)
    fw.add_argument("--soft-version", required=True, help="8 characters")
    fw.add_argument("--hard-version", help="8 characters; default: any hardware")
    fw.add_argument("--target-fid", type=int)
    fw.add_argument("--product-key", help="offer to the whole product instead of the DID")
    add_lan_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        modes = {"serve": serve, "app": app_main, "lan": lan_main}
        asyncio.run(modes[args.mode](args))
    except KeyboardInterrupt:
        return 0
    except (CliError, LanCliError, P0CliError) as err:  # P0CliError: a bad --product FILE
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
