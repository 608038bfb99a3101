#!/usr/bin/env python3
"""Run the peer benchmarks of one model (VRNN: PyTorch eager and JAX jit+scan; DKF, SRNN:
JAX jit+scan only), each in its own process, and print a Markdown table of seconds per
training step.

Usage:
    python3 benches/peers/run.py [--model vrnn|dkf|srnn] [--batch 32] [--steps 100]
                                 [--reps 10] [--threads N] [--grucell] [--json]

Each peer is run as `python3 <peer> --json --batch B --steps T --reps R [--threads N]`
and must print one JSON line (see benches/peers/README.md). A peer that
exits with code 3 (package not installed) is listed as skipped. With --json the
collected JSON objects are printed one per line instead of the table.

Exit code: 0 when every peer ran or was skipped, 1 when a peer failed.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP_EXIT = 3


def run_peer(script, extra, args):
    cmd = [sys.executable, os.path.join(HERE, script), "--json",
           "--batch", str(args.batch), "--steps", str(args.steps), "--reps", str(args.reps)]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    cmd += extra
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode == SKIP_EXIT:
        msg = proc.stdout.strip() or "skip"
        return {"peer": script, "skipped": msg[len("skip: "):] if msg.startswith("skip: ") else msg}
    if proc.returncode != 0:
        return {"peer": script, "error": f"exit {proc.returncode}: {proc.stderr.strip()[-500:]}"}
    lines = [l for l in proc.stdout.splitlines() if l.strip().startswith("{")]
    if not lines:
        return {"peer": script, "error": "no JSON line on stdout"}
    if proc.stderr.strip():
        sys.stderr.write(proc.stderr)
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["vrnn", "dkf", "srnn"], default="vrnn",
                    help="which model's peers to run (PyTorch peers exist for the VRNN only)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--grucell", action="store_true", help="also time PyTorch with torch.nn.GRUCell (VRNN)")
    ap.add_argument("--json", action="store_true", help="print the peers' JSON lines instead of a table")
    args = ap.parse_args()

    if args.grucell and args.model != "vrnn":
        ap.error("--grucell is a PyTorch variant, and PyTorch peers exist for the VRNN only")
    peers = []
    if args.model == "vrnn":
        peers.append(("vrnn_torch.py", []))
        if args.grucell:
            peers.append(("vrnn_torch.py", ["--gru-cell"]))
    peers.append((f"{args.model}_jax.py", []))

    results = []
    for script, extra in peers:
        print(f"running {script} {' '.join(extra)}".rstrip() + " ...", file=sys.stderr, flush=True)
        results.append(run_peer(script, extra, args))

    failed = any("error" in r for r in results)
    if args.json:
        for r in results:
            print(json.dumps(r))
        return 1 if failed else 0

    print(f"{args.model.upper()} training step, batch {args.batch} x {args.steps} steps, {args.reps} timed reps\n")
    print("| peer | version | threads | s/step (median) | s/step (min) | loss first -> last |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in results:
        if "skipped" in r:
            print(f"| {r['peer']} | skipped: {r['skipped']} | | | | |")
        elif "error" in r:
            print(f"| {r['peer']} | error: {r['error'].splitlines()[-1] if r['error'] else ''} | | | | |")
        else:
            print(f"| {r['peer']} | {r['version']} | {r['threads']} | {r['median_s']:.4f} | {r['min_s']:.4f} "
                  f"| {r['loss_first']:.3f} -> {r['loss_last']:.3f} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
