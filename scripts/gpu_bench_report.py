#!/usr/bin/env python3
"""The tables of scripts/gpu-bench.sh: reads OUT/gpu-bench.jsonl (one JSON line per
measurement) and OUT/logs/gpu-memory.csv (nvidia-smi's samples, MiB), writes OUT/gpu-bench.json
(everything in one object) and OUT/gpu-bench.md (Markdown), and prints the Markdown.

Usage: python3 scripts/gpu_bench_report.py OUT CARD   (standard library only)
"""

import json
import os
import sys


def gpu_peak(path):
    """The largest memory.used sample, MiB (None without samples)."""
    try:
        with open(path) as f:
            vals = [float(line.split(",")[0]) for line in f if line.strip()]
    except (OSError, ValueError):
        return None
    return max(vals) if vals else None


def fmt(v, digits=1):
    return "" if v is None else f"{float(v):.{digits}f}"


def status(r):
    if "error" in r:
        return "error: " + r["error"]
    if "skipped" in r:
        return "skipped: " + r["skipped"]
    return ""


def main():
    out, card = sys.argv[1], sys.argv[2]
    with open(os.path.join(out, "gpu-bench.jsonl")) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    peak = gpu_peak(os.path.join(out, "logs", "gpu-memory.csv"))
    report = {"card": card, "gpu_memory_peak_mib": peak, "rows": rows}
    with open(os.path.join(out, "gpu-bench.json"), "w") as f:
        json.dump(report, f, indent=1)

    lines = [f"GPU: {card}; peak GPU memory in use over the run: {fmt(peak, 0) or 'not sampled'} MiB", ""]
    lines += ["| what | model | device | batch | T | ms per step (median) | min | sequences/s | GPU peak MiB | note |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        kind = r.get("kind", "")
        if kind == "science":
            continue
        if kind == "peer":
            what = r.get("peer", "peer")
            ms = r.get("median_s") and 1000 * r["median_s"]
            ms_min = r.get("min_s") and 1000 * r["min_s"]
            seq = r.get("median_s") and r["batch"] / r["median_s"]
            note = status(r) or f"{r.get('version', '')}, loss {fmt(r.get('loss_first'), 3)} -> {fmt(r.get('loss_last'), 3)}"
            gpu = r.get("gpu_peak_mib")
        else:
            what, ms, ms_min = "neuromod", r.get("ms_median"), r.get("ms_min")
            seq, gpu = r.get("sequences_per_s"), None
            note = status(r) or (f"host RSS peak {fmt(r.get('peak_rss_mib'), 0)} MiB" if r.get("peak_rss_mib") else "")
        lines.append(f"| {what} | {r.get('model', '')} | {r.get('device', r.get('on', ''))} | {r.get('batch', '')} | "
                     f"{r.get('steps', '')} | {fmt(ms)} | {fmt(ms_min)} | {fmt(seq, 0)} | {fmt(gpu, 0)} | {note} |")
    for r in rows:
        if r.get("kind") == "science":
            lines += ["", f"`bench science {r.get('args', '')}` on {r.get('device', '')}: "
                      + (status(r) or f"{r['wall_s']} s wall time")]
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "gpu-bench.md"), "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
