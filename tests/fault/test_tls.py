"""The M2M session over TLS (port 8883, as Gizwits' brokers serve it; protocol.md §7).

Provision decides: a broker on port 8883 is spoken to over TLS with the session's SSL context.
The PKI is generated here; mosquitto serves TLS on 8883 of random loopback addresses. A
certificate from the trusted CA for the provisioned address logs in; a certificate the
context does not trust, or one issued for another address, is refused: the session keeps
retrying (it is unreachable, not refused credentials) and never logs in.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
import secrets
import ssl

import aiohttp
import aiomqtt
import psutil
import pytest
import pytest_socket

from custom_components.gizwits_device.protocol import (
    ConnectionState,
    GServiceClient,
    M2MAuthenticationError,
    M2MSession,
    ReceivedFrame,
)
from custom_components.gizwits_device.protocol.frame_codec import encode_frame
from custom_components.gizwits_device.protocol.frames import AppPassthrough
from emulator.broker import device_acl
from emulator.state import CloudState
from tests.gservice_servers import MAC_WIRE, PASSCODE, PRODUCT_KEY, new_state, serve_emulator
from tests.integration.helpers import wait_until

from .sessions import TIMING
from .tls import TLS_PORT, CertificateAuthority, TlsListener, TlsMosquitto, random_loopback

TESTER = "tester"


@dataclass
class Cloud:
    """GService + a TLS mosquitto knowing one registered device."""

    state: CloudState
    gservice_url: str
    broker: TlsMosquitto
    ca: CertificateAuthority
    did: str
    good_host: str
    misnamed_host: str
    tester_password: str


@pytest.fixture
async def cloud(socket_enabled: None) -> AsyncIterator[Cloud]:
    ca = CertificateAuthority("Gizwits test CA")
    good_host = random_loopback()
    misnamed_host = random_loopback()
    while misnamed_host == good_host:
        misnamed_host = random_loopback()
    # Loopback only, as everywhere; these two addresses too (the plugin allows 127.0.0.1).
    pytest_socket.socket_allow_hosts(["127.0.0.1", good_host, misnamed_host])
    broker = TlsMosquitto(
        ca,
        [
            TlsListener(good_host, ca.issue_server(good_host)),
            # Trusted CA, but the certificate names another address.
            TlsListener(misnamed_host, ca.issue_server(good_host)),
        ],
    )
    state = new_state()
    device = state.register(PRODUCT_KEY, MAC_WIRE, PASSCODE)
    tester_password = secrets.token_hex(8)
    broker.stage_user(device.did, PASSCODE, device_acl(device.did, PRODUCT_KEY))
    broker.stage_user(TESTER, tester_password, ["topic readwrite #"])
    async with broker, serve_emulator(state) as url:
        yield Cloud(state, url, broker, ca, device.did, good_host, misnamed_host, tester_password)


@contextlib.asynccontextmanager
async def session_to(
    cloud: Cloud, host: str, context: ssl.SSLContext
) -> AsyncIterator[tuple[M2MSession, list[ReceivedFrame]]]:
    """Provision answers `host`:8883; run a session with `context` until the block ends."""
    cloud.state.m2m_host = host
    cloud.state.m2m_port = TLS_PORT
    frames: list[ReceivedFrame] = []
    async with aiohttp.ClientSession() as http:
        session = M2MSession(
            GServiceClient(http, cloud.gservice_url),
            did=cloud.did,
            passcode=PASSCODE,
            product_key=PRODUCT_KEY,
            timing=TIMING,
            ssl_context=context,
        )
        session.add_frame_listener(frames.append)
        task = asyncio.create_task(session.run())
        try:
            yield session, frames
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, M2MAuthenticationError):
                await task


def trusting(ca: CertificateAuthority) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=ca.pem.decode())


def _tls_connections(host: str) -> int:
    return sum(
        1
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.status == psutil.CONN_ESTABLISHED
        and conn.raddr
        and (conn.raddr.ip, conn.raddr.port) == (host, TLS_PORT)
    )


async def test_session_over_tls_with_the_trusted_ca(cloud: Cloud) -> None:
    """Provisioned 8883 → TLS; the login works and frames flow."""
    async with session_to(cloud, cloud.good_host, trusting(cloud.ca)) as (session, frames):
        await wait_until(lambda: session.connected or session.status.failures >= 2)
        assert session.connected, session.status.last_error
        assert session.status.endpoint is not None
        assert session.status.endpoint.port == TLS_PORT
        assert _tls_connections(cloud.good_host) == 1
        async with aiomqtt.Client(
            cloud.broker.host,
            cloud.broker.port,
            username=TESTER,
            password=cloud.tester_password,
            protocol=aiomqtt.ProtocolVersion.V31,
        ) as app:
            await app.publish(
                f"app2dev/{cloud.did}/app1", encode_frame(AppPassthrough(b"over tls"))
            )
            await wait_until(lambda: any(r.frame == AppPassthrough(b"over tls") for r in frames))


@pytest.mark.parametrize("case", ["untrusted_ca", "wrong_host_name"])
async def test_tls_refused(cloud: Cloud, case: str) -> None:
    """An untrusted certificate or one for another address: never logged in, retried with
    the backoff as an unreachable broker (not an authentication failure)."""
    if case == "untrusted_ca":
        host, context = cloud.good_host, trusting(CertificateAuthority("Someone else's CA"))
    else:
        host, context = cloud.misnamed_host, trusting(cloud.ca)
    async with session_to(cloud, host, context) as (session, _):
        await wait_until(lambda: session.status.failures >= 3)
        assert session.stats.connects == 0
        assert not session.connected
        assert session.status.state in (ConnectionState.WAITING, ConnectionState.CONNECTING)
        error = (session.status.last_error or "").lower()
        assert "certificate" in error or "mismatch" in error, error
