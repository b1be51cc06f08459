"""Pieces the Home Assistant benchmarks share: devices, config entries, MQTT clients, figures."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
import json
import logging
import math
from pathlib import Path
import secrets
import socket
from typing import Any

import aiomqtt

from custom_components.gizwits_device.const import (
    CONF_BASE_URL,
    CONF_DID,
    CONF_MAC,
    CONF_MAPPING,
    CONF_MCU_HARD_VERSION,
    CONF_MCU_SOFT_VERSION,
    CONF_PASSCODE,
    CONF_PRODUCT,
    CONF_PRODUCT_KEY,
    CONF_WIFI_HARD_VERSION,
    CONF_WIFI_SOFT_VERSION,
    DEFAULT_HARD_VERSION,
    DEFAULT_SOFT_VERSION,
)
from emulator.server import Emulator

PRODUCTS = Path(__file__).resolve().parents[1] / "custom_components/gizwits_device/products"
PLUG: dict[str, Any] = json.loads((PRODUCTS / "smart_plug.json").read_text())
PLUG_KEY: str = PLUG["product_key"]
# A product key with no product definition: an endpoint without the entity bridge.
RAW_KEY = "0123456789abcdef0123456789abcdef"
PLUG_MAPPING = {
    "switch": {"entity_id": "input_boolean.bench_switch", "attribute": None},
    "countdown": {"entity_id": "input_number.bench_countdown", "attribute": None},
}
MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A device registered in the emulator, as one config entry of the HA process."""

    did: str
    passcode: str
    product_key: str
    mac: str

    @property
    def unique_id(self) -> str:
        return f"{self.product_key}_{self.mac}"

    def entry(self, emu: Emulator, options: dict[str, Any] | None = None) -> dict[str, Any]:
        """The config entry (as the config flow stores it) for the probe's add_entries."""
        data = {
            CONF_BASE_URL: emu.gservice_url,
            CONF_PRODUCT_KEY: self.product_key,
            CONF_MAC: self.mac,
            CONF_PASSCODE: self.passcode,
            CONF_DID: self.did,
            CONF_WIFI_HARD_VERSION: DEFAULT_HARD_VERSION,
            CONF_WIFI_SOFT_VERSION: DEFAULT_SOFT_VERSION,
            CONF_MCU_HARD_VERSION: DEFAULT_HARD_VERSION,
            CONF_MCU_SOFT_VERSION: DEFAULT_SOFT_VERSION,
        }
        title = f"Gizwits {self.product_key[-6:]} {self.mac[-6:]}"
        return {"title": title, "unique_id": self.unique_id, "data": data, "options": options}


def plug_options(mapping: dict[str, Any] | None = None) -> dict[str, Any]:
    """Entry options holding the smart plug product (and a mapping; none = all native)."""
    return {CONF_PRODUCT: PLUG, CONF_MAPPING: mapping or {}}


async def register(emu: Emulator, product_key: str, count: int, first: int = 1) -> list[Endpoint]:
    """`count` devices with MACs 02:00:00:xx:xx:xx, known to the broker once this returns."""
    endpoints = []
    for number in range(first, first + count):
        mac = f"020000{number:06X}"
        passcode = secrets.token_hex(5).upper()
        device = emu.state.register(product_key, mac, passcode)
        endpoints.append(Endpoint(device.did, passcode, product_key, mac))
    await emu.settle()
    return endpoints


# The socket options the integration's session uses (no Nagle): the app side and the floor
# get the same, so that neither waits on a delayed ACK the session does not.
NO_DELAY = ((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),)


def client(
    host: str, port: int, user: str, password: str, identifier: str | None = None
) -> aiomqtt.Client:
    """A plain aiomqtt client (MQTT 3.1 like Gizwits, no Nagle like the session)."""
    return aiomqtt.Client(
        host,
        port,
        identifier=identifier or user,
        username=user,
        password=password,
        protocol=aiomqtt.ProtocolVersion.V31,
        socket_options=NO_DELAY,
    )


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def run_with_emulator(
    doc: str,
    run: Callable[[Emulator, bool], Awaitable[Any]],
    product_keys: list[str],
    *,
    quick_help: str,
) -> None:
    """The command line of a benchmark that runs against one emulator (`--quick`)."""
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=doc.split("\n", maxsplit=1)[0])
    parser.add_argument("--quick", action="store_true", help=quick_help)
    quick: bool = parser.parse_args().quick

    async def main() -> None:
        async with Emulator(product_keys=product_keys) as emu:
            await run(emu, quick)

    asyncio.run(main())
