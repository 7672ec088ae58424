#!/usr/bin/env bash
# Every ```sh block in docs/*.md runs as written, from the repository root, with the built editlab
# in place of build/editlab (ctest passes its path), or says why not: a block preceded by
# "<!-- not run by docs_commands: REASON -->" needs what the repository does not hold (a user's
# model, a CI's own files) or is run by another test, and is listed as skipped with its reason.
# Synopses with placeholders are ```text blocks, not commands. README.md's tour is readme_commands.
# usage: tests/docs/test_doc_commands.sh EDITLAB SOURCE_DIR
set -euo pipefail
editlab=$1
cd "$2"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ran=0 skipped=0 failed=0
for doc in docs/*.md; do
  # Blocks as files: $work/<doc>-<n>.sh, and a .skip file with the reason when marked.
  awk -v dir="$work" -v name="$(basename "$doc" .md)" '
    /^<!-- not run by docs_commands: .* -->$/ { reason = $0; sub(/^<!-- not run by docs_commands: /, "", reason); sub(/ -->$/, "", reason); next }
    /^```sh$/ { n++; file = dir "/" name "-" n ".sh"; printf "" > file
                if (reason != "") print reason > (file ".skip"); reason = ""; inside = 1; next }
    /^```/ { inside = 0; reason = ""; next }
    inside { print >> file; next }
    NF { reason = "" }
  ' "$doc"
done
for block in "$work"/*.sh; do
  [ -e "$block" ] || continue
  label=$(basename "$block" .sh)
  if [ -e "$block.skip" ]; then
    echo "skip $label: $(cat "$block.skip")"
    skipped=$((skipped + 1))
    continue
  fi
  script=$(sed "s#build/editlab#$editlab#g" "$block")
  start=$(date +%s%N)
  set +e
  bash -euo pipefail -c "$script" >"$work/log" 2>&1
  status=$?
  set -e
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [ "$status" -ne 0 ]; then
    echo "FAIL $label (exit $status, $ms ms):" >&2
    sed 's/^/    /' "$block" >&2
    tail -5 "$work/log" >&2
    failed=$((failed + 1))
  else
    echo "ok $label ($(grep -c . "$block") lines, $ms ms)"
  fi
  ran=$((ran + 1))
done
echo "docs/*.md: $ran sh blocks run, $skipped skipped with a reason, $failed failed"
[ "$failed" -eq 0 ] && [ "$ran" -gt 0 ]
