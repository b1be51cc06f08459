"""Fixtures: a LAN server on 127.0.0.1 with a free port and two served devices."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from custom_components.gizwits_device.protocol.lan import LanServer

from .helpers import HOST, ClientFactory, RawClient


@pytest.fixture
async def lan_server(socket_enabled: None) -> AsyncIterator[LanServer]:
    """A started LanServer on 127.0.0.1:<free port>, no devices yet."""
    server = LanServer(hosts=[HOST], port=0)
    await server.start()
    yield server
    await server.stop()
    for device in server.devices:  # no binding-window timer outlives the test
        device.binding.close()


@pytest.fixture
async def connect(lan_server: LanServer) -> AsyncIterator[ClientFactory]:
    """Opens RawClients to `lan_server`; closes them at teardown."""
    clients: list[RawClient] = []

    async def factory() -> RawClient:
        client = await RawClient.connect(lan_server.port)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()
