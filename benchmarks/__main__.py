"""Every benchmark, one table each on stdout and all figures in one JSON file.

    python -m benchmarks [--quick] [--json PATH] [--only codec m2m e2e scale lan]

codec: frame and P0 codecs vs `struct` (bench_frames, bench_p0). m2m: the M2MSession alone vs
a raw aiomqtt echo (bench_m2m). e2e: benchmarks 1-2 through Home Assistant and the codec's share
of HA's CPU time (bench_e2e). scale: benchmarks 3-4, many endpoints and reconnects
(bench_scale). lan: benchmark 6, the UDP status broadcast's HA CPU per report (bench_lan).
`--quick` runs small sizes (a few minutes on a fresh clone). Nothing here asserts
a time; figures are only comparable with the baseline printed beside them in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
import json
import logging
import os
from pathlib import Path
import platform
from typing import Any

from homeassistant.const import __version__ as HA_VERSION

from benchmarks import (
    bench_compare,
    bench_e2e,
    bench_frames,
    bench_lan,
    bench_m2m,
    bench_p0,
    bench_scale,
    summary,
)
from benchmarks.common import PLUG_KEY, RAW_KEY
from emulator.server import Emulator

PARTS = ("codec", "m2m", "e2e", "scale", "lan")
CODEC_SHARE_LIMIT = 0.05


def _title(text: str) -> None:
    print(f"\n== {text}", flush=True)


async def _run(parts: list[str], quick: bool, compare: str | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if compare is not None:
        _title(f"2. old code ({compare}) against new, alternating rounds in one run")
        async with Emulator(product_keys=[PLUG_KEY, RAW_KEY]) as emu:
            results["compare"] = await bench_compare.run(emu, compare, quick)
        return results
    if "codec" in parts:
        seconds = 0.05 if quick else 0.2
        _title("5. codec: frames and a 30-point P0 product vs struct on the same bytes")
        print(bench_frames.HEADER)
        for key, module in (("frames", bench_frames), ("p0", bench_p0)):
            results[key] = module.measure(seconds)
            for line in results[key]:
                print(line.pop("text"))
    if "m2m" in parts:
        _title("M2MSession alone vs a raw aiomqtt echo (same mosquitto)")
        count, rounds = (500, 1) if quick else (2000, 3)
        results["m2m"] = await bench_m2m.main(count, 32, rounds, 60.0)
    if "e2e" in parts:
        _title("1-2. app -> broker -> gizwits_device in Home Assistant -> app, vs a raw echo")
        async with Emulator(product_keys=[PLUG_KEY, RAW_KEY]) as emu:
            results["e2e"] = await bench_e2e.run(emu, quick)
        # Timed alone against HA's measured CPU per control: cProfile charges every call, which
        # inflates code made of many small calls like the codec; py-spy samples too few here.
        share = results["e2e"]["codec"]["share"]
        verdict = "above" if share > CODEC_SHARE_LIMIT else "below"
        print(
            f"  5. codec share of HA's CPU per control: {share:.1%} ({verdict} "
            f"{CODEC_SHARE_LIMIT:.0%}: {'optimise' if share > CODEC_SHARE_LIMIT else 'left as is'})"
        )
    if "scale" in parts:
        _title("3-4. endpoints in one Home Assistant; reconnect after a broker restart")
        async with Emulator(product_keys=[PLUG_KEY]) as emu:
            results["scale"] = await bench_scale.run(emu, quick)
    if "lan" in parts:
        _title("6. the UDP status broadcast: HA CPU per status report, with vs without")
        async with Emulator(product_keys=[PLUG_KEY]) as emu:
            results["lan"] = await bench_lan.run(emu, quick)
    return results


def main() -> None:
    """Run the chosen parts, print their tables, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few minutes)")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results.json")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument(
        "--compare",
        metavar="REF",
        help="instead: benchmark 2 with REF's code (a git worktree) against this tree's",
    )
    args = parser.parse_args()
    logging.getLogger("mqtt").setLevel(logging.ERROR)  # aiomqtt's "pending publish" warnings
    started = datetime.now(UTC)
    results = asyncio.run(_run(args.only, args.quick, args.compare))
    meta = {
        "started": started.isoformat(timespec="seconds"),
        "seconds": (datetime.now(UTC) - started).total_seconds(),
        "quick": args.quick,
        "python": platform.python_version(),
        "homeassistant": HA_VERSION,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    everything = {"meta": meta, **results}
    args.json.write_text(json.dumps(everything, indent=2, default=str))
    _title("summary (the README's Performance table)")
    print(summary.markdown(everything))
    print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
