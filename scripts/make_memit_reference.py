#!/usr/bin/python3
"""Writes tests/fixtures/toy-world-memit.json: the weight deltas of MEMIT, EMMET and AlphaEdit on the
toy world's model (data/toy-world/model: GPT-2 architecture, 6 layers; layers 0 and 1 edited, z at
layer 1, so that four layers lie between z and the logits), computed by a Python version written
after the reference code (kmeng01/memit memit/memit_main.py execute_memit, compute_z.py,
compute_ks.py; unified-model-editing emmet/emmet_main.py execute_emmet; AlphaEdit
AlphaEdit/AlphaEdit_main.py and experiments/evaluate.py get_project), with fixed context templates
and the statistics of the first documents of data/toy-world/stats.txt. Everything runs in float64,
so that the C++ implementation can be compared to cosine >= 0.9999.

Each delta is stored as two factors, delta = left @ resid^T ([M, N] and [C, N], as MEMIT's own
`deltas` dict keeps adj_k and resid), so that the file stays small.

Cases: MEMIT and EMMET with 1 and with 10 requests in one batch; AlphaEdit with 10 requests, and
with two batches of 5 (the second batch's update sees the first batch's keys, K_p).

Run with Debian's interpreter: /usr/bin/python3 scripts/make_memit_reference.py
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixture as mf  # noqa: E402
import make_rome_reference as rr  # noqa: E402

OUT = os.path.join(mf.ROOT, "tests", "fixtures", "toy-world-memit.json")
MODEL = os.path.join(mf.ROOT, "data", "toy-world", "model")
STATS_DOCUMENTS = 150  # the first documents of data/toy-world/stats.txt (blank-line separated)
LAYERS = [0, 1]
# MEMIT's context templates are [["{}"], [five samples]]; these stand in for the samples.
TEMPLATES = ["{}", "The weather was cold that day. {}", "Therefore we left. {}", "Because it rained. {}",
             "I said so. {}", "You know it well. {}"]
HPARAMS = {"layers": LAYERS, "layer_selection": "all", "fact_token": "subject_last", "v_num_grad_steps": 20,
           "v_lr": 0.5, "v_loss_layer": 5, "v_weight_decay": 0.5, "clamp_norm_factor": 0.75, "kl_factor": 0.0625,
           "mom2_adjustment": True, "mom2_update_weight": 500, "mom2_dataset": "fixture", "mom2_n_samples": 1000,
           "mom2_dtype": "float64"}
EMMET = {"mom2_update_weight": 10, "update_norm_lambda": 0, "emmet_lambda": 0.1, "calculate_objective_value": False}
ALPHAEDIT = {"L2": 1.0}  # nullspace_threshold: chosen below, in a gap of both layers' spectra
def toy_requests(n):
    with open(os.path.join(mf.ROOT, "data", "toy-world", "counterfact.json"), encoding="utf-8") as f:
        records = json.load(f)[:n]
    return [{"case_id": r["case_id"], "prompt": r["requested_rewrite"]["prompt"],
             "subject": r["requested_rewrite"]["subject"], "target_new": r["requested_rewrite"]["target_new"]["str"],
             "target_true": r["requested_rewrite"]["target_true"]["str"]} for r in records]


REQUESTS = toy_requests(10)


def located(enc, template, request):
    templ = template.format(request["prompt"])
    return enc.encode(templ.format(request["subject"])), rr.subject_index(enc, templ, request["subject"])


def compute_z(w, enc, request, z_layer):
    """compute_z: delta on the block output of z_layer, MEMIT's loss; returns z = target_init + delta."""
    target = request["target_new"]
    target_ids = enc.encode(target if target.startswith(" ") else " " + target)
    rewriting = [t.format(request["prompt"]) + rr.clean_up_tokenization(rr.decode(enc, target_ids[:-1]))
                 for t in TEMPLATES]
    prompts = rewriting + ["{} is a"]
    rows = [enc.encode(p.format(request["subject"])) for p in prompts]
    lookup = [rr.subject_index(enc, p, request["subject"]) for p in prompts]
    ids, mask = rr.pad(rows)
    delta = torch.zeros(mf.CONFIG["n_embd"], dtype=torch.float64, requires_grad=True)
    state = {"target_init": None}

    def hook(i, x):
        if i != z_layer:
            return x
        if state["target_init"] is None:
            state["target_init"] = x[0, lookup[0]].detach().clone()
        x = x.clone()
        for r, idx in enumerate(lookup):
            x[r, idx, :] += delta
        return x

    z, losses = rr.optimize_v(lambda: (mf.forward(w, ids, mask, block_hook=hook), mask), delta, state,
                              len(rewriting), lookup[-1], target_ids, HPARAMS)
    return z, losses


def keys_and_outputs(w, enc, requests, layer, z_layer):
    """compute_ks (the "{}" key and the mean of the sampled templates' keys, averaged) at `layer`, [M, N];
    and the block output of z_layer at each bare prompt's subject, [C, N]."""
    ks, zs = [], []
    for request in requests:
        rows, idxs = zip(*[located(enc, t, request) for t in TEMPLATES])
        got = {}

        def mlp_hook(i, key, value):
            if i == layer:
                got["k"] = key[torch.arange(len(rows)), list(idxs)]
            return value

        def block_hook(i, x):
            if i == z_layer:
                got["z"] = x[0, idxs[0]]
            return x
        ids, mask = rr.pad(list(rows))
        mf.forward(w, ids, mask, mlp_hook=mlp_hook, block_hook=block_hook)
        ks.append((got["k"][0] + got["k"][1:].mean(0)) / 2)
        zs.append(got["z"])
    return torch.stack(ks, 1), torch.stack(zs, 1)


def stats_documents():
    with open(os.path.join(mf.ROOT, "data", "toy-world", "stats.txt"), encoding="utf-8") as f:
        docs = [d.strip() for d in f.read().split("\n\n") if d.strip()]
    return docs[:STATS_DOCUMENTS]


def moment(w, enc, layer, docs):
    """layer_stats: E[k k^T] over every token of the documents (each truncated to n_positions)."""
    mom2, count = 0, 0
    for start in range(0, len(docs), 16):
        rows = [enc.encode(t)[: mf.CONFIG["n_positions"]] for t in docs[start:start + 16]]
        ids, mask = rr.pad(rows)
        got = {}

        def hook(i, key, value):
            if i == layer:
                got["k"] = key
            return value
        mf.forward(w, ids, mask, mlp_hook=hook, last_layer=layer)
        feats = got["k"][mask.bool()]
        mom2, count = mom2 + feats.t() @ feats, count + feats.shape[0]
    return mom2 / count


def execute(w, enc, requests, method, hp, cov, P=None, preserved=None):
    """execute_memit / execute_emmet / apply_AlphaEdit_to_model: edits w in place; returns each layer's delta
    [M, C] (GPT-2's Conv1D layout, as w holds it) and the z of each request."""
    z_layer = LAYERS[-1]
    zs = torch.stack([compute_z(w, enc, r, z_layer)[0] for r in requests], 1)
    deltas = []
    for i, layer in enumerate(LAYERS):
        k, cur = keys_and_outputs(w, enc, requests, layer, z_layer)
        resid = (zs - cur) / (len(LAYERS) - i)
        if method == "memit":
            left = torch.linalg.solve(hp["mom2_update_weight"] * cov[layer] + k @ k.T, k)  # adj_k
        elif method == "emmet":
            c = hp["mom2_update_weight"] * cov[layer]
            c_inv = torch.inverse(c)
            d = k.T @ c_inv @ k
            if d.shape[0] > 1:
                d = d + hp["emmet_lambda"] * torch.eye(d.shape[0], dtype=d.dtype)
            left = (torch.inverse(d) @ k.T @ c_inv).T
        else:
            # solve(P (K K^T + cache_c) + L2 I, P K R^T) = solve(..., P K) R^T
            left = torch.linalg.solve(P[layer] @ (k @ k.T + preserved[layer]) + hp["L2"] * torch.eye(k.shape[0],
                                      dtype=k.dtype), P[layer] @ k)
        delta = left @ resid.T  # [M, C]: GPT-2's Conv1D layout (upd_matrix_match_shape's transpose)
        w[f"h.{layer}.mlp.c_proj.weight"] += delta
        deltas.append((left, resid))
    if method == "alphaedit":
        for layer in LAYERS:
            k, _ = keys_and_outputs(w, enc, requests, layer, z_layer)
            preserved[layer] += k @ k.T
    return deltas, zs


def projection(c, threshold):
    U, S, _ = torch.linalg.svd(c, full_matrices=False)
    small = (S < threshold).nonzero(as_tuple=True)[0]
    return U[:, small] @ U[:, small].T


def pick_threshold(covs):
    """A threshold that keeps between a quarter and nine tenths of each layer's directions and lies far
    (relatively) from every singular value, so that float rounding cannot move a direction across it."""
    spectra = [torch.linalg.svdvals(c) for c in covs]
    best, best_gap = None, 0.0
    for s in spectra[0].tolist() + spectra[1].tolist():
        for t in (s * 1.001, s * 0.999):
            ok = all(0.25 <= float((sp < t).double().mean()) <= 0.9 for sp in spectra)
            gap = min(float((torch.log(sp / t)).abs().min()) for sp in spectra)
            if ok and gap > best_gap:
                best, best_gap = t, gap
    # the midpoint (in log) of the widest gap around the chosen value
    lower = max(float(sp[sp < best].max()) for sp in spectra)
    upper = min(float(sp[sp >= best].min()) for sp in spectra)
    return (lower * upper) ** 0.5


def run():
    torch.manual_seed(0)
    with open(os.path.join(MODEL, "config.json")) as f:
        mf.CONFIG.update(json.load(f))
    mf.EOS = mf.CONFIG["eos_token_id"]
    enc = mf.Encoder(MODEL)
    w0 = rr.load_weights(MODEL)
    docs = stats_documents()
    cov = {layer: moment(w0, enc, layer, docs) for layer in LAYERS}
    threshold = pick_threshold([cov[layer] for layer in LAYERS])
    P = {layer: projection(cov[layer], threshold) for layer in LAYERS}
    alpha = dict(HPARAMS, **ALPHAEDIT, nullspace_threshold=threshold)
    emmet = dict(HPARAMS, **EMMET)
    cases = []

    def case(method, hp, batches):
        w = {k: v.clone() for k, v in w0.items()}
        preserved = {layer: torch.zeros_like(cov[layer]) for layer in LAYERS}
        out = []
        for batch in batches:
            requests = [REQUESTS[i] for i in batch]
            deltas, zs = execute(w, enc, requests, method, hp, cov, P, preserved)
            out.append({"requests": batch, "left": [a.tolist() for a, _ in deltas],
                        "resid": [r.tolist() for _, r in deltas]})
            print(f"{method} batch of {len(batch)}: update norms "
                  f"{', '.join(f'{(a @ r.T).norm():.4f}' for a, r in deltas)}", file=sys.stderr)
        cases.append({"method": method, "hparams": hp, "batches": out})

    case("memit", HPARAMS, [[0]])
    case("memit", HPARAMS, [list(range(10))])
    case("emmet", emmet, [[0]])
    case("emmet", emmet, [list(range(10))])
    case("alphaedit", alpha, [list(range(10))])
    case("alphaedit", alpha, [list(range(5)), list(range(5, 10))])
    out = {"model": "data/toy-world/model", "layers": LAYERS, "context_templates": TEMPLATES, "corpus": docs,
           "requests": REQUESTS,
           "null_space_dims": {str(layer): int(torch.diagonal(P[layer]).sum().round()) for layer in LAYERS},
           "cases": cases}
    with open(OUT, "w") as f:
        json.dump(out, f)
    print(f"wrote {OUT} (nullspace_threshold {threshold:.6g})", file=sys.stderr)


if __name__ == "__main__":
    run()
