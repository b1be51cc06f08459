"""Benchmarks 1-2 through Home Assistant: latency and checked throughput beside a raw echo.

    python -m benchmarks.bench_e2e [--quick]

See ha_path.py for the path and the floor. Latency: one request in flight, the echo and the
mapped control taking turns request by request; p50/p99 of (ack and report arrived) - sent.
Throughput: `window` in flight; every run is checked (sent, acked once, applied in order once,
reported in order once). Then one pass of each under cProfile in the HA process: the top of
the profile and the codec's share of HA's busy time.
"""

from __future__ import annotations

from dataclasses import dataclass
import statistics
import time
import timeit
from typing import Any

from benchmarks import pyspy
from benchmarks.common import PLUG_KEY, RAW_KEY, run_with_emulator
from benchmarks.ha_path import Run, Setup, measure, running
from custom_components.gizwits_device.protocol import (
    AckedPassthrough,
    Control,
    DataType,
    P0Codec,
    StatusReport,
)
from custom_components.gizwits_device.protocol.frame_codec import decode_frame, encode_frame
from custom_components.gizwits_device.protocol.frames import DevicePassthrough, PassthroughAck
from emulator.server import Emulator

WINDOW = 32
TARGET_P99_RATIO = 2.0
TARGET_MAPPED, TARGET_RAW = 500.0, 2000.0


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much to send."""

    latency: int
    throughput: int
    rounds: int
    profiled: int

    @classmethod
    def pick(cls, quick: bool) -> Sizes:
        return cls(300, 1000, 1, 300) if quick else cls(2000, 5000, 3, 2000)


async def measure_paired(setup: Setup, keys: range) -> tuple[Run, Run]:
    """Latency, one request at a time, echo and mapped control taking turns request by request:
    both see the same moments of a busy machine."""
    echo: list[float] = []
    mapped: list[float] = []
    echo_app, mapped_app = setup.apps["echo"], setup.apps["mapped"]
    started = time.perf_counter()
    for key in keys:
        payload, expect = setup.echo_payload(key)
        echo.append(await echo_app.request(key, payload, expect))
        payload, expect = setup.mixed_control(key)
        mapped.append(await mapped_app.request(key, payload, expect))
    seconds = time.perf_counter() - started
    return Run(len(keys), seconds, echo), Run(len(keys), seconds, mapped)


def _best_latency(runs: list[Run]) -> Run:
    return min(runs, key=lambda r: r.ms(0.99))


def _best_rate(runs: list[Run]) -> Run:
    return max(runs, key=lambda r: r.per_second)


async def _profiled(setup: Setup, label: str, coro: Any, top: int) -> dict[str, Any]:
    await setup.ha.call("profile_start")
    try:
        await coro
    finally:
        profile = await setup.ha.call("profile_stop", top=top)
    busy = profile["busy_s"]
    return {
        "pass": label,
        "busy_s": busy,
        "codec_s": profile["codec_s"],
        "codec_share": profile["codec_s"] / busy if busy else 0.0,
        "tottime": profile["tottime"],
        "cumulative": profile["cumulative"],
    }


async def run(emu: Emulator, quick: bool) -> dict[str, Any]:
    """Both benchmarks against one HA process; returns the figures (and prints them)."""
    sizes = Sizes.pick(quick)
    latency: dict[str, list[Run]] = {"echo": [], "mapped": []}
    rate: dict[str, list[Run]] = {"echo": [], "mapped": [], "raw": []}
    checks: list[dict[str, Any]] = []
    echo_cpu: list[float] = []  # HA CPU ms per echoed message
    async with running(emu) as setup:
        apps = setup.apps
        await setup.warm_up()
        for round_ in range(1, sizes.rounds + 1):
            print(f"  round {round_}/{sizes.rounds}", flush=True)
            keys = setup.keys.take
            echo, mapped = await measure_paired(setup, keys(sizes.latency))
            latency["echo"].append(echo)
            latency["mapped"].append(mapped)
            run, cpu = await setup.echo_with_cpu(sizes.throughput, WINDOW)
            rate["echo"].append(run)
            echo_cpu.append(cpu)
            for kind in ("mapped", "raw"):
                result, check = await setup.checked(kind, sizes.throughput, WINDOW)
                rate[kind].append(result)
                checks.append({"kind": kind, "round": round_, **check})
        profiles = [
            await _profiled(
                setup,
                "latency (mapped, window 1)",
                measure(apps["mapped"], setup.keys.take(sizes.profiled), 1, setup.mixed_control),
                25,
            ),
            await _profiled(
                setup,
                f"throughput (mapped, window {WINDOW})",
                setup.checked("mapped", sizes.profiled, WINDOW),
                25,
            ),
            await _profiled(
                setup,
                f"throughput (raw, window {WINDOW})",
                setup.checked("raw", sizes.profiled, WINDOW),
                25,
            ),
        ]
        sampled = await _sampled(setup, sizes)
    report = _report(sizes, latency, rate, checks, profiles)
    report["echo_cpu_ms_per_message"] = statistics.median(echo_cpu)
    print(f"  HA CPU ms per echoed message (floor): {report['echo_cpu_ms_per_message']:.2f}")
    codec_us = codec_us_per_control(setup.codec)
    ha_us = (
        statistics.median(
            c["cpu_ms_per_command"]["home_assistant"] for c in checks if c["kind"] == "mapped"
        )
        * 1e3
    )
    report["codec"] = {
        "us_per_control": codec_us,
        "ha_us_per_control": ha_us,
        "share": codec_us / ha_us,
    }
    print(
        f"  codec work of one mapped control, timed alone: {codec_us:.1f} us = "
        f"{codec_us / ha_us:.1%} of HA's {ha_us:.0f} us CPU per control"
    )
    return {**report, "py_spy": sampled}


def codec_us_per_control(codec: P0Codec) -> float:
    """Microseconds of codec work HA does for one mapped control (best of 7 timings):
    decode the 0x0093 and its P0 control, encode the 0x0094 and the 0x04 report in a 0x0091."""
    control = codec.encode(Control({"countdown": 77}))
    request = encode_frame(AckedPassthrough(1, control))
    values: dict[str, Any] = {}
    for point in codec.model.points:
        if point.data_type is DataType.BOOL:
            values[point.name] = False
        elif point.data_type is DataType.ENUM:
            values[point.name] = point.options[0]
        else:
            values[point.name] = point.to_shown(point.minimum or 0)
    report = StatusReport(values)

    def once() -> None:
        decode_frame(request)
        codec.decode(control)
        encode_frame(PassthroughAck(1))
        encode_frame(DevicePassthrough(codec.encode(report)))

    number = 2000
    return min(timeit.repeat(once, number=number, repeat=7)) / number * 1e6


async def _sampled(setup: Setup, sizes: Sizes) -> dict[str, Any] | None:
    """The latency and mapped-throughput passes again under py-spy, when it is installed."""
    executable = pyspy.find()
    assert setup.ha.process is not None
    if executable is None:
        print("  (py-spy not found: no sampling profile; see pyspy.py)")
        return None
    pid = setup.ha.process.pid
    latency: dict[str, Any] = {}
    async with pyspy.recording(executable, pid, latency):
        await measure(setup.apps["mapped"], setup.keys.take(sizes.profiled), 1, setup.mixed_control)
    throughput: dict[str, Any] = {}
    async with pyspy.recording(executable, pid, throughput):
        await setup.checked("mapped", sizes.profiled, WINDOW)
    for name, result in (("latency", latency), ("mapped throughput", throughput)):
        if "error" in result:
            print(f"  py-spy {name}: {result['error']}")
            continue
        print(
            f"  py-spy {name}: {result['samples']} samples of HA's busy threads, "
            f"codec {result['codec_share']:.1%}"
        )
    if "top_own" in throughput:
        print("  top of the mapped-throughput samples (own time):")
        for frame, share in throughput["top_own"][:12]:
            print(f"    {share:6.1%}  {frame}")
    return {"latency": latency, "throughput": throughput}


def _report(
    sizes: Sizes,
    latency: dict[str, list[Run]],
    rate: dict[str, list[Run]],
    checks: list[dict[str, Any]],
    profiles: list[dict[str, Any]],
) -> dict[str, Any]:
    ours, floor = _best_latency(latency["mapped"]), _best_latency(latency["echo"])
    echo_rate = _best_rate(rate["echo"]).per_second
    mapped_rate, raw_rate = (
        _best_rate(rate["mapped"]).per_second,
        _best_rate(rate["raw"]).per_second,
    )
    rows = [
        ("1 latency p50, ms", ours.ms(0.5), floor.ms(0.5), ""),
        ("1 latency p99, ms", ours.ms(0.99), floor.ms(0.99), f"<= {TARGET_P99_RATIO:g}x floor"),
        ("2 mapped P0 controls/s", mapped_rate, echo_rate, f">= {TARGET_MAPPED:g}/s"),
        ("2 raw 0x0093/s (event)", raw_rate, echo_rate, f">= {TARGET_RAW:g}/s"),
    ]
    print(f"  {'figure':<26} {'ours':>10} {'raw echo':>10} {'ratio':>7}   target")
    for name, value, base, target in rows:
        print(f"  {name:<26} {value:>10,.2f} {base:>10,.2f} {value / base:>6.2f}x   {target}")
    for check in checks:
        in_order = [check["applied_in_order_once"], check["reported_in_order_once"]]
        print(
            f"  check {check['kind']:<6} round {check['round']}: sent {check['sent']}, acked "
            f"once {check['acked_once']}, applied {check['applied']}, reported "
            f"{check['reported']}; applied/reported in order, once: "
            f"{'/'.join(str(x) for x in in_order if x is not None)}"
            f" -> {'OK' if check['ok'] else 'FAILED'}"
        )
        cpu = ", ".join(f"{k} {v:.2f}" for k, v in check["cpu_ms_per_command"].items())
        print(f"    CPU ms per command: {cpu}")
    for profile in profiles:
        print(
            f"  cProfile {profile['pass']}: HA loop busy {profile['busy_s']:.2f} s, codec "
            f"{profile['codec_s']:.3f} s = {profile['codec_share']:.1%}"
        )
    top = profiles[1]["tottime"].splitlines()
    start = next((i for i, line in enumerate(top) if "ncalls" in line), 0)
    print("  top of the mapped-throughput profile (own time):")
    print("\n".join("    " + line for line in top[start : start + 16]))
    return {
        "sizes": sizes.__dict__
        if hasattr(sizes, "__dict__")
        else {
            "latency": sizes.latency,
            "throughput": sizes.throughput,
            "rounds": sizes.rounds,
            "profiled": sizes.profiled,
            "window": WINDOW,
        },
        "latency_ms": {
            "ours": {"p50": ours.ms(0.5), "p99": ours.ms(0.99)},
            "floor": {"p50": floor.ms(0.5), "p99": floor.ms(0.99)},
            "p99_ratio": ours.ms(0.99) / floor.ms(0.99),
        },
        "throughput_per_s": {"mapped": mapped_rate, "raw": raw_rate, "echo": echo_rate},
        "checks": checks,
        "profiles": profiles,
    }


if __name__ == "__main__":
    run_with_emulator(__doc__, run, [PLUG_KEY, RAW_KEY], quick_help="small sizes, one round")
