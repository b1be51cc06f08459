"""Benchmark 6: what the UDP status broadcast costs Home Assistant per status report.

    python -m benchmarks.bench_lan [--quick]

One HA process (`ha_host`) with two smart-plug entries, identical but for the *Local network*
option "Broadcast status changes": on for one, off for the other (the same-run baseline). Each
round sends `count` full status reports from one entry's bridge, then from the other's, taking
turns so both see the same moments of a busy machine; a report goes to the cloud (an M2M
publish) and, for the first entry, also as ``0x0091 | 06 <MAC> | report`` to UDP on
127.255.255.255 (protocol.md §8). The figure: the extra HA CPU time (process time, all
threads, measured inside HA) per report, as a share of a report without the broadcast, measured
twice: as configured (at most one datagram per report interval, as protocol.md §8 rules: the
target) and with the rate limit lifted, so every report is a datagram (what one broadcast
costs). Every round is checked: the broadcasting entry sent one datagram per report (lifted) or
at least one in all (configured), the other none.
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import PLUG_KEY, plug_options, register, run_with_emulator
from benchmarks.ha_process import HaProcess
from custom_components.gizwits_device.const import CONF_LAN_STATUS_BROADCAST
from emulator.server import Emulator

TARGET = 0.05


async def _measure(
    emu: Emulator, count: int, rounds: int, *, every_report: bool, first: int
) -> dict[str, Any]:
    """Alternating rounds of `count` reports from the broadcasting entry and the other one.

    `every_report`: the HA host lifts the broadcast's rate limit, so each report is a
    datagram (the cost of one broadcast); else the integration runs as configured, at most
    one datagram per report interval (1/6 s) however many reports there are.
    """
    on, off = await register(emu, PLUG_KEY, 2, first=first)
    host_args = ("--every-report-broadcast",) if every_report else ()
    async with HaProcess(host_args=host_args) as ha:
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
        broadcasts = 0
        for round_number in range(rounds):
            order = (on, off) if round_number % 2 == 0 else (off, on)
            for endpoint in order:
                result = await ha.call("reports", unique_id=endpoint.unique_id, count=count)
                key = "on" if endpoint is on else "off"
                sent = result["broadcasts"]
                # Checked with every report going: one datagram per report from the
                # broadcasting entry, none in the other's rounds. As configured a report
                # waiting for the interval may go out during the next round, whoever's.
                if every_report and sent != (count if key == "on" else 0):
                    raise RuntimeError(f"{key}: {sent} broadcasts for {count} reports")
                broadcasts += sent
                cpu[key] += result["cpu_s"]
    reports = count * rounds
    if not 0 < broadcasts <= reports:
        raise RuntimeError(f"{broadcasts} broadcasts for {reports} reports")
    with_us, without_us = cpu["on"] / reports * 1e6, cpu["off"] / reports * 1e6
    return {
        "reports": reports,
        "broadcasts": broadcasts,
        "cpu_us_per_report_with_broadcast": with_us,
        "cpu_us_per_report_without": without_us,
        "broadcast_us_per_report": with_us - without_us,
        "share": (with_us - without_us) / without_us,
    }


async def run(emu: Emulator, quick: bool) -> dict[str, Any]:
    """As configured (the target) and with every report broadcast; prints both."""
    count, rounds = (500, 3) if quick else (2000, 7)
    configured = await _measure(emu, count, rounds, every_report=False, first=3000)
    worst = await _measure(emu, count, rounds, every_report=True, first=3100)
    results = {**configured, "target": TARGET, "every_report": worst}
    verdict = "below" if configured["share"] < TARGET else "above"
    print(
        f"  as configured, {configured['reports']} reports each "
        f"({configured['broadcasts']} broadcast): HA "
        f"{configured['cpu_us_per_report_with_broadcast']:.1f} us CPU per report with the UDP "
        f"broadcast, {configured['cpu_us_per_report_without']:.1f} us without: "
        f"{configured['share']:+.1%} ({verdict} the {TARGET:.0%} target)\n"
        f"  every report broadcast: {worst['cpu_us_per_report_with_broadcast']:.1f} vs "
        f"{worst['cpu_us_per_report_without']:.1f} us: {worst['share']:+.1%} "
        f"({worst['broadcast_us_per_report']:.1f} us per datagram)",
        flush=True,
    )
    return results


if __name__ == "__main__":
    run_with_emulator(__doc__, run, [PLUG_KEY], quick_help="500 reports x 3 rounds")
