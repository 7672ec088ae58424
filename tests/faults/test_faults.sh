#!/usr/bin/env bash
# ctest entry `faults`: editlab run when the disk fills, the output directory is read-only, a cache
# cannot be written, or the model file shrinks under a running process. Small tmpfs file systems
# are mounted by the test, so it needs root (skipped, exit 77, otherwise).
#   test_faults.sh EDITLAB SOURCE_DIR
# What must hold:
#   - a full disk while the journal is written: one clear error (errno's text), every record
#     finished before it stays in the journal, no report; after space is freed, --resume completes
#     with the records of an uninterrupted run;
#   - a full disk while the report is written: one clear error, no report and no temporary file
#     left; --resume then writes it;
#   - a read-only output directory: one clear error before any work;
#   - a statistics / templates cache that cannot be written: a warning, and the run completes;
#   - the model's weights file cut short while a run maps it: a clear error or a complete run,
#     never a death by signal.
set -euo pipefail
editlab=$1
source_dir=$2
if [ "$(id -u)" != 0 ]; then
  echo "skipped: mounting tmpfs needs root"
  exit 77
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/editlab-faults.XXXXXX")
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
mount_tmpfs() {  # DIR SIZE [ro]
  mkdir -p "$1"
  if ! mount -t tmpfs -o "size=$2${3:+,$3}" tmpfs "$1" 2>/dev/null; then
    echo "skipped: cannot mount tmpfs here"
    exit 77
  fi
  mounts+=("$1")
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
export OMP_WAIT_POLICY=PASSIVE
# Complete journal lines (the header included).
complete_lines() { tr -cd '\n' <"$1" | wc -c; }
metrics() { jq -c '[.records[] | {index, status, metrics}]' "$1"; }
# expect_error LOG MESSAGE COMMAND...: COMMAND must exit 2 with MESSAGE in its stderr (kept in LOG).
expect_error() {
  local log=$1 message=$2 code=0
  shift 2
  "$@" 2>"$log" || code=$?
  [ "$code" = 2 ] || fail "exit code $code, expected 2: $(tail -3 "$log")"
  grep -q -- "$message" "$log" || fail "no clear error: $(tail -3 "$log")"
}

# An FT run on the toy world: fast and deterministic at one thread.
tw=$source_dir/data/toy-world
cat >"$tmp/ft.json" <<EOF
{"model": "$tw/model", "method": "ft", "hparams": "$source_dir/configs/ft/toy-world.json",
 "dataset": "$tw/counterfact.json", "select": {"limit": 12},
 "suites": ["efficacy", "paraphrase", "specificity", "loud", "implication"], "seed": 0, "threads": 1}
EOF
run() { "$editlab" --threads 1 run "$tmp/ft.json" --format none "$@"; }

echo "== reference: an uninterrupted run"
run --out "$tmp/ref" 2>"$tmp/ref.log" || fail "the reference run failed: $(tail -3 "$tmp/ref.log")"
journal_bytes=$(stat -c %s "$tmp/ref/journal.jsonl")
report_bytes=$(stat -c %s "$tmp/ref/report.json")
echo "journal $journal_bytes bytes, report $report_bytes bytes"

echo "== a full disk while the journal is written"
mount_tmpfs "$tmp/full" "$((journal_bytes / 2 / 4096 * 4096 + 4096))"
expect_error "$tmp/full.log" 'cannot write the journal: No space left on device' run --out "$tmp/full/out"
[ ! -e "$tmp/full/out/report.json" ] || fail "a report was written"
kept=$(($(complete_lines "$tmp/full/out/journal.jsonl") - 1))
[ "$kept" -ge 1 ] && [ "$kept" -lt 12 ] || fail "the journal keeps $kept records"
echo "stopped with $kept records in the journal: $(grep -o 'error: .*' "$tmp/full.log" | head -1)"
mount -o remount,size=16m "$tmp/full"
run --out "$tmp/full/out" --resume 2>"$tmp/resume.log" || fail "--resume failed: $(tail -3 "$tmp/resume.log")"
grep -q "resuming: $kept of 12 records" "$tmp/resume.log" || fail "the resume did not keep the $kept records"
[ "$(metrics "$tmp/full/out/report.json")" = "$(metrics "$tmp/ref/report.json")" ] ||
  fail "the resumed report's records differ from the uninterrupted run's"
echo "resumed: the report's 12 records equal the uninterrupted run's"

echo "== a full disk while the report is written"
mount_tmpfs "$tmp/full2" "$(((journal_bytes + 8192) / 4096 * 4096 + 4096))"
[ "$report_bytes" -gt 16384 ] || fail "the report ($report_bytes bytes) is too small for this test"
expect_error "$tmp/full2.log" 'report.json: cannot write: No space left on device' run --out "$tmp/full2/out"
[ ! -e "$tmp/full2/out/report.json" ] || fail "a report was written"
if ls -A "$tmp/full2/out" | grep -q 'tmp'; then fail "a temporary file was left: $(ls -A "$tmp/full2/out")"; fi
[ "$(complete_lines "$tmp/full2/out/journal.jsonl")" = 13 ] || fail "the journal lost records"
echo "$(grep -o 'error: .*' "$tmp/full2.log" | head -1)"
mount -o remount,size=16m "$tmp/full2"
run --out "$tmp/full2/out" --resume 2>"$tmp/resume2.log" || fail "--resume failed: $(tail -3 "$tmp/resume2.log")"
[ "$(metrics "$tmp/full2/out/report.json")" = "$(metrics "$tmp/ref/report.json")" ] ||
  fail "the report written on resume differs from the uninterrupted run's"
echo "resumed: report written, equal to the uninterrupted run's"

echo "== a read-only output directory"
mount_tmpfs "$tmp/ro" 1m ro
expect_error "$tmp/ro.log" 'Read-only file system' run --out "$tmp/ro/out"
echo "$(grep -o 'error: .*' "$tmp/ro.log" | head -1)"

echo "== ROME's caches on a full disk: a warning, and the edit goes on"
mount_tmpfs "$tmp/cache" 4k
"$editlab" --threads 1 edit --model "$tw/model" --method rome --hparams "$source_dir/configs/rome/toy-world.json" \
  --stats-corpus "$tw/stats.txt" --samples 200 --cache-dir "$tmp/cache" --prompt "{} is located in" \
  --subject "The Louvre" --target-new Rome --json >"$tmp/edit.json" 2>"$tmp/edit.log" ||
  fail "the edit failed: $(tail -3 "$tmp/edit.log")"
grep -q 'not cached' "$tmp/edit.log" || fail "no warning: $(cat "$tmp/edit.log")"
if find "$tmp/cache" -name '*tmp*' | grep -q .; then fail "a temporary file was left in the cache"; fi
echo "$(grep 'not cached' "$tmp/edit.log" | head -1)"

echo "== the weights file cut short under a running process"
cp -r "$tw/model" "$tmp/model"
sed "s|$tw/model|$tmp/model|; s|\"limit\": 12|\"limit\": 60|" "$tmp/ft.json" >"$tmp/shrink.json"
"$editlab" --threads 1 run "$tmp/shrink.json" --out "$tmp/shrink" --format none 2>"$tmp/shrink.log" &
pid=$!
for _ in $(seq 1 300); do  # until the first record is done (at most 30 s)
  if [ -f "$tmp/shrink/journal.jsonl" ] && [ "$(complete_lines "$tmp/shrink/journal.jsonl")" -ge 2 ]; then break; fi
  sleep 0.1
done
truncate -s 4096 "$tmp/model/model.safetensors"
set +e
wait "$pid"
code=$?
set -e
if [ "$code" -ge 128 ]; then fail "editlab died by signal $((code - 128)): $(tail -3 "$tmp/shrink.log")"; fi
if [ "$code" != 0 ]; then
  grep -q 'error: ' "$tmp/shrink.log" || fail "exit code $code without an error message"
fi
echo "exit code $code: $(grep -o 'error: .*' "$tmp/shrink.log" | head -1)"
echo "all fault tests passed"
