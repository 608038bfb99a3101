#!/usr/bin/env bash
# A real single-node Slurm on this machine (Debian's slurm-wlm and munge, no systemd), a
# 2 model x 3 seed `neuromod sweep --slurm` submitted to it with `sbatch --wait`, then
# `neuromod collect`; the daemons are stopped at the end, whatever happens.
#
#   scripts/slurm-sweep.sh [NEUROMOD_BINARY]   (default: target/release/neuromod)
#
# Needs root (apt-get, daemons). Exits 0 when every array task finished and collect lists all
# six runs as done, 1 when the sweep or collect failed, and 77 when Slurm itself could not be
# installed or started here (no package mirror, no munge user, ...): the machine, not neuromod.
set -euo pipefail
skip() { echo "SKIP: $*" >&2; exit 77; }
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-target/release/neuromod}")
[ -x "$BIN" ] || { echo "no neuromod binary at $BIN: cargo build --release first" >&2; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "installing slurm-wlm and munge"
  apt-get update -qq || skip "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null \
    || skip "cannot install slurm-wlm and munge"
fi

WORK=$(mktemp -d /tmp/neuromod-slurm.XXXXXX)
HOST=$(hostname -s)
STARTED_MUNGE=0
stop() {
  for pid in "$WORK/slurmd.pid" "$WORK/slurmctld.pid"; do
    [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
  done
  [ "$STARTED_MUNGE" = 1 ] && pkill -u munge -x munged || true
  for _ in $(seq 20); do pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break; sleep 0.5; done
}
trap stop EXIT

# munge: its key comes with the package; without systemd its run folder must be made, and it
# runs as the munge user (as root it refuses the key). One already running is used as it is.
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  mkdir -p /run/munge && chown munge:munge /run/munge
  runuser -u munge -- /usr/sbin/munged || skip "munged does not start"
  STARTED_MUNGE=1
fi
munge -n | unmunge >/dev/null || skip "munge does not authenticate"

MEM=$(( $(slurmd -C | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p') * 9 / 10 ))
mkdir -p "$WORK/state" "$WORK/spool"
cat > "$WORK/slurm.conf" <<CONF
ClusterName=neuromod
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$WORK/jobcomp.txt
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$WORK/slurm.conf"
slurmctld -f "$SLURM_CONF" || skip "slurmctld does not start"
slurmd -f "$SLURM_CONF" || skip "slurmd does not start"
for _ in $(seq 60); do
  state=$(sinfo -h -o %T 2>/dev/null | head -1 || true)
  [ "$state" = idle ] && break
  case "$state" in down*|drain*) scontrol update nodename="$HOST" state=resume || true ;; esac
  sleep 1
done
[ "$(sinfo -h -o %T | head -1)" = idle ] || skip "the slurm node never became idle: $(sinfo)"
echo "slurm up: $(sinfo -h -o '%P %D %T %C')"

cat > "$WORK/spec.json" <<SPEC
{"args": ["--dataset", "markov", "--device", "ndarray", "--epochs", "3",
          "--h-dim", "16", "--z-dim", "4", "--hidden", "16"],
 "grid": {"model": ["vrnn", "dkf"], "seed": [0, 1, 2]}}
SPEC
"$BIN" sweep "$WORK/spec.json" --out "$WORK/sweep" --slurm
start=$(date +%s)
sbatch --wait "$WORK/sweep/sweep.sbatch"
echo "array job finished in $(( $(date +%s) - start )) s"
"$BIN" collect "$WORK/sweep" | tee "$WORK/collect.md"
grep -q "| model dkf | 3/3 |" "$WORK/collect.md"
grep -q "| model vrnn | 3/3 |" "$WORK/collect.md"
! grep -q "Not finished" "$WORK/collect.md"
echo "OK: 6 array tasks done on Slurm; tables in $WORK/sweep/sweep.md and sweep.csv"
