"""Benchmark 6: what the UDP status broadcast costs Home Assistant per status report.

    python -m benchmarks.bench_lan [--quick]

One HA process (`ha_host`) with two smart-plug entries, identical but for the *Local network*
option "Broadcast status changes": on for one, off for the other (the same-run baseline). Each
round sends `count` full status reports from one entry's bridge, then from the other's, taking
turns so both see the same moments of a busy machine; a report goes to the cloud (an M2M
publish) and, for the first entry, also as ``0x0091 | 06 <MAC> | report`` to UDP on
127.255.255.255 (protocol.md §8). The figure: the extra HA CPU time (process time, all
threads, measured inside HA) per report, as a share of a report without the broadcast. Every
round is checked: the broadcasting entry sent one datagram per report, the other none.
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import PLUG_KEY, plug_options, register, run_with_emulator
from benchmarks.ha_process import HaProcess
from custom_components.gizwits_device.const import CONF_LAN_STATUS_BROADCAST
from emulator.server import Emulator

TARGET = 0.05


async def run(emu: Emulator, quick: bool) -> dict[str, Any]:
    """Alternating rounds with and without the broadcast; prints the table."""
    count, rounds = (500, 3) if quick else (2000, 7)
    on, off = await register(emu, PLUG_KEY, 2, first=3000)
    # Every report broadcast: the cost per report, not per report interval.
    async with HaProcess(host_args=("--every-report-broadcast",)) as ha:
        await ha.call("load", domains=["gizwits_device"])
        entries = [
            on.entry(emu, {**plug_options(), CONF_LAN_STATUS_BROADCAST: True}),
            off.entry(emu, {**plug_options(), CONF_LAN_STATUS_BROADCAST: False}),
        ]
        answer = await ha.call("add_entries", entries=entries)
        if answer["loaded"] != 2:
            raise RuntimeError(f"only {answer['loaded']} of 2 entries loaded")
        await ha.call("reports", unique_id=on.unique_id, count=count)  # warm-up
        await ha.call("reports", unique_id=off.unique_id, count=count)
        cpu = {"on": 0.0, "off": 0.0}
        for round_number in range(rounds):
            order = (on, off) if round_number % 2 == 0 else (off, on)
            for endpoint in order:
                result = await ha.call("reports", unique_id=endpoint.unique_id, count=count)
                key = "on" if endpoint is on else "off"
                expected = count if key == "on" else 0
                if result["broadcasts"] != expected:
                    raise RuntimeError(
                        f"{key}: {result['broadcasts']} broadcasts for {count} reports"
                    )
                cpu[key] += result["cpu_s"]
    reports = count * rounds
    with_us, without_us = cpu["on"] / reports * 1e6, cpu["off"] / reports * 1e6
    share = (with_us - without_us) / without_us
    results = {
        "reports": reports,
        "cpu_us_per_report_with_broadcast": with_us,
        "cpu_us_per_report_without": without_us,
        "broadcast_us_per_report": with_us - without_us,
        "share": share,
        "target": TARGET,
    }
    verdict = "below" if share < TARGET else "above"
    print(
        f"  {reports} reports each: HA {with_us:.1f} us CPU per report with the UDP broadcast, "
        f"{without_us:.1f} us without: +{share:.1%} ({verdict} the {TARGET:.0%} target)",
        flush=True,
    )
    return results


if __name__ == "__main__":
    run_with_emulator(__doc__, run, [PLUG_KEY], quick_help="500 reports x 3 rounds")
