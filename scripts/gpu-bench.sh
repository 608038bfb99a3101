#!/usr/bin/env bash
# The GPU benchmark of docs/speed.md, for a GPU machine and a binary built elsewhere:
#
#   scripts/gpu-bench.sh BIN OUT
#
# BIN: a neuromod release binary (built with `--features cuda` for the CUDA rows); OUT: a folder
# for the results. Run from anywhere; it reads benches/peers/ from this checkout. It writes
#   OUT/gpu-bench.jsonl  one JSON line per measurement, as it goes (kept if the run is cut short)
#   OUT/gpu-bench.json   everything in one object: the card, every row, the GPU memory peak
#   OUT/gpu-bench.md     the same as a Markdown table
# and keeps each command's stderr in OUT/logs/. Each measurement runs under its own time limit
# and all under one budget (GPU_BENCH_BUDGET_S, default 420 s, so the run ends inside 8
# minutes; what the budget leaves out is listed as skipped), most wanted first:
#   1. neuromod, one training step of each family (bench step) on the first device, each batch;
#   2. the peers on the same card: PyTorch eager (the VRNN) and JAX jit (each family)
#      (benches/peers; a framework that is not installed is listed as skipped);
#   3. one `bench science` seed end to end on the first device, with its wall time;
#   4. neuromod on the other devices; 5. PyTorch compiled (torch.compile);
# while nvidia-smi (when present) samples the card's memory in use every 250 ms.
#
# The defaults are the issue's: devices cuda,wgpu; batches 32,256; T 100; the bench size; peers
# on cuda. Environment overrides (used by the test that runs this on a CPU):
#   GPU_BENCH_DEVICES, GPU_BENCH_BATCHES, GPU_BENCH_STEPS, GPU_BENCH_REPS, GPU_BENCH_SIZE,
#   GPU_BENCH_PEER_DEVICE (cuda or cpu), GPU_BENCH_SCIENCE_ARGS, GPU_BENCH_BUDGET_S, PYTHON.
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BIN OUT" >&2
  exit 2
fi
BIN=$1
OUT=$2
if [ ! -x "$BIN" ]; then
  echo "$0: $BIN is not an executable neuromod binary" >&2
  exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=$ROOT/benches/peers
PYTHON=${PYTHON:-python3}
DEVICES=${GPU_BENCH_DEVICES:-cuda,wgpu}
BATCHES=${GPU_BENCH_BATCHES:-32,256}
STEPS=${GPU_BENCH_STEPS:-100}
REPS=${GPU_BENCH_REPS:-10}
SIZE=${GPU_BENCH_SIZE:-bench}
PEER_DEVICE=${GPU_BENCH_PEER_DEVICE:-cuda}
SCIENCE_ARGS=${GPU_BENCH_SCIENCE_ARGS:---seeds 1 --tasks reward}
BUDGET=${GPU_BENCH_BUDGET_S:-420}

mkdir -p "$OUT/logs" || exit 2
JSONL=$OUT/gpu-bench.jsonl
: >"$JSONL"
START=$SECONDS

# Seconds since $1 (a `date +%s.%N` stamp), to 0.1 s.
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# KEY=VALUE tags as a JSON object merged into the JSON object in $1 ("{}" for none), numbers
# as numbers (a tiny Python helper keeps the quoting right).
TAGGER='
import json, sys
def value(v):
    for kind in (int, float):
        try:
            return kind(v)
        except ValueError:
            pass
    return v
d = json.loads(sys.argv[1])
d.update((k, value(v)) for k, v in (a.split("=", 1) for a in sys.argv[2:]))
print(json.dumps(d))'

# One JSON line of tags into the results.
record() { "$PYTHON" -c "$TAGGER" '{}' "$@" >>"$JSONL"; }

# Runs "$@" under a limit of $1 seconds (never past the budget); stdout's last JSON line is
# recorded with the tags in $TAGS, or the failure is.
measure() {
  local limit=$1 log=$2
  shift 2
  local left=$((BUDGET - (SECONDS - START)))
  if [ "$left" -le 5 ]; then
    record $TAGS "skipped=time budget of ${BUDGET} s spent"
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local out rc
  out=$(timeout -k 10 "$limit" "$@" 2>"$OUT/logs/$log.err")
  rc=$?
  local line
  line=$(printf '%s\n' "$out" | grep '^{' | tail -n 1)
  if [ "$rc" = 0 ] && [ -n "$line" ]; then
    # The program's own JSON line, with the tags added; one that does not parse is an error.
    "$PYTHON" -c "$TAGGER" "$line" $TAGS >>"$JSONL" \
      || record $TAGS "error=unreadable JSON line: ${line:0:200}"
  elif [ "$rc" = 3 ]; then
    local why
    why=$(printf '%s' "$out" | tail -n 1)
    record $TAGS "skipped=${why#skip: }"
  elif [ "$rc" = 124 ]; then
    record $TAGS "error=timed out after ${limit} s"
  else
    record $TAGS "error=exit $rc: $(tail -n 1 "$OUT/logs/$log.err" 2>/dev/null)"
  fi
}

CARD=
if command -v nvidia-smi >/dev/null 2>&1; then
  # The first card only: the one every process here runs on.
  CARD=$(nvidia-smi -i 0 --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
  nvidia-smi -i 0 --query-gpu=memory.used --format=csv,noheader,nounits -lms 250 >"$OUT/logs/gpu-memory.csv" 2>/dev/null &
  SMI=$!
  trap 'kill $SMI 2>/dev/null' EXIT
fi
CARD=${CARD:-none}
echo "gpu-bench: card: $CARD; devices $DEVICES; batches $BATCHES; T $STEPS" >&2

IFS=, read -r -a DEVS <<<"$DEVICES"
IFS=, read -r -a BS <<<"$BATCHES"

# neuromod's training step of every family on one device, at every batch.
neuromod_rows() {
  local dev=$1 model b
  for model in vrnn dkf srnn; do
    for b in "${BS[@]}"; do
      TAGS="kind=neuromod model=$model device=$dev batch=$b steps=$STEPS"
      measure 90 "step-$dev-$model-$b" "$BIN" bench step --device "$dev" --model "$model" \
        --batch "$b" --steps "$STEPS" --reps "$REPS" --size "$SIZE"
    done
  done
}

# The peers at every batch; $1 is "eager" (PyTorch eager for the VRNN, JAX jit for every
# family) or "compiled" (PyTorch compiled, the VRNN).
peer_rows() {
  local b
  for b in "${BS[@]}"; do
    local common=(--json --device "$PEER_DEVICE" --batch "$b" --steps "$STEPS" --reps "$REPS")
    local tags="kind=peer model=vrnn on=$PEER_DEVICE batch=$b steps=$STEPS"
    if [ "$1" = eager ]; then
      TAGS="$tags peer=pytorch-eager"
      measure 90 "torch-eager-$b" "$PYTHON" "$PEERS/vrnn_torch.py" "${common[@]}"
      local model
      for model in vrnn dkf srnn; do
        TAGS="kind=peer model=$model on=$PEER_DEVICE batch=$b steps=$STEPS peer=jax-jit-scan"
        measure 90 "jax-$model-$b" "$PYTHON" "$PEERS/${model}_jax.py" "${common[@]}"
      done
    else
      TAGS="$tags peer=pytorch-compiled"
      measure 180 "torch-compiled-$b" "$PYTHON" "$PEERS/vrnn_torch.py" "${common[@]}" --compile
    fi
  done
}

# One science seed end to end on the first device: its wall time.
science_row() {
  local left=$((BUDGET - (SECONDS - START))) limit t0 rc
  if [ "$left" -le 10 ]; then
    record kind=science "device=${DEVS[0]}" "skipped=time budget of ${BUDGET} s spent"
    return
  fi
  limit=$((left < 180 ? left : 180))
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086 # the arguments are meant to split
  timeout -k 10 "$limit" "$BIN" bench science --device "${DEVS[0]}" $SCIENCE_ARGS --out "$OUT/science" \
    >"$OUT/logs/science.out" 2>"$OUT/logs/science.err"
  rc=$?
  if [ "$rc" = 0 ]; then
    record kind=science "device=${DEVS[0]}" "wall_s=$(since "$t0")" "args=$SCIENCE_ARGS"
  else
    record kind=science "device=${DEVS[0]}" "error=exit $rc after $(since "$t0") s" \
      "args=$SCIENCE_ARGS"
  fi
}

# Most wanted first, so that a spent budget leaves out the least: neuromod on the first
# device, the eager and jit peers, the science seed, neuromod on the other devices, and
# torch.compile (whose compilation alone can take minutes).
neuromod_rows "${DEVS[0]}"
peer_rows eager
science_row
for dev in "${DEVS[@]:1}"; do
  neuromod_rows "$dev"
done
peer_rows compiled

[ -n "${SMI:-}" ] && kill "$SMI" 2>/dev/null
"$PYTHON" "$ROOT/scripts/gpu_bench_report.py" "$OUT" "$CARD" || exit 1
# Exit 1 when no neuromod step was timed (the tables are still written).
grep -q '"kind": "neuromod".*"ms_median"\|"ms_median".*"kind": "neuromod"' "$JSONL" || exit 1
