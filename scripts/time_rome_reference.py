#!/usr/bin/python3
"""ROME side by side (issue 15): the reference algorithm of scripts/make_rome_reference.py (written
after kmeng01/rome: compute_u, compute_v, the update; PyTorch eager, every v step over the whole
network and every position, as the original runs it) timed on a GPT-2-small-shaped model, against
which scripts/rome-side-by-side.sh times the whole `editlab edit` command.

    /usr/bin/python3 scripts/time_rome_reference.py setup DIR [--shape gpt2-small|gpt2-xl]
        writes DIR/model (GPT-2 small shape: 12 layers, 768 wide, GPT-2's 50,257-token vocabulary,
        random weights, float32 safetensors, ~500 MB; gpt2-xl: 48 layers, 1600 wide, ~6.2 GB),
        DIR/stats.npz (second moments of the edited layer's keys, layer 5 or 17, in ROME's .npz
        layout, from random keys), DIR/templates.json (11 context templates, "{}" and ten fixed
        sentences of about ten tokens, as ROME's sampled ones), DIR/hparams.json
        (configs/rome/gpt2.json or gpt2-xl.json) and DIR/shape.json.
    /usr/bin/python3 scripts/time_rome_reference.py time DIR [--threads N] [--runs N] [--device cuda]
        loads them and times what kmeng01/rome's apply_rome_to_model does for one request with
        its templates already cached: load the .npz statistics and invert them (ROME's
        get_inv_cov), compute_u, compute_v, and the weight update. Prints one JSON line per run
        with the seconds of each part. With --device cuda (PyTorch 2 with CUDA, as on the GPU
        machine: scripts/device-check.sh) the weights and every tensor live on the GPU, and each
        timer reads after torch.cuda.synchronize().

Needs Debian's python3-torch and python3-numpy (/usr/bin/python3), or any PyTorch with numpy and
regex.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

# The thread layout editlab uses (util/compute_threads.h): OpenBLAS gets the threads, libtorch's
# own kernels one. With both at N, libtorch's spinning OpenMP threads and OpenBLAS's compete for
# the cores (measured on 2 cores: more than 2x slower for editlab). OpenBLAS reads this when it
# loads, so it is set before torch is imported.
if "--threads" in sys.argv:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", sys.argv[sys.argv.index("--threads") + 1])
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixture as mf  # noqa: E402
import make_rome_reference as mr  # noqa: E402

ROOT = mf.ROOT
# The shapes `setup --shape` writes: GPT-2 small (issue 15's figures) and GPT-2 XL (issue 28's
# GPU figure), each with the layer its published hparams edit.
SHAPES = {
    "gpt2-small": {"config": dict(mf.CONFIG, n_positions=1024, n_ctx=1024, n_embd=768, n_layer=12, n_head=12),
                   "layer": 5, "hparams": "gpt2.json"},
    "gpt2-xl": {"config": dict(mf.CONFIG, n_positions=1024, n_ctx=1024, n_embd=1600, n_layer=48, n_head=25),
                "layer": 17, "hparams": "gpt2-xl.json"},
}
LAYER = SHAPES["gpt2-small"]["layer"]
CONFIG = SHAPES["gpt2-small"]["config"]


def use_shape(name):
    global LAYER, CONFIG
    LAYER, CONFIG = SHAPES[name]["layer"], SHAPES[name]["config"]


def shape_of(directory):
    path = os.path.join(directory, "shape.json")
    if not os.path.exists(path):  # written before --shape existed
        return "gpt2-small"
    with open(path) as f:
        return json.load(f)["shape"]


def synchronize(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()
REQUEST = {"case_id": 0, "prompt": "{} is located in the city of", "subject": "The Eiffel Tower",
           "target_new": "Rome", "target_true": "Paris"}
# "{}" and ten sentences of about ten tokens, as ROME's get_context_templates samples them (its
# [[10, 10]] length parameters; the later [[5, 10], [10, 10]] gives 21).
TEMPLATES = ["{}"] + [s + " {}" for s in [
    "The following is a list of the most popular. ",
    "I have been working on this project for a while. ",
    "A new study finds that the more you eat,. ",
    "The first thing you notice about the new building. ",
    "In the past few years, we have seen a. ",
    "This is a guest post by a former member. ",
    "The city council voted unanimously on Tuesday night to. ",
    "When I was a kid, I used to. ",
    "It was the first time in history that the. ",
    "We are looking for a new team member to. ",
]]


def write_model(directory):
    os.makedirs(directory, exist_ok=True)
    gen = torch.Generator().manual_seed(5)
    C, L, V, P = CONFIG["n_embd"], CONFIG["n_layer"], CONFIG["vocab_size"], CONFIG["n_positions"]
    w = {"wte.weight": torch.randn(V, C, generator=gen) * 0.02, "wpe.weight": torch.randn(P, C, generator=gen) * 0.01}
    for i in range(L):
        p = f"h.{i}."
        for name, shape in [("attn.c_attn", (C, 3 * C)), ("attn.c_proj", (C, C)), ("mlp.c_fc", (C, 4 * C)),
                            ("mlp.c_proj", (4 * C, C))]:
            std = 0.02 / (2 * L) ** 0.5 if name.endswith("c_proj") else 0.02
            w[p + name + ".weight"] = torch.randn(*shape, generator=gen) * std
            w[p + name + ".bias"] = torch.zeros(shape[1])
        for ln in ("ln_1", "ln_2"):
            w[p + ln + ".weight"], w[p + ln + ".bias"] = torch.ones(C), torch.zeros(C)
    w["ln_f.weight"], w["ln_f.bias"] = torch.ones(C), torch.zeros(C)
    mf.write_safetensors(os.path.join(directory, "model.safetensors"), w)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    for name in ("vocab.json", "merges.txt"):
        link = os.path.join(directory, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.join(mf.TOKENIZER_DIR, name), link)


def setup(directory, shape):
    use_shape(shape)
    write_model(os.path.join(directory, "model"))
    # Second moments of random keys, as ROME's layer_stats stores them (mom2.mom2 = sum k k^T,
    # mom2.count): well conditioned, so that both sides invert the same matrix without trouble.
    gen = torch.Generator().manual_seed(6)
    n = 20000
    keys = torch.randn(n, 4 * CONFIG["n_embd"], generator=gen)
    np.savez(os.path.join(directory, "stats.npz"), **{"mom2.mom2": (keys.t() @ keys).numpy(),
                                                       "mom2.count": np.array(n, dtype=np.int64)})
    with open(os.path.join(directory, "templates.json"), "w") as f:
        json.dump(TEMPLATES, f, indent=1)
    with open(os.path.join(directory, "shape.json"), "w") as f:
        json.dump({"shape": shape, "layer": LAYER}, f)
    with open(os.path.join(ROOT, "configs", "rome", SHAPES[shape]["hparams"])) as f:
        hparams = json.load(f)
    with open(os.path.join(directory, "hparams.json"), "w") as f:
        json.dump(hparams, f, indent=1)
    print(f"wrote {directory}/model, stats.npz, templates.json, hparams.json", file=sys.stderr)


def time_runs(directory, threads, runs, device="cpu"):
    torch.set_num_threads(1)  # and OpenBLAS `threads` (set at the top)
    use_shape(shape_of(directory))
    if device != "cpu":
        # Every tensor the reference creates without a device (masks, positions, delta) on the GPU.
        torch.set_default_device(device)
    with open(os.path.join(directory, "hparams.json")) as f:
        hparams = json.load(f)
    with open(os.path.join(directory, "templates.json")) as f:
        templates = json.load(f)
    # make_rome_reference's functions read these module settings.
    mf.CONFIG.update(CONFIG)
    mr.LAYER, mr.HPARAMS, mr.TEMPLATES = LAYER, hparams, templates
    w = {name: t.to(device) for name, t in mr.load_weights(os.path.join(directory, "model"), torch.float32).items()}
    enc = mf.Encoder(mf.TOKENIZER_DIR)
    weight = w[f"h.{LAYER}.mlp.c_proj.weight"]
    original = weight.clone()
    for _ in range(runs):
        synchronize(device)
        t0 = time.perf_counter()
        stats = np.load(os.path.join(directory, "stats.npz"))
        mom2 = torch.from_numpy(stats["mom2.mom2"]).float().to(device) / float(stats["mom2.count"])
        inv = torch.inverse(mom2)
        synchronize(device)
        t1 = time.perf_counter()
        u = mr.compute_u(w, enc, REQUEST, inv)
        synchronize(device)
        t2 = time.perf_counter()
        v, _, losses = mr.compute_v(w, enc, REQUEST, u)
        synchronize(device)
        t3 = time.perf_counter()
        with torch.no_grad():
            weight += torch.outer(u, v)
        synchronize(device)
        t4 = time.perf_counter()
        print(json.dumps({"shape": shape_of(directory), "device": device, "threads": threads,
                          "openblas_threads": os.environ.get("OPENBLAS_NUM_THREADS"), "statistics_and_inverse": t1 - t0, "compute_u": t2 - t1,
                          "compute_v": t3 - t2, "update": t4 - t3, "total": t4 - t0, "v_steps": len(losses),
                          "loss_first": losses[0], "loss_last": losses[-1]}),
              flush=True)
        weight.copy_(original)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["setup", "time"])
    parser.add_argument("dir")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="gpt2-small", help="setup: the model's shape")
    parser.add_argument("--device", default="cpu", help="time: cpu or cuda")
    args = parser.parse_args()
    if args.mode == "setup":
        setup(args.dir, args.shape)
    else:
        time_runs(args.dir, args.threads, args.runs, args.device)


if __name__ == "__main__":
    main()
