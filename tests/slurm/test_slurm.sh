#!/usr/bin/env bash
# ctest "slurm": a single-node Slurm cluster started on this machine for the test (munged,
# slurmctld and slurmd, configured in a temp dir on free ports; stopped by the trap, whatever
# happens), scripts/slurm/submit.sh submitting a 2-shard job array plus the dependent merge job
# over a few toy-world records, and the merged report checked against an unsharded run of the
# same experiment: records (per-record timings removed), summary, selection and aggregates equal.
#
# usage: tests/slurm/test_slurm.sh EDITLAB_EXECUTABLE SOURCE_DIR
# Needs root (the daemons run as root: SlurmUser=root) and Debian's slurm-wlm and munge
# (scripts/setup.sh installs them). Exit 77 (ctest: skipped) only when not root.
set -euo pipefail
editlab=$(realpath "${1:?usage: test_slurm.sh EDITLAB_EXECUTABLE SOURCE_DIR}")
src=$(realpath "${2:?usage: test_slurm.sh EDITLAB_EXECUTABLE SOURCE_DIR}")
say() { echo "test_slurm: $*"; }
die() { echo "test_slurm: FAILED: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  say "SKIP: needs root to start munged, slurmctld and slurmd (SlurmUser=root); run ctest as root"
  exit 77
fi
for tool in munged munge slurmctld slurmd sbatch squeue scontrol sinfo; do
  command -v "$tool" >/dev/null || die "$tool not found: install slurm-wlm and munge (scripts/setup.sh)"
done

tmp=$(mktemp -d /tmp/editlab-slurm.XXXXXX)
chmod 755 "$tmp"
export SLURM_CONF="$tmp/slurm.conf"

dump_logs() {
  for f in "$tmp"/slurmctld.log "$tmp"/slurmd.log "$tmp"/munge/munged.log "$tmp"/sharded/logs/*; do
    [ -f "$f" ] && { echo "----- $f (last 30 lines)"; tail -n 30 "$f"; }
  done
}
stop_pidfile() {  # stop the daemon whose pid is in $1, if it is still running
  local pid
  [ -f "$1" ] || return 0
  pid=$(cat "$1" 2>/dev/null || true)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ "$status" -eq 0 ] || dump_logs
  # The jobs first (their processes are children of slurmstepd), then the daemons.
  if [ -f "$tmp/slurmctld.pid" ]; then scancel --full --quiet -u root >/dev/null 2>&1 || true; fi
  stop_pidfile "$tmp/slurmd.pid"
  stop_pidfile "$tmp/slurmctld.pid"
  [ -S "$tmp/munge/munge.socket" ] && munged --stop --socket="$tmp/munge/munge.socket" >/dev/null 2>&1 || true
  stop_pidfile "$tmp/munge/munged.pid"
  rm -rf "$tmp"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two free TCP ports (another test or cluster may be using Slurm's defaults).
read -r ctld_port slurmd_port < <(/usr/bin/python3 -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])')

# munge: a fresh key, its own socket.
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool"
chmod 755 "$tmp/munge"
head -c 1024 /dev/urandom > "$tmp/munge/munge.key"
chmod 400 "$tmp/munge/munge.key"
munged --force --socket="$tmp/munge/munge.socket" --key-file="$tmp/munge/munge.key" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munge/munged.log" --seed-file="$tmp/munge/munged.seed"
munge -n -S "$tmp/munge/munge.socket" | unmunge -S "$tmp/munge/munge.socket" >/dev/null || die "munge does not work"

# Slurm: one node (this machine, 2 CPUs), no cgroups, no accounting.
node=$(hostname -s)
cat > "$SLURM_CONF" <<EOF
ClusterName=editlabtest
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 60); do
  state=$(sinfo -h -n "$node" -o %t 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || die "the node did not come up (sinfo state '${state}')"
say "single-node Slurm up: node $node, slurmctld port $ctld_port, slurmd port $slurmd_port"

# The experiment: a few toy-world records on the committed tiny GPT-2, edited with FT.
"$editlab" toy-world generate --seed 3 --out "$tmp/world" --records 6 --train-docs 20 --stats-docs 5 >/dev/null
cat > "$tmp/experiment.json" <<EOF
{"model": "$src/tests/fixtures/tiny-gpt2",
 "method": "ft",
 "hparams": "$src/configs/ft/gpt2.json",
 "dataset": "$tmp/world/counterfact.json",
 "select": {"limit": 5},
 "seed": 1,
 "threads": 1,
 "bootstrap": {"resamples": 200},
 "out": "$tmp/unsharded"}
EOF

# The reference: the same experiment, unsharded, without Slurm.
"$editlab" --threads 1 run "$tmp/experiment.json" --format none >/dev/null 2>"$tmp/unsharded.log" ||
  { cat "$tmp/unsharded.log" >&2; die "the unsharded run failed"; }

# The sharded run through Slurm: submit, wait for the merge job.
"$src/scripts/slurm/submit.sh" "$tmp/experiment.json" --shards 2 --out "$tmp/sharded" --editlab "$editlab" \
  --cpus-per-task 1
# shellcheck disable=SC1091
. "$tmp/sharded/jobs.env"
say "array job $ARRAY_JOB, merge job $MERGE_JOB submitted"
deadline=$((SECONDS + 300))
while :; do
  merge_state=$(scontrol show job "$MERGE_JOB" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n1)
  case "$merge_state" in
    COMPLETED) break ;;
    FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE)
      scontrol show job "$ARRAY_JOB" >&2 || true
      die "the merge job ended $merge_state" ;;
  esac
  [ $SECONDS -lt $deadline ] || { squeue >&2; die "the jobs did not finish in 300 s (merge job: ${merge_state:-unknown})"; }
  sleep 1
done
for k in 1 2; do
  [ -f "$tmp/sharded/shard-$k/report.json" ] || die "shard $k wrote no report"
done
[ -f "$tmp/sharded/summary.md" ] || die "the merge job wrote no summary.md"
say "merge job completed: $tmp/sharded/report.json"

# The merged report equals the unsharded one, timings aside.
/usr/bin/python3 - "$tmp/unsharded/report.json" "$tmp/sharded/report.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def strip(records):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]
problems = []
for field in ("schema", "run_id", "complete", "model", "dataset", "selection", "shard", "bootstrap",
              "summary", "aggregates", "hparams"):
    if a.get(field) != b.get(field):
        problems.append(f"{field}: unsharded {json.dumps(a.get(field))[:300]} != merged {json.dumps(b.get(field))[:300]}")
if strip(a["records"]) != strip(b["records"]):
    problems.append("records differ")
if len(a["records"]) != 5 or b["summary"]["records"] != 5:
    problems.append(f"expected 5 records, found {len(a['records'])} and {b['summary']['records']}")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"test_slurm: merged == unsharded: {len(b['records'])} records, {len(b['aggregates'])} aggregates")
EOF
say "passed"
