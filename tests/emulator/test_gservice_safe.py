"""The emulated GService's safe calls over raw HTTP (protocol.md §9): its own cipher held to the
pinned known answers, the product secrets it knows, wrong secrets, and which API was used."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
import json
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest

from emulator.__main__ import CliError, serve as serve_cli
from emulator.gservice import create_gservice_app
from emulator.gservice_safe import seal, unseal
from emulator.state import CloudState, DeviceEvent, default_product_secret
from tests.gservice_servers import OTHER_PRODUCT_KEY, PASSCODE, PRODUCT_KEY, new_state, serve
from tests.vectors import VECTORS_DIR

SECRET = "6f3e2b1c0a9d8e7f6a5b4c3d2e1f0a9b"
WRONG_SECRET = "00112233445566778899aabbccddeeff"
MAC = "a0b1c2d3e4f5"
BODIES = json.loads((VECTORS_DIR / "product_secret.json").read_text(encoding="utf-8"))["bodies"]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class Safe:
    def __init__(self, http: aiohttp.ClientSession, url: str, state: CloudState) -> None:
        self.http, self.url, self.state = http, url, state

    async def register(
        self, secret: str = SECRET, product_key: str = PRODUCT_KEY, mac: str = MAC
    ) -> tuple[int, str]:
        data = seal(secret, f"mac={mac}&passcode={PASSCODE}&type=normal")
        async with self.http.post(
            f"{self.url}/dev/{product_key}/device", data=f"data={data}", headers=FORM
        ) as resp:
            return resp.status, await resp.text()

    async def provision(
        self, did: str, secret: str = SECRET, product_key: str = PRODUCT_KEY
    ) -> tuple[int, str]:
        async with self.http.get(
            f"{self.url}/dev/{product_key}/device", params={"did": seal(secret, did)}
        ) as resp:
            return resp.status, await resp.text()


@pytest.fixture
async def safe(socket_enabled: None) -> AsyncIterator[Safe]:
    state = new_state()
    state.add_product(PRODUCT_KEY, "Test product", SECRET)
    async with aiohttp.ClientSession() as http, serve(create_gservice_app(state)) as url:
        yield Safe(http, url, state)


@pytest.mark.parametrize("vector", BODIES, ids=lambda v: v["name"])
def test_the_emulators_cipher_matches_the_known_answers(vector: dict[str, Any]) -> None:
    assert seal(vector["secret"], vector["text"]) == vector["hex"]
    assert unseal(vector["secret"], vector["hex"]) == vector["text"]


@pytest.mark.parametrize("text", ["", "xyz", "00" * 15, "zz" * 16])
def test_unseal_refuses_what_is_not_sealed(text: str) -> None:
    assert unseal(SECRET, text) is None


def test_unseal_with_another_key_is_not_text_or_not_the_text() -> None:
    sealed = seal(SECRET, "did=GdzuSRncfDPGHGo2LxwgM2")
    assert unseal(WRONG_SECRET, sealed) != "did=GdzuSRncfDPGHGo2LxwgM2"


async def test_safe_register_and_provision(safe: Safe) -> None:
    events: list[DeviceEvent] = []
    safe.state.add_listener(events.append)
    status, text = await safe.register()
    assert status == 201
    reply = unseal(SECRET, text)
    assert reply is not None
    assert reply.startswith("did=")
    did = reply.removeprefix("did=")
    assert safe.state.devices[did].mac == MAC.upper()
    assert events[-1].api == "safe"

    status, text = await safe.provision(did)
    assert status == 200
    provision = dict(parse_qsl(unseal(SECRET, text) or ""))
    assert provision["host"] == safe.state.m2m_host
    assert provision["port"] == str(safe.state.m2m_port)
    assert {"server_ts", "log_host", "log_port", "biz_log", "sys_log"} <= provision.keys()
    assert safe.state.devices[did].apis == {"register": "safe", "provision": "safe"}
    assert safe.state.api_calls[-2:] == [("register", did, "safe"), ("provision", did, "safe")]


async def test_a_wrong_secret_gets_blocks_that_decrypt_to_garbage(safe: Safe) -> None:
    status, text = await safe.register(WRONG_SECRET)
    assert status == 201
    assert len(text) == 64
    assert not (unseal(WRONG_SECRET, text) or "").startswith("did=")
    assert safe.state.devices == {}

    did = safe.state.register(PRODUCT_KEY, MAC, PASSCODE).did
    status, text = await safe.provision(did, WRONG_SECRET)
    assert status == 200
    assert "host=" not in (unseal(WRONG_SECRET, text) or "")


async def test_safe_refusals_are_gizwits_error_bodies(safe: Safe) -> None:
    async def code_of(status_text: tuple[int, str]) -> int:
        status, text = status_text
        assert status == 400
        code: int = json.loads(text)["error_code"]
        return code

    assert await code_of(await safe.register(product_key=OTHER_PRODUCT_KEY)) == 9002
    assert await code_of(await safe.provision("GdzuSRncfDPGHGo2LxwgM2")) == 9014
    async with safe.http.post(
        f"{safe.url}/dev/{PRODUCT_KEY}/device", data="nodata=1", headers=FORM
    ) as resp:
        assert (resp.status, (await resp.json())["error_code"]) == (400, 9015)
    # A DID of another product is not found under this one.
    safe.state.add_product(OTHER_PRODUCT_KEY, secret=WRONG_SECRET)
    other = safe.state.register(OTHER_PRODUCT_KEY, MAC, PASSCODE).did
    assert await code_of(await safe.provision(other)) == 9014


async def test_faults_apply_to_the_safe_calls(safe: Safe) -> None:
    safe.state.inject_fault("register", "status", status=503)
    assert (await safe.register())[0] == 503


def test_every_product_has_a_secret() -> None:
    state = CloudState(products={PRODUCT_KEY.upper(): ""})
    assert state.product_secret(PRODUCT_KEY) == default_product_secret(PRODUCT_KEY)
    assert default_product_secret(PRODUCT_KEY) != default_product_secret(OTHER_PRODUCT_KEY)
    state.add_product(PRODUCT_KEY, secret=SECRET.upper())
    assert state.product_secret(PRODUCT_KEY) == SECRET
    state.add_product(PRODUCT_KEY)  # re-adding keeps the secret
    assert state.product_secret(PRODUCT_KEY) == SECRET
    with pytest.raises(ValueError, match="32 hex"):
        state.add_product(OTHER_PRODUCT_KEY, secret="xyz")


async def test_operator_creates_a_product_with_its_secret(safe: Safe) -> None:
    async with safe.http.post(
        f"{safe.url}/emulator/products",
        json={"product_key": OTHER_PRODUCT_KEY, "product_secret": WRONG_SECRET},
    ) as resp:
        assert resp.status == 201
        assert await resp.json() == {
            "product_key": OTHER_PRODUCT_KEY,
            "product_secret": WRONG_SECRET,
        }
    async with safe.http.post(
        f"{safe.url}/emulator/products", json={"product_key": PRODUCT_KEY, "product_secret": "1"}
    ) as resp:
        assert resp.status == 400
    await safe.register()
    async with safe.http.get(f"{safe.url}/emulator/devices") as resp:
        assert (await resp.json())[0]["apis"] == {"register": "safe"}


@pytest.mark.parametrize(
    ("keys", "secrets", "match"),
    [([PRODUCT_KEY], [SECRET, SECRET], "more --product-secret"), ([], ["nothex"], "32 hex")],
)
async def test_serve_refuses_bad_secret_options(
    keys: list[str], secrets: list[str], match: str
) -> None:
    args = argparse.Namespace(
        product_key=keys, product_secret=secrets, state_dir=None, http_port=0, mqtt_port=0
    )
    with pytest.raises(CliError, match=match):
        await serve_cli(args)
