"""The README's Performance table, written from a results.json (`python -m benchmarks.summary`)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import statistics
from typing import Any


def markdown(results: dict[str, Any]) -> str:
    """One row per benchmark: result, the baseline of the same run, the target."""
    rows = ["| Benchmark | Result | Baseline, same run | Target |", "|---|---|---|---|"]
    if e2e := results.get("e2e"):
        ours, floor = e2e["latency_ms"]["ours"], e2e["latency_ms"]["floor"]
        rate = e2e["throughput_per_s"]
        checks = e2e["checks"]
        ok = all(c["ok"] for c in checks)
        sent = sum(c["sent"] for c in checks)
        cpu = {  # the median over the rounds
            kind: statistics.median(
                c["cpu_ms_per_command"]["home_assistant"] for c in checks if c["kind"] == kind
            )
            for kind in ("mapped", "raw")
        }
        echo_cpu = e2e.get("echo_cpu_ms_per_message")
        floor_cpu = "" if echo_cpu is None else f", HA {echo_cpu:.2f} ms CPU each"
        rows += [
            f"| 1. App control → 0x0094 + 0x04 report, p50 / p99 | {ours['p50']:.2f} / "
            f"{ours['p99']:.2f} ms | raw echo {floor['p50']:.2f} / {floor['p99']:.2f} ms "
            f"(p99 {e2e['latency_ms']['p99_ratio']:.2f}x) | p99 ≤ 2x floor |",
            f"| 2. Mapped P0 controls (service calls) | {rate['mapped']:,.0f}/s, HA "
            f"{cpu['mapped']:.2f} ms CPU each | raw echo {rate['echo']:,.0f}/s{floor_cpu} "
            "| ≥ 500/s |",
            f"| 2. Raw 0x0093 (event entity) | {rate['raw']:,.0f}/s, HA {cpu['raw']:.2f} ms CPU "
            f"each | raw echo {rate['echo']:,.0f}/s{floor_cpu} | ≥ 2,000/s |",
            f"| 2. Checked: {sent:,} sent | {'all' if ok else 'NOT all'} acked once, applied and "
            "reported in order once | | nothing lost, reordered, doubled |",
        ]
        profiled = e2e["profiles"][0]["codec_share"]
        sampled = (e2e.get("py_spy") or {}).get("latency", {}).get("codec_share")
        also = "" if sampled is None else f", py-spy {sampled:.1%}"
        codec = e2e.get("codec") or {}
        timed = (
            f"{codec['share']:.1%} ({codec['us_per_control']:.0f} of "
            f"{codec['ha_us_per_control']:.0f} us per control)"
            if codec
            else "-"
        )
        rows.append(
            f"| 5. Codec share of HA's CPU per control | {timed} | cProfile {profiled:.1%}"
            f"{also} | optimise if > 5 % |"
        )
    for size in (results.get("scale") or {}).get("sizes", []):
        n = size["endpoints"]
        rows.append(
            f"| 3. {n} endpoint(s): all logged in | {size['connected_s']:.2f} s | {n} plain "
            f"clients {size['floor_connect_s']:.2f} s | 100 ≤ 10 s |"
        )
        rows.append(
            f"| 3. {n} endpoint(s): each, idle | {size['rss_per_endpoint_mib']:.2f} MiB, "
            f"{size['idle_cpu_per_endpoint_pct']:.4f} % CPU "
            f"({size['idle_cpu_s_per_endpoint_hour']:.2f} s/h) | HA alone "
            f"{size['rss_base_mib']:.0f} MiB, {size['idle_cpu_base_pct']:.2f} % | ≤ 1 MiB, ≈ 0 % |"
        )
        if (c := size.get("reconnect")) is not None:
            rows.append(
                f"| 4. Broker restart, {n} endpoint(s): up / reported, p50 / max | "
                f"{c['up_p50_s']:.2f} / {c['up_max_s']:.2f} s, {c['reported_p50_s']:.2f} / "
                f"{c['reported_max_s']:.2f} s | plain client back "
                f"{c['floor_plain_client_s']:.2f} s | spread, not at once |"
            )
    if lan := results.get("lan"):
        worst = lan["every_report"]
        rows.append(
            f"| 6. UDP status broadcast, HA CPU per status report, as configured | "
            f"{lan['share']:+.1%} ({lan['cpu_us_per_report_with_broadcast']:.1f} vs "
            f"{lan['cpu_us_per_report_without']:.1f} us, {lan['reports']:,} reports each, "
            f"{lan['broadcasts']:,} broadcast) | the same reports without the broadcast | "
            f"< {lan['target']:.0%} |"
        )
        rows.append(
            f"| 6. The same with every report broadcast (rate limit lifted) | "
            f"{worst['share']:+.1%} ({worst['broadcast_us_per_report']:.1f} us per datagram) | "
            f"the same reports without the broadcast | (one datagram's cost) |"
        )
    rows += _profile(results)
    meta = results.get("meta", {})
    load = ", ".join(f"{x:.1f}" for x in meta.get("load_average", ()))
    rows.append("")
    rows.append(
        f"Run {meta.get('started', '?')}, {'--quick' if meta.get('quick') else 'full sizes'}, "
        f"Python {meta.get('python')}, Home Assistant {meta.get('homeassistant')}, "
        f"{meta.get('cpus')} CPUs, load average at the end {load}."
    )
    return "\n".join(rows)


def _profile(results: dict[str, Any]) -> list[str]:
    """Where HA's busy time went during the mapped throughput run (py-spy, else cProfile)."""
    e2e = results.get("e2e") or {}
    sampled = (e2e.get("py_spy") or {}).get("throughput") or {}
    if "top_own" in sampled:
        lines = ["", "Where HA's busy time went, mapped throughput (py-spy samples, own time):", ""]
        lines += ["```"] + [
            f"{share:6.1%}  {part}" for part, share in sampled.get("by_part", {}).items()
        ]
        lines += [""] + [f"{share:6.1%}  {frame}" for frame, share in sampled["top_own"][:10]]
        return [*lines, "```"]
    if not e2e:
        return []
    text = e2e["profiles"][1]["tottime"].splitlines()
    start = next((i for i, line in enumerate(text) if "ncalls" in line), 0)
    return [
        "",
        "Top of HA's cProfile, mapped throughput (own time):",
        "",
        "```",
        *text[start : start + 12],
        "```",
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "json", type=Path, nargs="?", default=Path(__file__).parent / "results.json"
    )
    args = parser.parse_args()
    print(markdown(json.loads(args.json.read_text())))
