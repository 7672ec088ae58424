#!/usr/bin/env bash
# The one prepared check for the GPU machine (issue 28; sized for about 6 minutes on an H100, not
# yet run on one):
#   1. unpacks .device/editlab-cuda.tar.xz (scripts/make-device-bundle.sh) into build-cuda/, the
#      binaries loading the machine's own torch 2.11 libraries;
#   2. runs the CUDA-labelled tests (tests/cuda/run_cuda_tests.sh: CPU against CUDA on every
#      fixture, the toy-world regression experiments on the GPU against the CPU baselines);
#   3. measures, in this one run, and prints one table (also $OUT/device-check.json):
#      - forward tokens/s, editlab against Hugging Face transformers eager, on random GPT-2-XL- and
#        Llama-1B-shaped models, batch 16 x 128 tokens, in bfloat16 (target >= 1.0x);
#      - one ROME edit on the GPT-2-XL shape in float32, editlab against the original algorithm in
#        PyTorch on the same GPU (scripts/time_rome_reference.py; target >= 3x);
#      - statistics tokens/s (GPT-2-XL shape, layer 17);
#      - the peak GPU memory of a ROME edit of the Llama-1B shape in bfloat16 (target <= 1.3x the
#        weights + one batch's activations, measured as the forward benchmark's peak);
#      - records/s of ROME on the toy world's first 64 records at record_batch 1 and 32 (issue 27).
#
#   device tool:  run(command="bash scripts/device-check.sh", carry=[".device"], timeout_s=540)
#   here (CPU):   scripts/device-check.sh --device cpu --quick   (the script's own dry run: the same
#                 steps on small inputs, against build-cuda/ and .venv-cuda's torch)
#
# Options: --device cpu|cuda (default cuda), --quick (batch 1 x 16, one repeat, 20 statistics texts,
# the GPT-2-small shape for ROME and as GPT-2-XL's stand-in), --skip-tests, --work DIR (default
# /tmp/editlab-device-check).
set -uo pipefail
cd "$(dirname "$0")/.."
device=cuda
quick=0
skip_tests=0
work=/tmp/editlab-device-check
while [[ $# -gt 0 ]]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --skip-tests) skip_tests=1; shift ;;
    --work) work=$2; shift 2 ;;
    -h|--help) awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"; exit 0 ;;
    *) echo "device-check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
out=${OUT:-$work/out}
mkdir -p "$work" "$out"
log=$out/device-check.log
exec > >(tee "$log") 2>&1
started=$(date +%s)
stamp() { echo "[$(($(date +%s) - started)) s] $*"; }
python=${PYTHON:-python3}
[[ $device == cpu && -x .venv-cuda/bin/python ]] && python=${PYTHON:-.venv-cuda/bin/python}

# ---- 1. the binaries ----
if [[ -f .device/editlab-cuda.tar.xz && ! -x build-cuda/editlab ]]; then
  mkdir -p build-cuda/tests build-cuda/lib
  tar -C "$work" -xJf .device/editlab-cuda.tar.xz
  cp "$work/bin/editlab" build-cuda/editlab
  cp "$work/bin/editlab_tests" build-cuda/tests/editlab_tests
  cp "$work"/lib/* build-cuda/lib/
  cat "$work/BUNDLE"
  # The binaries name the source tree they were built in (tests' fixtures, data/): the same path here.
  src=$(awk '$1 == "source_dir" {print $2}' "$work/BUNDLE")
  if [[ $(pwd -P) != "$src" ]]; then
    if [[ -e $src && ! -L $src ]]; then
      echo "device-check: $src exists here and is not this checkout; the bundle's binaries read their data from it" >&2
      exit 1
    fi
    mkdir -p "$(dirname "$src")" && ln -sfn "$(pwd -P)" "$src"
  fi
  torch_lib=$("$python" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))')
  export LD_LIBRARY_PATH=$PWD/build-cuda/lib:$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  want=$(awk '$1 == "torch" {print $2}' "$work/BUNDLE")
  have=$("$python" -c 'import torch; print(torch.__version__.split("+")[0])')
  [[ $want == "$have" ]] || echo "device-check: warning: built against torch $want, this machine has $have"
elif [[ -f build-cuda/env.sh ]]; then
  # shellcheck disable=SC1091
  . build-cuda/env.sh
fi
E=build-cuda/editlab
T=build-cuda/tests/editlab_tests
[[ -x $E ]] || { echo "device-check: no $E (scripts/setup-cuda.sh, scripts/make-device-bundle.sh)" >&2; exit 2; }
if ldd "$E" | grep "not found"; then
  echo "device-check: $E cannot load the libraries above" >&2
  exit 1
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$E" devices
stamp "binaries ready"

# ---- 2. the CUDA-labelled tests ----
tests_status=skipped
if [[ $skip_tests == 0 ]]; then
  timeout 300 bash tests/cuda/run_cuda_tests.sh "$E" "$T" . 2>&1 | tee "$work/tests.log" | grep -v "^\s*$" | tail -40
  rc=${PIPESTATUS[0]}
  case $rc in 0) tests_status=passed ;; 77) tests_status="skipped (no CUDA device)" ;; *) tests_status="FAILED ($rc)" ;; esac
  cp "$work/tests.log" "$out/tests.log"
  stamp "tests: $tests_status"
fi

# ---- 3. the figures ----
if [[ $quick == 1 ]]; then
  batch=1; tokens=16; rome_shape=gpt2-small; samples=20; repeats=1
else
  batch=16; tokens=128; rome_shape=gpt2-xl; samples=2000; repeats=5
fi
results=$work/results.jsonl
: >"$results"
record() { echo "$1" >>"$results"; }
json_field() { "$python" -c 'import json, sys; j = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): j = j[k]
print(j)' "$@"; }

# The GPT-2-XL-shaped model (random weights, float32), with ROME's statistics and templates.
xl=$work/rome-$rome_shape
if [[ ! -f $xl/model/model.safetensors ]]; then
  "$python" scripts/time_rome_reference.py setup "$xl" --shape "$rome_shape" || echo "device-check: setup failed"
fi
stamp "model written: $xl"

# Forward: editlab bench against HF eager, bfloat16 (float32 on a CPU dry run).
dtype=bfloat16
[[ $device == cpu ]] && dtype=float32
for shape in gpt2-xl llama-1b; do
  if [[ $shape == gpt2-xl && $rome_shape == gpt2-xl ]]; then
    model_args=(--model "$xl/model")
  else
    model_args=(--shape "$shape" --work-dir "$work" --keep)
  fi
  [[ $quick == 1 && $shape == gpt2-xl ]] && model_args=(--model "$xl/model")  # the small shape stands in
  if timeout 240 "$E" --device "$device" --dtype "$dtype" bench "${model_args[@]}" --skip-load --batch "$batch" \
       --tokens "$tokens" --json >"$work/bench-$shape.json"; then
    record "$("$python" -c 'import json, sys; j = json.load(open(sys.argv[1])); j["side"] = "editlab"; j["bench_shape"] = sys.argv[2]; print(json.dumps(j))' "$work/bench-$shape.json" "$shape")"
  else
    echo "device-check: editlab bench $shape failed"
  fi
  hf_shape=$shape
  [[ $quick == 1 && $shape == gpt2-xl ]] && hf_shape=gpt2-small
  timeout 240 "$python" scripts/device_bench_hf.py --shape "$hf_shape" --device "$device" --dtype "$dtype" \
    --batch "$batch" --tokens "$tokens" --repeats "$repeats" --label "$shape" >>"$results" || echo "device-check: HF bench $shape failed"
  stamp "forward $shape done"
done

# ROME on the GPT-2-XL shape: editlab's edit command (setup: statistics load and inverse; the edit)
# against the reference's apply_rome_to_model parts, float32, 3 runs each.
edit_args=(--model "$xl/model" --hparams "$xl/hparams.json" --stats "$xl/stats.npz" --context-templates "$xl/templates.json"
           --no-cache --prompt "{} is located in the city of" --subject "The Eiffel Tower" --target-new Rome --json)
for run in 1 2 3; do
  if timeout 180 "$E" --device "$device" edit "${edit_args[@]}" >"$work/edit-$run.json"; then
    record "$("$python" -c 'import json, sys; j = json.load(open(sys.argv[1]))
l = j["edits"][0]["diagnostics"]["layers"][0]
print(json.dumps({"side": "editlab", "figure": "rome", "setup": j["seconds"]["setup"]["total"], "edit": j["seconds"]["edit"],
                  "v_steps": l["steps"], "device_memory": j.get("device_memory")}))' "$work/edit-$run.json")"
  else
    echo "device-check: editlab edit failed"
  fi
done
timeout 300 "$python" scripts/time_rome_reference.py time "$xl" --device "$device" --runs 3 |
  "$python" -c 'import json, sys
for line in sys.stdin:
    j = json.loads(line); j.update(side="reference", figure="rome"); print(json.dumps(j))' >>"$results" ||
  echo "device-check: the reference ROME failed"
stamp "ROME done"

# Statistics tokens/s at the edited layer of the GPT-2-XL shape.
layer=$("$python" -c 'import json, sys; print(json.load(open(sys.argv[1]))["layer"])' "$xl/shape.json")
if timeout 180 "$E" --device "$device" stats --model "$xl/model" --layer "$layer" --corpus data/toy-world/stats.txt \
     --samples "$samples" --no-cache --json >"$work/stats.json"; then
  record "$("$python" -c 'import json, sys; j = json.load(open(sys.argv[1])); j.update(side="editlab", figure="stats"); print(json.dumps(j))' "$work/stats.json")"
fi
stamp "statistics done"

# Peak GPU memory of a ROME edit of the Llama-1B shape in bfloat16 (its statistics from the toy
# world's corpus, computed by the same command).
llama=$(ls -d "$work"/editlab-bench-llama-1b-* 2>/dev/null | head -1)
if [[ -n $llama ]]; then
  "$python" - "$work/llama-rome.json" <<'EOF'
import json, sys
# configs/rome/llama-2-7b.yaml (EasyEdit's values) with the loss layer of a 16-layer model.
hp = {"layers": [5], "fact_token": "subject_last", "v_num_grad_steps": 25, "v_lr": 0.5, "v_loss_layer": 15,
      "v_weight_decay": 1e-3, "clamp_norm_factor": 4, "kl_factor": 0.0625, "mom2_adjustment": False,
      "context_template_length_params": [[5, 10], [10, 10]], "rewrite_module_tmp": "model.layers.{}.mlp.down_proj",
      "layer_module_tmp": "model.layers.{}", "mlp_module_tmp": "model.layers.{}.mlp",
      "attn_module_tmp": "model.layers.{}.self_attn", "ln_f_module": "model.norm", "lm_head_module": "lm_head",
      "mom2_dataset": "wikipedia", "mom2_n_samples": 100000, "mom2_dtype": "float32"}
json.dump(hp, open(sys.argv[1], "w"))
EOF
  if timeout 180 "$E" --device "$device" --dtype "$dtype" edit --model "$llama" --hparams "$work/llama-rome.json" \
       --stats-corpus data/toy-world/stats.txt --samples "$samples" --context-templates "$xl/templates.json" --no-cache \
       --prompt "{} is located in the city of" --subject "The Eiffel Tower" --target-new Rome --json >"$work/llama-edit.json"; then
    record "$("$python" -c 'import json, sys; j = json.load(open(sys.argv[1]))
print(json.dumps({"side": "editlab", "figure": "llama_edit_memory", "setup": j["seconds"]["setup"]["total"], "edit": j["seconds"]["edit"], "device_memory": j.get("device_memory")}))' "$work/llama-edit.json")"
  else
    echo "device-check: the Llama-shaped edit failed"
  fi
fi
stamp "Llama edit done"

# Records probed together on the GPU (issue 27: >= 5x records/s at record_batch 32 against 1; on 2
# CPU cores the v steps are bound by arithmetic and it gives 1.16x): ROME as published on the toy
# world's first records, all its suites, one run at each size.
rb_records=$([[ $quick == 1 ]] && echo 8 || echo 64)
for rb in 1 32; do
  rm -rf "$work/record-batch-$rb"
  if timeout 240 "$E" --device "$device" run experiments/toy-world/rome.json --limit "$rb_records" --record-batch "$rb" \
       --out "$work/record-batch-$rb" --format none >"$work/record-batch-$rb.log" 2>&1; then
    record "$("$python" -c 'import json, sys; j = json.load(open(sys.argv[1])); t = j["timings"]
print(json.dumps({"side": "editlab", "figure": "record_batch", "record_batch": int(sys.argv[2]), "records": len(j["records"]),
                  "records_per_second": t["records_per_second"], "edit": t["edit"], "probe": t["probe"]}))' \
      "$work/record-batch-$rb/report.json" "$rb")"
  else
    echo "device-check: the toy-world run at record_batch $rb failed (see $work/record-batch-$rb.log)"
  fi
done
stamp "record_batch done"

# ---- the table ----
"$python" - "$results" "$out/device-check.json" "$tests_status" "$device" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
tests, device = sys.argv[3], sys.argv[4]
def pick(**kv):
    return [r for r in rows if all(r.get(k) == v for k, v in kv.items())]
gpu = next((r.get("gpu_name") for r in rows if r.get("gpu_name")), device)
print(f"\n## editlab on {gpu}: tests {tests}\n")
print("| figure | editlab | reference | ratio | target |\n|---|---|---|---|---|")
summary = {"device": gpu, "tests": tests, "rows": rows, "figures": {}}
for shape in ("gpt2-xl", "llama-1b"):
    e, h = pick(side="editlab", bench_shape=shape), pick(side="hf", bench_shape=shape)
    if e and h:
        et, ht = e[0]["forward"]["tokens_per_second"], h[0]["tokens_per_second"]
        summary["figures"][f"forward_{shape}"] = {"editlab": et, "hf": ht, "ratio": et / ht}
        print(f"| forward {h[0]['shape']} {h[0]['dtype']} {h[0]['batch']}x{h[0]['tokens']}, tokens/s | {et:,.0f} | HF eager {ht:,.0f} | {et / ht:.2f}x | >= 1.0x |")
    else:
        print(f"| forward {shape} | {'ok' if e else 'failed'} | {'ok' if h else 'failed'} | | >= 1.0x |")
ed, rf = pick(side="editlab", figure="rome"), pick(side="reference", figure="rome")
if ed and rf:
    # Like for like: the reference's parts (statistics load + inverse, compute_u, compute_v, update)
    # against editlab's setup (statistics load + inverse) + edit; the model load is outside both.
    e_med = statistics.median(r["setup"] + r["edit"] for r in ed)
    r_med = statistics.median(r["total"] for r in rf)
    summary["figures"]["rome"] = {"editlab_seconds": e_med, "reference_seconds": r_med, "ratio": r_med / e_med}
    print(f"| ROME edit, {rf[0].get('shape', '?')} float32 (median of {len(ed)}/{len(rf)}), s | {e_med:.2f} | {r_med:.2f} | {r_med / e_med:.2f}x | >= 3x |")
else:
    print(f"| ROME edit | {'ok' if ed else 'failed'} | {'ok' if rf else 'failed'} | | >= 3x |")
st = pick(side="editlab", figure="stats")
if st and "tokens_per_second" in st[0]:
    summary["figures"]["stats_tokens_per_second"] = st[0]["tokens_per_second"]
    print(f"| statistics, layer {st[0]['layer']} ({st[0]['tokens']} tokens), tokens/s | {st[0]['tokens_per_second']:,.0f} | | | |")
le = pick(side="editlab", figure="llama_edit_memory")
lb = pick(side="editlab", bench_shape="llama-1b")
if le and le[0].get("device_memory") and lb and lb[0].get("device_memory"):
    m, fwd = le[0]["device_memory"], lb[0]["device_memory"]
    bound = fwd["peak_allocated_bytes"]  # the weights + one batch's activations, as the forward benchmark held them
    summary["figures"]["llama_edit_memory"] = {"peak": m["peak_allocated_bytes"], "weights": m["weights_bytes"],
                                               "forward_peak": bound, "ratio": m["peak_allocated_bytes"] / bound}
    print(f"| peak GPU memory, Llama-1B bfloat16 ROME edit | {m['peak_allocated_bytes'] / 2**30:.2f} GiB | weights {m['weights_bytes'] / 2**30:.2f} GiB, forward peak {bound / 2**30:.2f} GiB | {m['peak_allocated_bytes'] / bound:.2f}x | <= 1.3x |")
elif le:
    print(f"| peak GPU memory, Llama-1B edit | {'n/a on ' + device if not le[0].get('device_memory') else 'ok'} | | | <= 1.3x |")
else:
    print("| peak GPU memory, Llama-1B edit | failed | | | <= 1.3x |")
rb = {r["record_batch"]: r for r in pick(side="editlab", figure="record_batch")}
if 1 in rb and 32 in rb:
    a, b = rb[1]["records_per_second"], rb[32]["records_per_second"]
    summary["figures"]["record_batch"] = {"one": a, "thirty_two": b, "ratio": b / a}
    print(f"| ROME run, toy world, {rb[1]['records']} records, records/s at record_batch 1 / 32 | {a:.2f} / {b:.2f} | | {b / a:.2f}x | >= 5x |")
else:
    print("| ROME run, toy world, record_batch 1 / 32 | failed | | | >= 5x |")
json.dump(summary, open(sys.argv[2], "w"), indent=1)
EOF
stamp "done: $out/device-check.json, $log"
