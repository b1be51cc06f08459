"""Walk the integration's main UI flows in headless Chromium and screenshot them.

Run by scripts/walkthrough against a fresh `scripts/develop` (emulator + Home Assistant on
127.0.0.1). It onboards Home Assistant through its REST API, then drives the real frontend over
the Chrome DevTools Protocol: set-up (region Custom → URL step), the options flow (product,
mapping, units), the set-up notification, the device page, app binding (*Binding ends* and the
notification with the passcode), a device trigger in the automation editor with its field help,
firmware waiting to be flashed, and the options menu and units step in Chinese. Screenshots go
to --out.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
from pathlib import Path
import secrets
import subprocess
import sys
import time
from typing import Any

import aiohttp

PLUG = Path(__file__).parents[1] / "custom_components/gizwits_device/products/smart_plug.json"
# The owner of a throw-away Home Assistant in a temporary directory.
PASSWORD = secrets.token_urlsafe(16)

# Deep DOM helpers injected into every page: the frontend is shadow roots all the way down.
HELPERS = r"""
window.__deep = (root = document) => {
  const out = [], stack = [root];
  while (stack.length) {
    const node = stack.pop();
    if (node.nodeType === 1) out.push(node);
    if (node.shadowRoot) stack.push(node.shadowRoot);
    const kids = node.children || [];
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]);
  }
  return out;
};
window.__visible = (el) => {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0;
};
window.__clickText = (texts) => {
  const wanted = new Set(texts);
  const hits = __deep().filter((el) => wanted.has((el.textContent || "").trim()) && __visible(el));
  if (!hits.length) return false;
  hits.sort((a, b) => { const ra = a.getBoundingClientRect(), rb = b.getBoundingClientRect();
    return ra.width * ra.height - rb.width * rb.height; });
  hits[0].click();
  return true;
};
window.__clickLabel = (texts) => {
  const wanted = new Set(texts);
  const hits = __deep().filter((el) => __visible(el) && (wanted.has(el.label) ||
    wanted.has(el.getAttribute("aria-label")) || wanted.has(el.getAttribute("title"))));
  if (!hits.length) return false;
  hits[0].click();
  return true;
};
window.__flowStep = () => {
  const dialog = __deep().find((el) => el.localName === "dialog-data-entry-flow");
  return dialog && dialog._step ? dialog._step.step_id || dialog._step.type : null;
};
window.__setForm = (data) => {
  const form = __deep().find((el) => el.localName === "step-flow-form");
  const haForm = form && __deep(form.shadowRoot).find((el) => el.localName === "ha-form");
  if (!haForm) return false;
  const value = { ...(haForm.data || {}), ...data };
  const changed = { detail: { value }, bubbles: true, composed: true };
  haForm.dispatchEvent(new CustomEvent("value-changed", changed));
  return true;
};
"""


class Browser:
    """One Chromium page over the DevTools Protocol."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        call_id = next(self._ids)
        await self._ws.send_json({"id": call_id, "method": method, "params": params})
        while True:
            message = await self._ws.receive_json(timeout=60)
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result

    async def js(self, expression: str) -> Any:
        result = await self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        return result.get("result", {}).get("value")

    async def wait(self, expression: str, seconds: float = 30) -> Any:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if value := await self.js(f"(() => {{ {HELPERS}; return ({expression}); }})()"):
                return value
            await asyncio.sleep(0.3)
        raise TimeoutError(expression)

    async def do(self, expression: str) -> Any:
        return await self.js(f"(() => {{ {HELPERS}; return ({expression}); }})()")

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait("document.querySelector('home-assistant')?.hass?.connected === true", 60)
        await asyncio.sleep(2)  # lazy panels and translations

    async def click(self, *texts: str) -> None:
        """Click the (smallest visible) element showing one of ``texts``."""
        await self.wait(f"__clickText({json.dumps(list(texts))})")
        await asyncio.sleep(1)

    async def click_label(self, *labels: str) -> None:
        """Click an icon button by its label (aria-label / title)."""
        await self.wait(f"__clickLabel({json.dumps(list(labels))})")
        await asyncio.sleep(1)

    async def shot(self, out: Path, name: str) -> None:
        await asyncio.sleep(1)
        data = await self.send("Page.captureScreenshot", format="png")
        (out / f"{name}.png").write_bytes(base64.b64decode(data["data"]))
        print(f"  {name}.png", flush=True)


async def onboard(http: aiohttp.ClientSession, ha: str) -> dict[str, Any]:
    """Create the owner and finish onboarding; the tokens the frontend stores."""
    client_id = f"{ha}/"
    async with http.post(
        f"{ha}/api/onboarding/users",
        json={
            "client_id": client_id,
            "name": "Maker",
            "username": "maker",
            "password": PASSWORD,
            "language": "en",
        },
    ) as response:
        code = (await response.json())["auth_code"]
    async with http.post(
        f"{ha}/auth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": client_id},
    ) as response:
        tokens: dict[str, Any] = await response.json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    for step, body in (
        ("core_config", {}),
        ("analytics", {}),
        ("integration", {"client_id": client_id, "redirect_uri": f"{ha}/?auth_callback=1"}),
    ):
        async with http.post(f"{ha}/api/onboarding/{step}", json=body, headers=headers) as r:
            r.raise_for_status()
    return {
        **tokens,
        "hassUrl": ha,
        "clientId": client_id,
        "expires": int(time.time() * 1000) + tokens["expires_in"] * 1000,
    }


async def api(
    http: aiohttp.ClientSession, ha: str, tokens: dict[str, Any], method: str, path: str, **kw: Any
) -> Any:
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    async with http.request(method, f"{ha}/api/{path}", headers=headers, **kw) as response:
        response.raise_for_status()
        return await response.json()


def emulator_app(emulator: str, did: str, *args: str) -> None:
    subprocess.run(  # noqa: S603 - our own emulator CLI, arguments we built
        [sys.executable, "-m", "emulator", "app", "--url", emulator, "--did", did, *args],
        check=True,
        capture_output=True,
        timeout=60,
    )


async def walk(args: argparse.Namespace, product_key: str) -> None:
    out: Path = args.out
    async with aiohttp.ClientSession() as http:
        tokens = await onboard(http, args.ha)
        async with http.get(f"http://127.0.0.1:{args.cdp_port}/json/list") as response:
            page = next(t for t in await response.json() if t["type"] == "page")
        async with http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            browser = Browser(ws)
            await browser.send(
                "Emulation.setDeviceMetricsOverride",
                width=1280,
                height=900,
                deviceScaleFactor=1,
                mobile=False,
            )
            # Logged in as the owner: the frontend reads its tokens from localStorage.
            await browser.send("Page.navigate", url=f"{args.ha}/onboarding.html")
            await asyncio.sleep(2)
            await browser.js(
                f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))})"
            )

            print("set-up", flush=True)
            await browser.goto(f"{args.ha}/config/integrations/dashboard/add?domain=gizwits_device")
            await browser.click("OK")  # "Do you want to set up Gizwits Device?"
            await browser.wait("__flowStep() === 'user'")
            await browser.do(
                f"__setForm({json.dumps({'region': 'custom', 'product_key': product_key})})"
            )
            await browser.shot(out, "01-setup-user")
            await browser.click("Next", "Submit")
            await browser.wait("__flowStep() === 'custom_url'")
            await browser.do(f"__setForm({json.dumps({'base_url': args.emulator})})")
            await browser.shot(out, "02-setup-custom-url")
            await browser.click("Submit", "Next")
            await browser.wait("__flowStep() === 'create_entry'", 60)
            await browser.shot(out, "03-setup-created")
            await browser.click("Skip and finish", "Finish")
            await browser.goto(f"{args.ha}/config/integrations/integration/gizwits_device")
            await show_notifications(browser)
            await browser.shot(out, "03b-notification-next-steps")

            entries = await api(http, args.ha, tokens, "GET", "config/config_entries/entry")
            entry = next(e for e in entries if e["domain"] == "gizwits_device")
            print("options", flush=True)
            await browser.goto(f"{args.ha}/config/integrations/integration/gizwits_device")
            await browser.shot(out, "04-integration-page")
            await browser.click_label("Configure")
            await browser.wait("__flowStep() === 'init'")
            await browser.shot(out, "05-options-menu")
            await browser.click("Product definition (data points)")
            await browser.wait("__flowStep() === 'product'")
            await browser.shot(out, "06-options-product")
            await browser.click("A shipped example")
            await browser.wait("__flowStep() === 'product_example'")
            await browser.do("__setForm({example: 'smart_plug'})")
            await browser.shot(out, "06b-options-product-example")
            await browser.click("Submit", "Next")
            await browser.wait("__flowStep() === 'mapping'")
            await browser.shot(out, "07-options-mapping")
            await browser.click("Submit", "Next")
            await browser.wait("__flowStep() === 'units'")
            await browser.shot(out, "08-options-units")
            await browser.click("Submit", "Next")
            await browser.wait("__flowStep() === 'create_entry'")
            await asyncio.sleep(8)  # the entry reloads with the product

            device = await device_over_ws(http, args.ha, tokens, entry["entry_id"])
            did = str(device["serial_number"])  # the DID, as the device page shows it
            print("device page", flush=True)
            await browser.goto(f"{args.ha}/config/devices/device/{device['id']}")
            await browser.shot(out, "09-device-page")

            print("app binding", flush=True)
            states = await api(http, args.ha, tokens, "GET", "states")
            button = next(
                s["entity_id"]
                for s in states
                if s["entity_id"].startswith("button.")
                and s["entity_id"].endswith("_allow_app_binding")
            )
            await api(
                http, args.ha, tokens, "POST", "services/button/press", json={"entity_id": button}
            )
            await asyncio.sleep(2)
            await browser.goto(f"{args.ha}/config/devices/device/{device['id']}")
            await browser.shot(out, "09b-device-binding-ends")
            await show_notifications(browser)
            await browser.shot(out, "09c-notification-binding")

            print("automation with a device trigger", flush=True)
            automation = {
                "alias": "Gizwits app toggles the pump",
                "triggers": [
                    {
                        "trigger": "device",
                        "domain": "gizwits_device",
                        "device_id": device["id"],
                        "type": "app_command",
                        "payload": "0101",
                    }
                ],
                "actions": [],
            }
            await api(
                http,
                args.ha,
                tokens,
                "POST",
                "config/automation/config/walkthrough",
                json=automation,
            )
            await browser.goto(f"{args.ha}/config/automation/edit/walkthrough")
            await browser.click("Gizwits app sent a command")
            await browser.shot(out, "10-automation-device-trigger")

            print("firmware waiting to be flashed", flush=True)
            firmware = out / "firmware.bin"
            await asyncio.to_thread(firmware.write_bytes, bytes(range(256)) * 16)
            emulator_app(
                args.emulator,
                did,
                "add-firmware",
                "--type",
                "2",
                "--soft-version",
                "00000002",
                str(firmware),
            )
            emulator_app(args.emulator, did, "ota-check", "--type", "2")
            states = await api(http, args.ha, tokens, "GET", "states")
            mcu = next(
                s["entity_id"]
                for s in states
                if s["entity_id"].startswith("update.") and s["entity_id"].endswith("mcu_firmware")
            )
            await asyncio.sleep(3)
            await api(
                http,
                args.ha,
                tokens,
                "POST",
                "services/update/install",
                json={"entity_id": mcu},
            )
            await asyncio.sleep(3)
            await browser.goto(f"{args.ha}/config/devices/device/{device['id']}")
            await browser.do(
                "document.querySelector('home-assistant').dispatchEvent(new CustomEvent("
                f"'hass-more-info', {{detail: {{entityId: '{mcu}'}}, bubbles: true, "
                "composed: true}))"
            )
            await browser.shot(out, "11-firmware-waiting")

            print("Chinese", flush=True)
            await browser.js("localStorage.setItem('selectedLanguage', '\"zh-Hans\"')")
            await browser.goto(f"{args.ha}/config/integrations/integration/gizwits_device")
            await browser.click_label("配置", "Configure")
            await browser.wait("__flowStep() === 'init'")
            await browser.shot(out, "12-zh-options-menu")
            await browser.click("将数据点映射到实体")
            await browser.wait("__flowStep() === 'mapping'")
            await browser.click("提交", "下一步")
            await browser.wait("__flowStep() === 'units'")
            await browser.shot(out, "13-zh-units")
            await browser.goto(f"{args.ha}/config/automation/edit/walkthrough")
            await browser.click("机智云 App 发送了指令", "Gizwits app sent a command")
            await browser.shot(out, "14-zh-device-trigger")
            await asyncio.to_thread(firmware.unlink)


async def show_notifications(browser: Browser) -> None:
    """Open the notification drawer (the sidebar's *Notifications*)."""
    await browser.do(
        "__deep().find((el) => el.localName === 'home-assistant-main').dispatchEvent("
        "new CustomEvent('hass-show-notifications', {bubbles: true, composed: true}))"
    )
    await browser.wait("__deep().some((el) => el.localName === 'notification-item')")
    await asyncio.sleep(1)


async def ws_call(
    http: aiohttp.ClientSession, ha: str, tokens: dict[str, Any], message: dict[str, Any]
) -> Any:
    """One websocket API command; its result."""
    async with http.ws_connect(f"{ha.replace('http', 'ws', 1)}/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": tokens["access_token"]})
        await ws.receive_json()
        await ws.send_json({"id": 1, **message})
        reply = await ws.receive_json()
    if not reply.get("success"):
        raise RuntimeError(f"{message['type']}: {reply.get('error')}")
    return reply["result"]


async def device_over_ws(
    http: aiohttp.ClientSession, ha: str, tokens: dict[str, Any], entry_id: str
) -> dict[str, Any]:
    devices = await ws_call(http, ha, tokens, {"type": "config/device_registry/list"})
    device: dict[str, Any] = next(d for d in devices if entry_id in d["config_entries"])
    return device


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ha", required=True, help="Home Assistant URL")
    parser.add_argument("--emulator", required=True, help="the emulator's GService URL")
    parser.add_argument("--cdp-port", type=int, required=True, help="Chromium's debugging port")
    parser.add_argument("--out", type=Path, required=True, help="where the screenshots go")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    asyncio.run(walk(args, json.loads(PLUG.read_text())["product_key"]))


if __name__ == "__main__":
    main()
