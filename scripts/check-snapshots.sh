#!/usr/bin/env bash
# What a toy-world model knew along its training: runs `editlab toy-world check` (on the world and
# on the datasets' own prompts) on every snapshot that `make-toy-world.sh --snapshot-every N` kept
# in WORK/model/snapshots/step-N, and on the final model, and prints one row per step.
#
# usage: scripts/check-snapshots.sh WORK [--editlab PATH] [--threads N] [--wait]
#   WORK       make-toy-world.sh's --work directory (world/ and model/ in it)
#   --wait     keep going while the training runs: check each snapshot as it appears, until the
#              final model (WORK/model/model.safetensors) is checked
# Each check's JSON stays in WORK/snapshot-checks/step-N.json (checked once; delete to redo).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,10p' "$0"; }
[ $# -ge 1 ] || { usage >&2; exit 2; }
case "$1" in -h|--help) usage; exit 0 ;; esac
WORK=$1; shift
EDITLAB=build/editlab
THREADS=1
WAIT=false
while [ $# -gt 0 ]; do
  case "$1" in
    --editlab) EDITLAB=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --wait) WAIT=true; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "check-snapshots.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -f "$WORK/world/world.json" ] || { echo "check-snapshots.sh: $WORK/world/world.json not found: is $WORK a make-toy-world.sh --work directory?" >&2; exit 2; }
[ -x "$EDITLAB" ] || { echo "check-snapshots.sh: $EDITLAB not found; build first" >&2; exit 2; }
export OMP_WAIT_POLICY=PASSIVE
OUTDIR="$WORK/snapshot-checks"
mkdir -p "$OUTDIR"

check() {  # check MODEL_DIR NAME
  [ -s "$OUTDIR/$2.json" ] && return 0
  "$EDITLAB" --threads "$THREADS" toy-world check --model "$1" --world "$WORK/world" \
    --dataset "$WORK/world/counterfact.json" --dataset "$WORK/world/implications.json" --json > "$OUTDIR/$2.json.tmp"
  mv "$OUTDIR/$2.json.tmp" "$OUTDIR/$2.json"
  echo "checked $1" >&2
}

while true; do
  for dir in "$WORK"/model/snapshots/step-*; do
    case "$dir" in *.tmp) continue ;; esac  # one being written (renamed to step-N when complete)
    [ -f "$dir/config.json" ] && check "$dir" "$(basename "$dir")"
  done
  if [ -f "$WORK/model/model.safetensors" ] && [ -f "$WORK/model/train-log.json" ]; then
    check "$WORK/model" final
    break
  fi
  $WAIT || break
  sleep 30
done

/usr/bin/python3 - "$OUTDIR" <<'EOF'
import glob, json, os, sys
rows = []
for path in glob.glob(os.path.join(sys.argv[1], "*.json")):
    name = os.path.basename(path)[:-5]
    step = float("inf") if name == "final" else int(name.split("-")[1])
    rows.append((step, name, json.load(open(path))["figures"]))
columns = [("train_phrasings", "train"), ("held_out_phrasings", "held-out"), ("transitive_unstated", "landmark composed"),
           ("composed_unstated", "all composed"), ("composed_unstated_seen_bridge", "composed, city seen"),
           ("marriages", "marriages"), ("aliases", "aliases"),
           ("counterfact/rewrite_stated", "cf rewrite stated"), ("counterfact/paraphrase_stated", "cf para stated"),
           ("implications/implied/transitive_memorised", "impl memorised"),
           ("implications/implied/transitive_composed", "impl composed"),
           ("implications/implied/symmetric", "impl symmetric"), ("implications/implied/inverse", "impl inverse")]
print("| step | " + " | ".join(c[1] for c in columns) + " |")
print("|---" * (len(columns) + 1) + "|")
for step, name, figures in sorted(rows, key=lambda r: r[0]):
    cells = [f"{100 * figures[k]['share']:.1f}" if k in figures else "-" for k, _ in columns]
    print(f"| {name} | " + " | ".join(cells) + " |")
EOF
