"""Old code against new in one run: benchmark 2 through two Home Assistant processes.

    python -m benchmarks --compare REF [--quick]

REF (a commit, e.g. `main` or `HEAD~3`) is checked out into a temporary `git worktree`; its
own `benchmarks.ha_host` and integration run in one HA process, this tree's in another, one
after the other and alternating round by round, against the same emulator and apps (this
tree's). Each round measures, per HA process, the raw echo, raw 0x0093 and mapped controls
(checked as in benchmark 2) with HA's CPU time per message; the table gives the medians and
new / old. On a shared machine only the ratios of the same run mean much.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from pathlib import Path
import shutil
import statistics
import subprocess
import tempfile
from typing import Any

from benchmarks import pyspy
from benchmarks.bench_e2e import WINDOW
from benchmarks.ha_path import Setup, running
from benchmarks.ha_process import ROOT
from emulator.server import Emulator

KINDS = ("echo", "raw", "mapped")


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[Path]:
    """A detached worktree of `ref` (removed afterwards)."""
    path = Path(tempfile.mkdtemp(prefix="gizwits-bench-old-")) / "tree"
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), ref],
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(path.parent, ignore_errors=True)


async def _round(setup: Setup, count: int) -> dict[str, dict[str, float]]:
    """Rates and HA CPU ms per message of the echo, raw 0x0093 and mapped controls."""
    figures: dict[str, dict[str, float]] = {}
    run, cpu = await setup.echo_with_cpu(count, WINDOW)
    figures["echo"] = {"per_s": run.per_second, "cpu_ms": cpu}
    for kind in ("raw", "mapped"):
        run, check = await setup.checked(kind, count, WINDOW)
        if not check["ok"]:
            raise RuntimeError(f"{kind}: the checked run failed: {check}")
        figures[kind] = {
            "per_s": run.per_second,
            "cpu_ms": check["cpu_ms_per_command"]["home_assistant"],
        }
    return figures


async def _raw_profile(setup: Setup, count: int) -> dict[str, Any] | None:
    executable = pyspy.find()
    if executable is None or setup.ha.process is None:
        return None
    result: dict[str, Any] = {}
    async with pyspy.recording(executable, setup.ha.process.pid, result):
        await setup.checked("raw", count, WINDOW)
    return result


async def run(emu: Emulator, ref: str, quick: bool) -> dict[str, Any]:
    """Alternating rounds of old (`ref`) and new code; returns the figures (and prints them)."""
    count, rounds = (1000, 2) if quick else (3000, 6)
    rows: dict[str, list[dict[str, dict[str, float]]]] = {"old": [], "new": []}
    profiles: dict[str, Any] = {}
    with worktree(ref) as old_root:
        trees = {"old": old_root, "new": ROOT}
        for round_ in range(1, rounds + 1):
            order = ("old", "new") if round_ % 2 else ("new", "old")
            for label in order:
                print(f"  round {round_}/{rounds}: {label}", flush=True)
                async with running(emu, trees[label]) as setup:
                    await setup.warm_up()
                    rows[label].append(await _round(setup, count))
                    if round_ == rounds:
                        profiles[label] = await _raw_profile(setup, count)
    return _report(ref, rows, profiles)


def _median(rows: list[dict[str, dict[str, float]]], kind: str, figure: str) -> float:
    return statistics.median(row[kind][figure] for row in rows)


def _report(
    ref: str, rows: dict[str, list[dict[str, dict[str, float]]]], profiles: dict[str, Any]
) -> dict[str, Any]:
    medians = {
        label: {
            kind: {fig: _median(rows[label], kind, fig) for fig in ("per_s", "cpu_ms")}
            for kind in KINDS
        }
        for label in rows
    }
    print(f"  medians of {len(rows['new'])} rounds each; old = {ref}")
    print(f"  {'figure':<34} {'old':>9} {'new':>9} {'new/old':>8}")
    for kind in KINDS:
        for fig, unit in (("per_s", "/s"), ("cpu_ms", " HA CPU ms each")):
            old, new = medians["old"][kind][fig], medians["new"][kind][fig]
            print(f"  {kind + unit:<34} {old:>9.3f} {new:>9.3f} {new / old:>7.2f}x")
    # Against the echo of the same HA process in the same round: the load of the moment
    # (other jobs on a shared machine) weighs on both alike.
    ratios = {
        label: {
            f"{kind}_{fig}": statistics.median(
                row[kind][fig] / row["echo"][fig] for row in rows[label]
            )
            for kind in ("raw", "mapped")
            for fig in ("per_s", "cpu_ms")
        }
        for label in rows
    }
    for label in ("old", "new"):
        r = ratios[label]
        print(
            f"  {label}, over its own echo (median of the rounds): raw 0x0093 CPU "
            f"{r['raw_cpu_ms']:.2f}x, throughput {r['raw_per_s']:.2f}x; mapped CPU "
            f"{r['mapped_cpu_ms']:.2f}x, throughput {r['mapped_per_s']:.2f}x"
        )
    for label, profile in profiles.items():
        if profile and "top_own" in profile:
            print(f"  py-spy, raw 0x0093, {label} code (own time):")
            for frame, share in profile["top_own"][:12]:
                print(f"    {share:6.1%}  {frame}")
            for part, share in profile.get("by_part", {}).items():
                print(f"    {share:6.1%}  [{part}]")
    return {
        "ref": ref,
        "rounds": rows,
        "medians": medians,
        "over_echo": ratios,
        "py_spy_raw": profiles,
    }
