"""A frozen broker (SIGSTOP): sockets stay open, nothing answers (protocol.md §2.7, §2.8).

The heartbeat is paho's keepalive, sized so that the broker's silence for two heartbeat periods
past a ping (two missed PINGRESPs) ends the link (see SessionTiming.keepalive).
"""

from __future__ import annotations

from custom_components.gizwits_device.protocol import ConnectionState
from emulator.server import Emulator
from tests.integration.helpers import wait_until

from .checks import ResourceCount, check_backoff
from .sessions import TIMING, running_session


async def test_frozen_broker_lost_heartbeat_then_recovery(emulator: Emulator) -> None:
    """Unanswered PINGREQs end the link as a lost heartbeat; attempts against the frozen
    broker fail and back off (never an auth failure); once thawed the session logs in again
    and leaves no half-open connection behind."""
    async with running_session(emulator) as run:
        session = run.session
        before = ResourceCount.now(emulator.broker.port)
        emulator.broker.pause()
        try:
            await wait_until(lambda: not session.connected)
            assert session.stats.heartbeat_losses == 1
            assert session.stats.connection_losses == 1
            assert "PINGRESP" in (session.status.last_error or "")
            # Still frozen: CONNECTs time out, each one a failure with a longer wait.
            await wait_until(lambda: session.status.failures >= 3)
            assert session.status.state is not ConnectionState.AUTH_FAILED
            assert session.stats.connects == 1
        finally:
            emulator.broker.resume()
        await wait_until(lambda: session.connected)
        assert session.stats.connects == 2
        assert session.stats.connection_losses == 1
        assert check_backoff(run.statuses, TIMING) == 1
        # The attempts made while frozen left nothing open: the device and the cloud agent.
        await wait_until(
            lambda: (
                ResourceCount.now(emulator.broker.port).broker_connections
                == before.broker_connections
            )
        )
        # The session works: the cloud answers the 0x020F of the new login.
        requests = emulator.cloud.online_app_requests
        await session.request_online_apps()
        await emulator.cloud.wait_online_app_requests(requests + 1)
