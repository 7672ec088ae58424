#!/usr/bin/env python3
"""Times the ORIGINAL Python ROME + CounterFact(+) pipeline on the toy world (issue 27), so that
scripts/rome-side-by-side.sh --pipeline can compare its records/s with `editlab run` on the same
records, model, hyper-parameters, statistics, context templates and threads.

Usage (Python of scripts/reference/setup-venv.sh: transformers 4.47.1 on Debian's torch 1.13):

    .venv-ref/bin/python scripts/time_reference_pipeline.py \\
        --rome-dir ROME --specificityplus-dir SPECIFICITYPLUS \\
        [--rome-commit SHA] [--specificityplus-commit SHA] \\
        [--model data/toy-world/model] [--dataset data/toy-world/counterfact.json] [--records 200] \\
        [--hparams configs/rome/toy-world.json] --stats STATS.npz --context-templates TEMPLATES.json \\
        [--threads 2] [--torch-threads N] [--skip-pre] [--log FILE] [--editlab-report REPORT.json] \\
        [--out SUMMARY.json]

ROME is a checkout (or `git archive` export) of github.com/kmeng01/rome; SPECIFICITYPLUS one of
github.com/apartresearch/specificityplus (a fork of kmeng01/memit that carries ROME too: giving
its directory as --rome-dir as well runs that single repository's ROME). Nothing of either is
copied here: both are imported from the given directories. The commits are taken from --*-commit,
else from `git -C DIR rev-parse HEAD`, and written to the summary.

What runs (the original code, unmodified on disk):
  - the ROME edit: ROME/rome's apply_rome_to_model(model, tok, [record["requested_rewrite"]],
    hparams, copy=False, return_orig_weights=True), ROMEHyperParams.from_json(--hparams) (the
    toy world's file has exactly ROMEHyperParams' fields: layer 0, subject_last, v_loss_layer 5,
    20 v steps, ...);
  - the metrics: SPECIFICITYPLUS/experiments/py/eval_utils_counterfact.py's
    compute_rewrite_quality_counterfact, loaded from its file. It is kmeng01/rome's function with
    the attribute prompts replaced by CounterFact+'s prompts (rewrite prompt + " " + target_new +
    ". " + neighborhood prompt: NS+) and with argmax accuracies; all prompts in one batch, as
    there. snips = vec = None, so the generation / fluency part (tf-idf files) is skipped, as
    with the original's --skip_generation_tests; out_file = None, so the log-prob files for
    CounterFact+'s NKL are not written (editlab computes NKL / NKL+; the reference does not);
  - the loop: kmeng01/rome's experiments/evaluate.py, per record: edit, evaluate the edited
    model ("post"), restore the original weights (nethook.get_parameter(...)[...] = v), evaluate
    the unedited model ("pre"; editlab also probes every record before and after). --skip-pre
    drops "pre", as specificityplus's own loop does. The per-case JSON files are not written
    (the metrics are kept for the summary instead); the dataset is read by ROME/dsets'
    CounterFactDataset from a temporary directory holding a link named counterfact.json.

What is replaced (monkeypatched in this process only), and why:
  - CPU instead of CUDA: the original hard-codes "cuda" (model.cuda(), .to("cuda"),
    torch.tensor / torch.zeros(..., device="cuda")). Here torch.Tensor.to and BatchEncoding.to
    (through it) map a "cuda" device to "cpu", torch.Tensor.cuda returns the tensor, and
    torch.tensor / torch.zeros map device="cuda" to the CPU; the model is not moved.
  - statistics: ROME's layer_stats is left as it is, but ROME/util/globals' STATS_DIR (as bound in
    rome.compute_u) points at a temporary directory where --stats (ROME's .npz layout: mom2.mom2,
    mom2.count, as `editlab run` reads with rome.stats) is written under the file name
    layer_stats looks for ({model}/{mom2_dataset}_stats/{module}_{dtype}_mom2_{n}.npz), with the
    "sample_size" entry its cache check (runningstats.tally) compares. So ROME's own code loads
    the same second moment editlab uses (on the first record, inside the timed loop, as in the
    original) instead of computing it from Wikipedia. torch.hub.download_url_to_file raises, so
    nothing is ever downloaded.
  - context templates: rome.rome_main.CONTEXT_TEMPLATES_CACHE is set to --context-templates (the
    list editlab uses: "{}" and 20 sampled sentences ending ". {}"), instead of sampling them from
    the model on the first edit.
  - imports: ROME/util/globals reads globals.yml from the working directory, so the imports run
    with the working directory at ROME (ROOT_DIR defaults to ROME for specificityplus's variant).
    Modules that only the skipped parts need and that the venv lacks are stubs that raise when
    used: `datasets` (layer_stats' Wikipedia loader), `nltk` and `sklearn` (generation / tf-idf
    metrics).
  - ROME's progress printing (stdout, and layer_stats' tqdm on stderr) goes to --log (default:
    /dev/null), as specificityplus's evaluate.py sends it to stderr; this script's own progress
    (one line per record) goes to stderr.

Threads: OMP_WAIT_POLICY=PASSIVE and OPENBLAS_NUM_THREADS=--threads unless set (Debian's torch
runs its matrix products on OpenBLAS), torch.set_num_threads(--torch-threads, default --threads).

What is timed: the per-record loop (time.perf_counter around edit, post evaluation, restore and
pre evaluation, summed per part); "setup" (imports, model and tokenizer load, dataset load,
preparing statistics and templates) separately. records_per_second = records / loop seconds.

Output: one progress line per record on stderr; the summary JSON on --out: records, seconds
{loop, edit, eval_post, restore, eval_pre, setup {...}}, records_per_second, commits, versions,
threads, means of the metrics (editlab's names: efficacy/success, specificity/NS, ...), and
per_record (the "post" and "pre" results of compute_rewrite_quality_counterfact and the
per-prompt success / magnitude / accuracy lists); stdout gets the same without per_record. With
--editlab-report (an `editlab run` report.json of the same records), also the agreement per
metric: both sides' means over the common records, the share of prompts where a 0/1 metric
agrees, and the largest per-prompt difference.
"""
import argparse
import contextlib
import importlib.machinery
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import types

T_START = time.perf_counter()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rome-dir", required=True, help="checkout of kmeng01/rome (or specificityplus: its ROME)")
    p.add_argument("--specificityplus-dir", required=True, help="checkout of apartresearch/specificityplus")
    p.add_argument("--rome-commit", help="commit of --rome-dir (else git -C DIR rev-parse HEAD)")
    p.add_argument("--specificityplus-commit", help="commit of --specificityplus-dir")
    p.add_argument("--model", default=os.path.join(ROOT, "data/toy-world/model"))
    p.add_argument("--dataset", default=os.path.join(ROOT, "data/toy-world/counterfact.json"))
    p.add_argument("--records", type=int, default=200, help="the first N records (200)")
    p.add_argument("--hparams", default=os.path.join(ROOT, "configs/rome/toy-world.json"))
    p.add_argument("--stats", required=True, help="second moment in ROME's .npz layout (mom2.mom2, mom2.count)")
    p.add_argument("--context-templates", required=True, help="JSON list of context templates")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--torch-threads", type=int, help="torch.set_num_threads (default: --threads)")
    p.add_argument("--skip-pre", action="store_true", help="no evaluation of the unedited model per record")
    p.add_argument("--log", default=os.devnull, help="where ROME's own printing goes (/dev/null)")
    p.add_argument("--editlab-report", help="editlab run report.json of the same records: metric agreement")
    p.add_argument("--out", help="write the summary JSON here (it is also printed on stdout)")
    return p.parse_args()


ARGS = parse_args()
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(ARGS.threads))  # read when OpenBLAS loads

import numpy as np  # noqa: E402
import torch  # noqa: E402
# before the stubs below: transformers probes for optional packages (find_spec) when imported
import transformers  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

torch.set_num_threads(ARGS.torch_threads or ARGS.threads)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def commit_of(directory, given):
    if given:
        return given
    try:
        return subprocess.run(["git", "-C", directory, "rev-parse", "HEAD"], check=True, capture_output=True,
                              text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        log(f"warning: no git commit for {directory} (pass --rome-commit / --specificityplus-commit)")
        return None


# ---- patches: stub modules only the skipped parts use -------------------------------------------
def stub_module(name, attrs=()):
    def unavailable(*_args, **_kwargs):
        raise RuntimeError(f"{name} is a stub in time_reference_pipeline.py: this part of the original "
                           f"pipeline is not run here")
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    module.__stub__ = True
    for attr in attrs:
        setattr(module, attr, unavailable)
    module.__getattr__ = lambda attr: unavailable
    sys.modules[name] = module
    return module


def ensure_importable(name, attrs=(), parents=()):
    try:
        __import__(name)
    except ImportError:
        for parent in parents:
            if parent not in sys.modules:
                stub_module(parent)
        stub_module(name, attrs)


ensure_importable("datasets", ["load_dataset"])
ensure_importable("nltk", ["word_tokenize", "ngrams", "FreqDist"])
ensure_importable("sklearn.feature_extraction.text", ["TfidfVectorizer"],
                  parents=["sklearn", "sklearn.feature_extraction"])



# ---- patches: CUDA -> CPU ------------------------------------------------------------------------
def _cpu(device):
    if isinstance(device, str) and device.startswith("cuda"):
        return "cpu"
    if isinstance(device, torch.device) and device.type == "cuda":
        return torch.device("cpu")
    return device


_tensor_to = torch.Tensor.to


def _to(self, *args, **kwargs):
    if args and isinstance(args[0], (str, torch.device)):
        args = (_cpu(args[0]),) + args[1:]
    if "device" in kwargs:
        kwargs["device"] = _cpu(kwargs["device"])
    return _tensor_to(self, *args, **kwargs)


def _with_cpu_device(factory):
    def wrapped(*args, **kwargs):
        if "device" in kwargs:
            kwargs["device"] = _cpu(kwargs["device"])
        return factory(*args, **kwargs)
    return wrapped


torch.Tensor.to = _to
torch.Tensor.cuda = lambda self, *a, **k: self
torch.tensor = _with_cpu_device(torch.tensor)
torch.zeros = _with_cpu_device(torch.zeros)


def _no_download(url, *_args, **_kwargs):
    raise RuntimeError(f"time_reference_pipeline.py: refusing to download {url}")


torch.hub.download_url_to_file = _no_download

# ---- the original code ---------------------------------------------------------------------------
ROME_DIR = os.path.abspath(ARGS.rome_dir)
SPP_DIR = os.path.abspath(ARGS.specificityplus_dir)
EVAL_FILE = os.path.join(SPP_DIR, "experiments", "py", "eval_utils_counterfact.py")
for path in (os.path.join(ROME_DIR, "rome", "rome_main.py"), os.path.join(ROME_DIR, "globals.yml"), EVAL_FILE):
    if not os.path.exists(path):
        sys.exit(f"time_reference_pipeline.py: {path} not found (--rome-dir / --specificityplus-dir)")

LOG = open(ARGS.log, "w")
cwd = os.getcwd()
os.environ.setdefault("ROOT_DIR", ROME_DIR)  # specificityplus's util/globals
sys.path.insert(0, ROME_DIR)
os.chdir(ROME_DIR)  # util/globals.py opens "globals.yml"
try:
    with contextlib.redirect_stdout(LOG):
        import rome  # noqa: E402
        import rome.compute_u  # noqa: E402
        import rome.rome_main  # noqa: E402
        from dsets import CounterFactDataset  # noqa: E402
        from util import nethook  # noqa: E402
        spec = importlib.util.spec_from_file_location("specificityplus_eval_utils_counterfact", EVAL_FILE)
        eval_cf = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(eval_cf)  # its dsets / util imports resolve to ROME_DIR's
finally:
    os.chdir(cwd)
for name, module in (("rome", rome), ("dsets", sys.modules["dsets"]), ("util", sys.modules["util"])):
    if not os.path.abspath(module.__file__).startswith(ROME_DIR + os.sep):
        sys.exit(f"time_reference_pipeline.py: imported {name} from {module.__file__}, not from {ROME_DIR}")
apply_rome_to_model = rome.apply_rome_to_model
ROMEHyperParams = rome.ROMEHyperParams
compute_rewrite_quality_counterfact = eval_cf.compute_rewrite_quality_counterfact

T_IMPORTS = time.perf_counter()

# ---- setup: model, hyper-parameters, statistics, templates, records --------------------------------
model_dir = os.path.abspath(ARGS.model)
model = AutoModelForCausalLM.from_pretrained(model_dir)
model.eval()
tok = AutoTokenizer.from_pretrained(model_dir)
tok.pad_token = tok.eos_token
hparams = ROMEHyperParams.from_json(ARGS.hparams)
T_MODEL = time.perf_counter()

work = tempfile.TemporaryDirectory(prefix="reference-pipeline-")
stats_dir = os.path.join(work.name, "stats")
src = np.load(ARGS.stats)
mom2, count = src["mom2.mom2"], np.asarray(src["mom2.count"]).reshape(-1)[0]
model_name = model.config._name_or_path.replace("/", "_")  # as rome/layer_stats.py names it
stats_files = []
for layer in hparams.layers:
    layer_name = hparams.rewrite_module_tmp.format(layer)
    size_suffix = "" if hparams.mom2_n_samples is None else f"_{hparams.mom2_n_samples}"
    fname = os.path.join(stats_dir, f"{model_name}/{hparams.mom2_dataset}_stats/"
                                    f"{layer_name}_{hparams.mom2_dtype}_mom2{size_suffix}.npz")
    os.makedirs(os.path.dirname(fname), exist_ok=True)
    np.savez(fname, **{"mom2.mom2": mom2.astype(getattr(np, hparams.mom2_dtype)),
                       "mom2.count": np.array(int(count), dtype=np.int64),
                       "mom2.constructor": np.array("util.runningstats.SecondMoment()"),
                       "sample_size": np.array(hparams.mom2_n_samples)})
    stats_files.append(fname)
rome.compute_u.STATS_DIR = __import__("pathlib").Path(stats_dir)
if len(hparams.layers) > 1:
    log("warning: several layers share the one --stats file")

with open(ARGS.context_templates) as f:
    templates = json.load(f)
if not (isinstance(templates, list) and templates and all(isinstance(t, str) and "{}" in t for t in templates)):
    sys.exit("time_reference_pipeline.py: --context-templates must be a JSON list of strings with {}")
rome.rome_main.CONTEXT_TEMPLATES_CACHE = templates

data_dir = os.path.join(work.name, "data")
os.makedirs(data_dir)
os.symlink(os.path.abspath(ARGS.dataset), os.path.join(data_dir, "counterfact.json"))
with contextlib.redirect_stdout(LOG):
    ds = CounterFactDataset(data_dir, size=ARGS.records)
T_SETUP = time.perf_counter()


# ---- metrics in editlab's names -------------------------------------------------------------------
def derived(post):
    """Per prompt, from compute_rewrite_quality_counterfact's NLLs and argmax checks."""
    out = {}
    for key, suite, new_wins in (("rewrite_prompts", "efficacy", True), ("paraphrase_prompts", "paraphrase", True),
                                 ("neighborhood_prompts", "specificity", False),
                                 ("distracting_neighborhood_prompts", "specificity_plus", False)):
        probs = post[f"{key}_probs"]
        if new_wins:
            success = [float(p["target_new"] < p["target_true"]) for p in probs]
            magnitude = [math.exp(-p["target_new"]) - math.exp(-p["target_true"]) for p in probs]
            names = (f"{suite}/success", f"{suite}/magnitude")
        else:
            success = [float(p["target_true"] < p["target_new"]) for p in probs]
            magnitude = [math.exp(-p["target_true"]) - math.exp(-p["target_new"]) for p in probs]
            names = ("specificity/NS", "specificity/NM") if suite == "specificity" else \
                ("specificity_plus/NS+", "specificity_plus/NM+")
        out[names[0]], out[names[1]] = success, magnitude
        out[f"{suite}/accuracy"] = [float(c) for c in post[f"{key}_correct"]]
    return out


def mean(xs):
    return sum(xs) / len(xs) if xs else None


def record_means(per_record, key):
    """Mean over records of each record's mean over its prompts (records without prompts skipped)."""
    return mean([mean(m[key]) for m in per_record if m.get(key)])


# ---- the timed loop (kmeng01/rome experiments/evaluate.py) -----------------------------------------
parts = {"edit": 0.0, "eval_post": 0.0, "restore": 0.0, "eval_pre": 0.0}
results = []
log(f"reference pipeline: {len(ds)} records, ROME from {ROME_DIR}, metrics from {EVAL_FILE}, "
    f"torch {torch.__version__} threads {torch.get_num_threads()}, OPENBLAS_NUM_THREADS "
    f"{os.environ.get('OPENBLAS_NUM_THREADS')}, setup {T_SETUP - T_START:.2f} s")
loop_start = time.perf_counter()
for n, record in enumerate(ds, 1):
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(LOG), contextlib.redirect_stderr(LOG):
        edited_model, weights_copy = apply_rome_to_model(model, tok, [record["requested_rewrite"]], hparams,
                                                         copy=False, return_orig_weights=True)
        t1 = time.perf_counter()
        post = compute_rewrite_quality_counterfact(edited_model, tok, record, None, None)
        t2 = time.perf_counter()
        with torch.no_grad():
            for k, v in weights_copy.items():
                nethook.get_parameter(model, k)[...] = v.to("cuda")
        t3 = time.perf_counter()
        pre = None if ARGS.skip_pre else compute_rewrite_quality_counterfact(model, tok, record, None, None)
        t4 = time.perf_counter()
    parts["edit"] += t1 - t0
    parts["eval_post"] += t2 - t1
    parts["restore"] += t3 - t2
    parts["eval_pre"] += t4 - t3
    m = derived(post)
    results.append({"case_id": record["case_id"], "seconds": {"edit": t1 - t0, "eval_post": t2 - t1,
                                                               "restore": t3 - t2, "eval_pre": t4 - t3},
                    "metrics": m, "post": post, "pre": pre})
    elapsed = time.perf_counter() - loop_start
    log(f"  record {n}/{len(ds)} case {record['case_id']}: edit {t1 - t0:.2f} s, eval {t2 - t1 + t4 - t3:.2f} s; "
        f"ES {mean(m['efficacy/success']):.2f} PS {mean(m['paraphrase/success']):.2f}; "
        f"{n / elapsed:.3f} records/s, ETA {(len(ds) - n) * elapsed / n:.0f} s")
loop_seconds = time.perf_counter() - loop_start
LOG.close()
# the statistics came from the prepared file through ROME's layer_stats (it downloads nothing here)
assert rome.compute_u.inv_mom2_cache, "ROME did not load the statistics"

per_record = [r["metrics"] for r in results]
metric_names = sorted({k for m in per_record for k in m})
summary = {
    "pipeline": "apply_rome_to_model of rome_dir + specificityplus's compute_rewrite_quality_counterfact "
                "(no generation tests) in kmeng01/rome's evaluate.py loop" + (" without pre" if ARGS.skip_pre else ""),
    "rome_dir": ROME_DIR, "rome_commit": commit_of(ROME_DIR, ARGS.rome_commit),
    "specificityplus_dir": SPP_DIR, "specificityplus_commit": commit_of(SPP_DIR, ARGS.specificityplus_commit),
    "model": model_dir, "dataset": os.path.abspath(ARGS.dataset), "hparams": os.path.abspath(ARGS.hparams),
    "stats": os.path.abspath(ARGS.stats), "context_templates": os.path.abspath(ARGS.context_templates),
    "device": "cpu", "threads": ARGS.threads, "torch_threads": torch.get_num_threads(),
    "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    "versions": {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
                 "numpy": np.__version__},
    "records": len(results),
    "seconds": {"loop": loop_seconds, **parts,
                "setup": {"total": T_SETUP - T_START, "imports": T_IMPORTS - T_START, "model": T_MODEL - T_IMPORTS,
                          "data": T_SETUP - T_MODEL}},
    "records_per_second": len(results) / loop_seconds if loop_seconds > 0 else None,
    "means": {k: record_means(per_record, k) for k in metric_names},
}


# ---- agreement with editlab's report ---------------------------------------------------------------
def agreement(report_path):
    with open(report_path) as f:
        report = json.load(f)
    theirs = {str(r["case_id"]): r.get("metrics", {}) for r in report["records"] if r.get("status", "ok") == "ok"}
    common = [r for r in results if str(r["case_id"]) in theirs]
    out = {"report": os.path.abspath(report_path), "records_common": len(common),
           "editlab_records_per_second": report.get("timings", {}).get("records_per_second"), "metrics": {}}
    for key in metric_names:
        ours_rec, theirs_rec, same, total, max_diff, length_mismatch = [], [], 0, 0, 0.0, 0
        for r in common:
            a, b = r["metrics"].get(key, []), theirs[str(r["case_id"])].get(key)
            if b is None:
                continue
            if len(a) != len(b):
                length_mismatch += 1
                continue
            if a:
                ours_rec.append(mean(a))
                theirs_rec.append(mean(b))
            for x, y in zip(a, b):
                total += 1
                same += x == y
                max_diff = max(max_diff, abs(x - y))
        if not total:
            continue
        entry = {"reference_mean": mean(ours_rec), "editlab_mean": mean(theirs_rec), "prompts": total,
                 "max_abs_diff": max_diff}
        if key.endswith(("success", "accuracy", "/NS", "/NS+")):
            entry["prompts_agreeing"] = same / total
        if length_mismatch:
            entry["records_with_other_prompt_count"] = length_mismatch
        out["metrics"][key] = entry
    return out


if ARGS.editlab_report:
    summary["agreement"] = agreement(ARGS.editlab_report)
summary["per_record"] = [{k: r[k] for k in ("case_id", "seconds", "metrics", "post", "pre")} for r in results]

text = json.dumps(summary, indent=1)
if ARGS.out:
    with open(ARGS.out, "w") as f:
        f.write(text + "\n")
print(json.dumps({k: v for k, v in summary.items() if k not in ("per_record",)}, indent=1))
