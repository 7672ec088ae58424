#!/usr/bin/env bash
# Submits a sharded `editlab run` to Slurm: a job array with one shard per array task
# (run-shard.sbatch) and a merge job that starts when every shard has succeeded (merge.sbatch)
# and writes OUT/report.json. See docs/commands.md "Sharding over a Slurm cluster".
#
# usage: scripts/slurm/submit.sh EXPERIMENT.json --shards N --out DIR
#            [--editlab PATH] [--partition P] [--time T] [--cpus-per-task C] [--mem M]
#            [--account A] [--qos Q] [--max-parallel M] [--dry-run] [-- EXTRA SBATCH OPTIONS...]
#
#   OUT/shard-K/       shard K's journal.jsonl, report.json, summary.md (K = 1..N)
#   OUT/report.json    the merged report (editlab merge), OUT/summary.md its table
#   OUT/logs/          shard-K.out, merge.out
#   OUT/jobs.env       ARRAY_JOB=... MERGE_JOB=... for scripts (squeue -j, scancel)
# Prints the two job ids. Submitting again after a failure resumes: every shard runs with
# --resume, so finished records are skipped.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usage() { sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
die() { echo "submit.sh: error: $*" >&2; exit 2; }

experiment="" shards="" out="" editlab="${EDITLAB:-}" dry_run=0 max_parallel=""
sbatch_common=()
while [ $# -gt 0 ]; do
  case "$1" in
    --shards) shards=${2:?--shards needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a value}; shift 2 ;;
    --editlab) editlab=${2:?--editlab needs a value}; shift 2 ;;
    --partition|--time|--cpus-per-task|--mem|--account|--qos)
      sbatch_common+=("$1=${2:?$1 needs a value}"); shift 2 ;;
    --max-parallel) max_parallel=${2:?--max-parallel needs a value}; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage 0 ;;
    --) shift; sbatch_common+=("$@"); break ;;
    -*) die "unknown option $1 (sbatch options go after --)" ;;
    *) [ -z "$experiment" ] || die "one experiment file expected, got $experiment and $1"; experiment=$1; shift ;;
  esac
done
[ -n "$experiment" ] || die "no EXPERIMENT.json given (usage: submit.sh EXPERIMENT.json --shards N --out DIR)"
[ -f "$experiment" ] || die "$experiment: no such file"
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || die "--shards: a positive integer expected, got '${shards}'"
[ -n "$out" ] || die "--out DIR is required"
[ -z "$max_parallel" ] || [[ "$max_parallel" =~ ^[1-9][0-9]*$ ]] || die "--max-parallel: a positive integer expected"
if [ -z "$editlab" ]; then
  if [ -x "$here/../../build/editlab" ]; then editlab="$here/../../build/editlab"; else editlab=$(command -v editlab || true); fi
fi
[ -n "$editlab" ] && [ -x "$editlab" ] || die "editlab executable not found: build it (scripts/setup.sh) or pass --editlab PATH"
command -v sbatch >/dev/null || [ "$dry_run" = 1 ] || die "sbatch not found: is this a Slurm login node?"

# Jobs may start in another directory: pass absolute paths.
experiment=$(realpath "$experiment")
editlab=$(realpath "$editlab")
mkdir -p "$out/logs"
out=$(realpath "$out")
export EDITLAB="$editlab" EDITLAB_EXPERIMENT="$experiment" EDITLAB_SHARDS="$shards" EDITLAB_OUT="$out"
array_spec="1-$shards${max_parallel:+%$max_parallel}"
array_cmd=(sbatch --parsable --array="$array_spec" --job-name=editlab-run --output="$out/logs/shard-%a.out"
           --open-mode=append --export=ALL "${sbatch_common[@]}" "$here/run-shard.sbatch")
if [ "$dry_run" = 1 ]; then
  printf '%q ' "${array_cmd[@]}"; echo
  printf '%q ' sbatch --parsable --dependency=afterok:ARRAY_JOB --kill-on-invalid-dep=yes --job-name=editlab-merge \
    --output="$out/logs/merge.out" --open-mode=append --export=ALL "${sbatch_common[@]}" "$here/merge.sbatch"; echo
  exit 0
fi
array_job=$("${array_cmd[@]}")
array_job=${array_job%%;*}  # --parsable prints "jobid[;cluster]"
merge_job=$(sbatch --parsable --dependency="afterok:$array_job" --kill-on-invalid-dep=yes --job-name=editlab-merge \
  --output="$out/logs/merge.out" --open-mode=append --export=ALL "${sbatch_common[@]}" "$here/merge.sbatch")
merge_job=${merge_job%%;*}
printf 'ARRAY_JOB=%s\nMERGE_JOB=%s\n' "$array_job" "$merge_job" > "$out/jobs.env"
echo "submitted: array job $array_job ($shards shards -> $out/shard-K), merge job $merge_job -> $out/report.json"
echo "watch: squeue -j $array_job,$merge_job    logs: $out/logs/"
