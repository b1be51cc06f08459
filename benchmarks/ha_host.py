"""Home Assistant for the benchmarks: the test harness's HomeAssistant, run as a script.

    python -m benchmarks.ha_host --port N --config-dir DIR

`async_test_home_assistant` (pytest-homeassistant-custom-component) builds the real core
(event bus, state machine, service registry, entity/device registries, config entries) without
the frontend and the other bundled integrations a full `hass` start needs, which the test
requirements do not install. Here it loads the input helpers the bridge is mapped to and the
real integration from custom_components/, then serves `ha_probe` commands on 127.0.0.1:N until
told to stop (or SIGTERM). It runs in its own process, so the driver can measure its CPU and
memory apart from the emulator's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

from homeassistant import loader
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_test_home_assistant

from benchmarks.ha_probe import Probe
from benchmarks.ha_process import ANSWER_LIMIT as LINE_LIMIT
from custom_components.gizwits_device import lan
from emulator.broker import free_port

HELPERS: dict[str, dict[str, Any]] = {
    "input_boolean": {"bench_switch": {"name": "Bench switch"}},
    "input_number": {
        "bench_countdown": {"name": "Bench countdown", "min": 0, "max": 1440, "step": 1}
    },
}


async def main(port: int, config_dir: str, *, every_report_broadcast: bool = False) -> None:
    """Run HA with the probe until the driver says stop."""
    async with async_test_home_assistant(config_dir=config_dir) as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # let HA load custom_components/
        # gizwits_device depends on file_upload -> http. The harness never fires
        # EVENT_HOMEASSISTANT_START, so http never listens; loopback all the same.
        http = {"server_host": ["127.0.0.1"], "server_port": free_port()}
        assert await async_setup_component(hass, "http", {"http": http})
        # The LAN side on loopback only, free ports, no broadcast (nothing leaves the machine).
        lan.LAN_PORTS = lan.LanPorts(
            discovery=0,
            tcp=0,
            discovery_host="127.0.0.1",
            broadcast_count=0,
            interfaces=("127.0.0.1/8",),
            # Status broadcasts to 127.255.255.255 on a port nobody listens on.
            status_broadcast=free_port(),
        )
        if every_report_broadcast:
            # Every report broadcast, however close together (the worst case per report; the
            # integration otherwise sends at most one per report interval).
            lan.REPORT_MIN_INTERVAL = 0
        for domain, config in HELPERS.items():
            assert await async_setup_component(hass, domain, {domain: config})
        probe = Probe(hass)
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, probe.stopped.set)
        server = await asyncio.start_server(probe.serve, "127.0.0.1", port, limit=LINE_LIMIT)
        await probe.stopped.wait()
        server.close()
        await probe.stop_echo()
        await hass.async_stop(force=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config-dir", required=True)
    parser.add_argument(
        "--every-report-broadcast",
        action="store_true",
        help="lift the report rate limit of the UDP status broadcast (benchmark 6's worst case)",
    )
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    # aiomqtt warns once more than 10 publishes wait on one client: pipelined runs' normal.
    logging.getLogger("mqtt").setLevel(logging.ERROR)
    asyncio.run(
        main(args.port, args.config_dir, every_report_broadcast=args.every_report_broadcast)
    )
