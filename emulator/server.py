"""`Emulator`: the whole local Gizwits cloud in one async context manager.

It runs a `MosquittoBroker` (M2M), the GService aiohttp app over a `CloudState` (HTTP on a free
127.0.0.1 port), and the `CloudAgent`. Device registration/disable events from the state become
broker users (username = DID, password = passcode, device ACL) or their removal; mosquitto 2.0.11
then disconnects a disabled DID's live session by itself (see broker.py). A middleware makes every
HTTP answer wait for the broker to have reloaded, so a device that registers and connects at once
is never refused.

Operator routes added to the GService app's `/emulator/` API (JSON):
- `GET  /emulator/m2m/info`                       broker host/port, counters
- `POST /emulator/devices/{did}/online_apps`      `{"count": N | null}` → push 0x0210
- `POST /emulator/devices/{did}/ota_notify`       `{"firmware_type", "target_fid", "url"}` (0x020E)
- `POST /emulator/devices/{did}/ota_check_notify` `{"firmware_type"}` (0x0211)
- `POST /emulator/devices/{did}/apps`             `{"client_id"?}` → app broker credentials, +1 app
- `DELETE /emulator/devices/{did}/apps/{client_id}` the app left: user removed, -1 app
Firmware upload is the GService app's own `POST /emulator/offers`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
import json
import logging
from pathlib import Path
import secrets
import socket

from aiohttp import web

from emulator.app import AppSimulator, new_app_client_id
from emulator.broker import MosquittoBroker, app_acl, cloud_acl, device_acl
from emulator.brokerlog import PublishEvent
from emulator.cloud import CloudAgent
from emulator.datapoint import DatapointStore, add_datapoint_routes
from emulator.gservice import create_gservice_app
from emulator.lifecycle import Service
from emulator.operator_http import Handler, json_errors, json_object
from emulator.state import CloudState, Device, DeviceEvent

_LOGGER = logging.getLogger(__name__)

CLOUD_USER = "gizwits-cloud"
STATE_FILE = "devices.json"


def _json_errors(handler: Handler) -> Handler:
    """Operator errors as JSON; a KeyError here names an unknown device or app (404)."""
    return json_errors(handler, unknown_status=404)


class Emulator(Service):
    """Broker + GService + cloud agent on 127.0.0.1; async context manager."""

    def __init__(
        self,
        *,
        product_keys: Iterable[str] = (),
        product_secrets: Mapping[str, str] | None = None,
        http_port: int = 0,
        mqtt_port: int = 0,
        http_host: str = "127.0.0.1",
        state_dir: Path | None = None,
    ) -> None:
        """Ports 0 = free ports. `state_dir` persists registered devices across runs.

        `product_secrets` maps product keys to their Product Secret (protocol.md §9); a
        product without one gets a secret derived from its key.
        """
        self.state = CloudState()
        secrets_by_key = {k.lower(): v for k, v in (product_secrets or {}).items()}
        # Product definitions the Open API's /app/datapoint serves, per App ID.
        self.datapoints = DatapointStore()
        for product_key in product_keys:
            self.state.add_product(product_key, secret=secrets_by_key.get(product_key.lower()))
        self.broker = MosquittoBroker(port=mqtt_port)
        self._cloud_password = secrets.token_hex(12)
        self.cloud = CloudAgent(
            self.broker.host,
            0,
            username=CLOUD_USER,
            password=self._cloud_password,
            enabled_dids=self._enabled_dids,
            broker_log=self.broker.log,
        )
        self._http_host = http_host
        self._http_port = http_port
        self._state_dir = state_dir
        self._runner: web.AppRunner | None = None
        self._sync: asyncio.Task[None] | None = None
        self._dirty = False
        self._apps: dict[str, AppSimulator] = {}
        self._remote_apps: dict[str, str] = {}  # client id -> did, for CLI apps
        self._remove_listener: Callable[[], None] | None = None
        self.http_port = 0

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def gservice_url(self) -> str:
        """Base URL of the GService HTTP API (what the integration is configured with)."""
        return f"http://{self._http_host}:{self.http_port}"

    async def start(self) -> None:
        """Start broker, cloud agent and HTTP server."""
        self._load_devices()
        self.broker.stage_user(CLOUD_USER, self._cloud_password, cloud_acl())
        for device in self.state.devices.values():
            if device.enabled:
                acl = device_acl(device.did, device.product_key)
                self.broker.stage_user(device.did, device.passcode, acl)
        await self.broker.start()
        self.state.m2m_host = self.broker.host
        self.state.m2m_port = self.broker.port
        self.cloud.link.login.port = self.broker.port
        self._remove_listener = self.state.add_listener(self._on_device_event)
        await self.cloud.start()

        app = create_gservice_app(self.state)
        app.middlewares.append(self._settle_middleware)
        self._add_routes(app)
        add_datapoint_routes(app, self.datapoints)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        # Bind the socket ourselves so port 0 works and the bound port is known.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._http_host, self._http_port))
        except OSError:
            sock.close()
            raise
        self.http_port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Stop everything (idempotent; every step runs even if an earlier one failed)."""
        if self.broker.running and self.broker.paused:
            self.broker.resume()
        errors: list[BaseException] = []
        for app in list(self._apps.values()):
            try:
                await app.close()
            except Exception as err:  # collected, re-raised below
                errors.append(err)
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._sync is not None:
            await asyncio.gather(self._sync, return_exceptions=True)
            self._sync = None
        await self.cloud.stop()
        await self.broker.stop()
        if errors:
            raise ExceptionGroup("emulator stop", errors)  # type: ignore[type-var]

    # -- apps ------------------------------------------------------------------------------

    async def app(
        self,
        did: str,
        client_id: str | None = None,
        *,
        auto_ack: bool = True,
        fixed_sn: int | None = None,
    ) -> AppSimulator:
        """A connected AppSimulator bound to `did` (closed by `stop()` if not before);
        `fixed_sn` makes it send every 0x0093 with that sn."""
        client_id = client_id or new_app_client_id()
        password = secrets.token_hex(12)
        await self.broker.add_user(client_id, password, app_acl(did, client_id))
        app = AppSimulator(
            self.broker.host,
            self.broker.port,
            did,
            username=client_id,
            password=password,
            client_id=client_id,
            auto_ack=auto_ack,
            fixed_sn=fixed_sn,
            on_close=self._app_closed,
        )
        await app.start()
        self._apps[client_id] = app
        await self.cloud.app_bound(did)
        return app

    async def _app_closed(self, app: AppSimulator) -> None:
        self._apps.pop(app.client_id, None)
        await self.broker.remove_user(app.client_id)
        await self.cloud.app_unbound(app.did)

    async def take_denied_publishes(self) -> list[PublishEvent]:
        """Every publish the broker's ACL refused since the last call (then forgotten).

        The test fixture fails a test that leaves any: a real cloud would have dropped them.
        """
        await self.broker.sync_log()
        return self.broker.log.take_denied()

    # -- state → broker --------------------------------------------------------------------

    def _enabled_dids(self) -> list[str]:
        return [d.did for d in self.state.devices.values() if d.enabled]

    def _on_device_event(self, event: DeviceEvent) -> None:
        # The state calls listeners synchronously: stage the change, reload in a task that
        # the settle middleware awaits before the HTTP answer goes out.
        if event.kind == "registered":
            acl = device_acl(event.did, event.product_key)
            self.broker.stage_user(event.did, event.passcode, acl)
        else:
            self.broker.unstage_user(event.did)
        self._schedule_sync()

    def _schedule_sync(self) -> None:
        self._dirty = True
        if self._sync is None or self._sync.done():
            self._sync = asyncio.get_running_loop().create_task(self._sync_broker())

    async def _sync_broker(self) -> None:
        while self._dirty:
            self._dirty = False
            self._save_devices()
            await self.broker.reload()

    async def settle(self) -> None:
        """Wait until the broker reflects every device event so far."""
        while self._sync is not None and not self._sync.done():
            await asyncio.shield(self._sync)

    @web.middleware
    async def _settle_middleware(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        response = await handler(request)
        await self.settle()
        return response

    # -- persistence -----------------------------------------------------------------------

    def _load_devices(self) -> None:
        if self._state_dir is None:
            return
        path = self._state_dir / STATE_FILE
        if not path.exists():
            return
        data = json.loads(path.read_text())
        for product_key in data.get("products", []):
            self.state.add_product(product_key)
        for item in data.get("devices", []):
            device = Device(
                did=item["did"],
                passcode=item["passcode"],
                product_key=item["product_key"],
                mac=item["mac"],
                enabled=item["enabled"],
            )
            self.state.devices[device.did] = device

    def _save_devices(self) -> None:
        if self._state_dir is None:
            return
        self._state_dir.mkdir(parents=True, exist_ok=True)
        data = {
            "products": sorted(self.state.products),
            "devices": [
                {
                    "did": d.did,
                    "passcode": d.passcode,
                    "product_key": d.product_key,
                    "mac": d.mac,
                    "enabled": d.enabled,
                }
                for d in self.state.devices.values()
            ],
        }
        tmp = self._state_dir / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(data, indent=2))
        tmp.replace(self._state_dir / STATE_FILE)

    # -- operator routes -------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get("/emulator/m2m/info", _json_errors(self._op_info))
        base = "/emulator/devices/{did}"
        app.router.add_post(f"{base}/online_apps", _json_errors(self._op_online_apps))
        app.router.add_post(f"{base}/ota_notify", _json_errors(self._op_ota_notify))
        app.router.add_post(f"{base}/ota_check_notify", _json_errors(self._op_ota_check))
        app.router.add_post(f"{base}/apps", _json_errors(self._op_app_bind))
        app.router.add_delete(f"{base}/apps/{{client_id}}", _json_errors(self._op_app_unbind))

    def _device(self, request: web.Request) -> Device:
        did = request.match_info["did"]
        device = self.state.devices.get(did)
        if device is None:
            raise KeyError(f"unknown DID {did}")
        return device

    async def _op_info(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(
            {
                "mqtt_host": self.broker.host,
                "mqtt_port": self.broker.port,
                "gservice_url": self.gservice_url,
                "online_app_requests": self.cloud.online_app_requests,
                "online_apps": {did: self.cloud.online_apps(did) for did in self.state.devices},
            }
        )

    async def _op_online_apps(self, request: web.Request) -> web.StreamResponse:
        device = self._device(request)
        body = await json_object(request, empty_ok=True)
        count = body.get("count")
        await self.cloud.push_online_apps(device.did, None if count is None else int(count))
        return web.json_response({"did": device.did, "count": self.cloud.online_apps(device.did)})

    async def _op_ota_notify(self, request: web.Request) -> web.StreamResponse:
        device = self._device(request)
        body = await json_object(request, empty_ok=True)
        await self.cloud.notify_ota(
            device.did, int(body["firmware_type"]), int(body["target_fid"]), str(body["url"])
        )
        return web.json_response({"ok": True})

    async def _op_ota_check(self, request: web.Request) -> web.StreamResponse:
        device = self._device(request)
        body = await json_object(request, empty_ok=True)
        await self.cloud.notify_ota_check(device.did, int(body["firmware_type"]))
        return web.json_response({"ok": True})

    async def _op_app_bind(self, request: web.Request) -> web.StreamResponse:
        device = self._device(request)
        body = await json_object(request, empty_ok=True)
        client_id = str(body.get("client_id") or new_app_client_id())
        password = secrets.token_hex(12)
        await self.broker.add_user(client_id, password, app_acl(device.did, client_id))
        self._remote_apps[client_id] = device.did
        await self.cloud.app_bound(device.did)
        return web.json_response(
            {
                "did": device.did,
                "product_key": device.product_key,
                "client_id": client_id,
                "username": client_id,
                "password": password,
                "mqtt_host": self.broker.host,
                "mqtt_port": self.broker.port,
            },
            status=201,
        )

    async def _op_app_unbind(self, request: web.Request) -> web.StreamResponse:
        client_id = request.match_info["client_id"]
        did = self._remote_apps.pop(client_id, None)
        if did is None:
            raise KeyError(f"unknown app {client_id}")
        await self.broker.remove_user(client_id)
        await self.cloud.app_unbound(did)
        return web.Response(status=204)
