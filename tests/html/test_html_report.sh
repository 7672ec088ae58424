#!/usr/bin/env bash
# `editlab report --format html` opened in headless Chromium (Debian's chromium, scripts/setup.sh):
# the committed regression baselines (tests/regression/baseline-{rome,ft}.json) become one page; the
# page must load without console errors, hold the expected charts and one row per record, narrow
# the table with the "NS held but NS+ failed" and "made the fact loud" filters (set from the URL's
# fragment, as a user's link would) to exactly the records the reports say, and render to a PNG that
# is not blank; and a run with --details gives record pages listing every probe. Exit 77 (skipped)
# without chromium.
# usage: tests/html/test_html_report.sh EDITLAB SOURCE_DIR
set -euo pipefail
editlab=$1
src=$2
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then echo "skipped: no chromium (scripts/setup.sh installs Debian's)"; exit 77; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
reports=("$src/tests/regression/baseline-rome.json" "$src/tests/regression/baseline-ft.json")
"$editlab" report "${reports[@]}" --format html --out "$tmp/report.html" 2>/dev/null
[ -s "$tmp/report.html" ] || fail "no HTML written"
grep -q 'src="http\|href="http' "$tmp/report.html" && fail "the page loads something from the network"
run() {  # chromium, headless, with a fresh profile; stdout: the DOM after the scripts ran
  timeout 60 "$browser" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$tmp/profile" \
    --enable-logging=stderr --v=0 "$@" 2>>"$tmp/console.log"
}
start=$(date +%s%N)
run --dump-dom "file://$tmp/report.html" > "$tmp/dom.html"
if grep -E 'CONSOLE|Uncaught' "$tmp/console.log" | grep -v 'dbus' >/dev/null; then
  grep -E 'CONSOLE|Uncaught' "$tmp/console.log" >&2
  fail "console errors"
fi
for id in chart-efficacy chart-specificity chart-magnitude chart-loud summary records; do
  grep -q "id=\"$id\"" "$tmp/dom.html" || fail "no element #$id"
done
records=$(jq -s '[.[].records | length] | add' "${reports[@]}")
rows=$(grep -o '<tr class="record' "$tmp/dom.html" | wc -l)
[ "$rows" -eq "$records" ] || fail "$rows record rows for $records records"
grep -q "<span id=\"shown\">$records of $records records</span>" "$tmp/dom.html" || fail "the count line is not '$records of $records records'"
# The ready filters, from the fragment: the rows left visible are the records the reports flag.
mean='def m(k): (.metrics[k] // []) | if length == 0 then null else add / length end;'
nsplus=$(jq -s "$mean"' [.[].records[] | select(m("specificity/NS") != null and m("specificity_plus/NS+") != null
                and m("specificity/NS") >= 0.5 and m("specificity_plus/NS+") < 0.5)] | length' "${reports[@]}")
loud=$(jq -s "$mean"' [.[].records[] | select(m("loud/rate") != null and
                ((m("loud/rate_before") != null and m("loud/rate") > m("loud/rate_before")) or
                 (m("loud/rate_before") == null and m("loud/rate") > 0)))] | length' "${reports[@]}")
for case in "ns-plus-failed $nsplus" "loud $loud"; do
  set -- $case
  run --dump-dom "file://$tmp/report.html#filter=$1" > "$tmp/filtered.html"
  visible=$(grep -o '<tr class="record[^>]*>' "$tmp/filtered.html" | grep -vc ' hidden' || true)
  [ "$visible" -eq "$2" ] || fail "filter $1: $visible rows visible, the reports flag $2"
  [ "$2" -lt "$records" ] || fail "filter $1 does not narrow the table ($2 of $records)"
  echo "filter $1: $visible of $records records"
done
# A record's page: a two-record FT run with --details lists every probe with its probabilities.
(cd "$src" && "$editlab" --threads 2 run experiments/toy-world/ft.json --limit 2 --details --out "$tmp/details" \
  --format none >/dev/null 2>&1) || fail "editlab run --details failed"
"$editlab" report "$tmp/details/report.json" --format html --out "$tmp/details.html" 2>/dev/null
run --dump-dom "file://$tmp/details.html" > "$tmp/details-dom.html"
probes=$(jq '[.records[].details.probes | length] | add' "$tmp/details/report.json")
probe_rows=$(sed -n '/<table class="probes">/,/<\/table>/p' "$tmp/details-dom.html" | grep -o '<tr><td>' | wc -l)
[ "$probes" -gt 0 ] && [ "$probe_rows" -eq "$probes" ] || fail "record pages: $probe_rows probe rows for $probes probes"
grep -q '<b>edit</b>' "$tmp/details-dom.html" || fail "record pages: no edit line"
echo "record pages: $probe_rows probe rows with p before -> after"
run --window-size=1280,1600 --screenshot="$tmp/report.png" "file://$tmp/report.html" >/dev/null
size=$(stat -c %s "$tmp/report.png")
# A blank 1280x1600 page compresses to a few kilobytes; charts and tables do not.
[ "$size" -gt 30000 ] || fail "the screenshot is $size bytes: blank?"
end=$(date +%s%N)
echo "ok: $rows rows, charts present, filters narrow the table, screenshot $size bytes; $(( (end - start) / 1000000 )) ms in the browser"
