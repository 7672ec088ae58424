#!/usr/bin/env bash
# Every command in README.md's ```sh blocks runs as written, from the repository root, with the
# built editlab in place of build/editlab (ctest passes its path): the tour edits, scores,
# generates, traces, runs two experiments, compares and tabulates on the shipped toy world.
# `editlab compare` may exit 1 (README: "the exit status is 1 when a metric lies outside its
# tolerance"); every other command must exit 0. Not run here: scripts/test.sh (this test's own
# caller) and scripts/demo.sh (about 200 s; run by hand, its conclusions are quoted in
# docs/findings.md).
# usage: tests/docs/test_readme_commands.sh EDITLAB SOURCE_DIR
set -euo pipefail
editlab=$1
cd "$2"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The tour's outputs, as a first-time reader has none (`editlab run` keeps a finished run's directory).
rm -rf out/tour /tmp/louvre-rome /tmp/trace /tmp/trace200
mapfile -t commands < <(awk '/^```sh/{f=1; next} /^```/{f=0} f' README.md |
  sed -e 's/[[:space:]]#.*$//' | awk '{ if (sub(/\\$/, "")) { acc = acc $0 } else { print acc $0; acc = "" } }' |
  grep -v '^[[:space:]]*$')
ran=0 failed=0
for cmd in "${commands[@]}"; do
  case "$cmd" in
    scripts/test.sh*|scripts/demo.sh*) echo "skip: $cmd"; continue ;;
  esac
  run=${cmd//build\/editlab/$editlab}
  start=$(date +%s%N)
  set +e
  bash -c "$run" >"$log" 2>&1
  status=$?
  set -e
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  allowed=0
  [[ "$cmd" == *" compare "* ]] && [ "$status" -eq 1 ] && allowed=1
  if [ "$status" -ne 0 ] && [ "$allowed" -eq 0 ]; then
    echo "FAIL (exit $status, $ms ms): $cmd" >&2
    tail -5 "$log" >&2
    failed=$((failed + 1))
  else
    echo "ok (exit $status, $ms ms): ${cmd:0:100}"
  fi
  ran=$((ran + 1))
done
echo "$ran README commands run, $failed failed"
[ "$failed" -eq 0 ] && [ "$ran" -gt 10 ]
