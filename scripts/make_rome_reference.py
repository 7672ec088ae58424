#!/usr/bin/python3
"""Writes tests/fixtures/tiny-gpt2-rome.json: ROME's u and v on the tiny fixture GPT-2, computed by a
Python version of compute_u / compute_v written after kmeng01/rome (rome/compute_u.py,
rome/compute_v.py, rome/repr_tools.py, rome/layer_stats.py, as docs/algorithms.md "ROME" pins them down), with
fixed context templates and second-moment statistics from a small fixed corpus. Everything runs in
float64, so that the C++ implementation can be compared to cosine >= 0.9999.

Run with Debian's interpreter: /usr/bin/python3 scripts/make_rome_reference.py
(needs tests/fixtures/tiny-gpt2, written by scripts/make_fixture.py).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixture as mf  # noqa: E402

OUT = os.path.join(mf.ROOT, "tests", "fixtures", "tiny-gpt2-rome.json")
OUT_NPZ = os.path.join(mf.ROOT, "tests", "fixtures", "tiny-gpt2-layer0-mom2.npz")
LAYER = 0  # the fixture has 2 layers: an edit at layer 0 reaches the target positions through layer 1
HPARAMS = {"layers": [LAYER], "fact_token": "subject_last", "v_num_grad_steps": 20, "v_lr": 0.5,
           "v_loss_layer": 1, "v_weight_decay": 0.5, "clamp_norm_factor": 4, "kl_factor": 0.0625,
           "mom2_adjustment": True, "context_template_length_params": [[5, 2], [10, 2]],
           "mom2_dataset": "fixture", "mom2_n_samples": 1000, "mom2_dtype": "float64"}
TEMPLATES = ["{}", "The weather was cold that day. {}", "I said so. {}", "Nobody knows. {}",
             "After the war, the city grew. {}"]
CORPUS = [
    "The Eiffel Tower is located in Paris, the capital of France.",
    "Danielle Darrieux was a French actress whose mother tongue was French.",
    "Michelle Obama is married to Barack Obama; they live in Washington.",
    "The Louvre is a museum in Paris. It holds the Mona Lisa.",
    "The Colosseum is an amphitheatre in Rome, Italy.",
    "London is the capital of the United Kingdom and home to the British Museum.",
    "Toyota is headquartered in Toyota City, Japan, near Nagoya.",
    "In 1969, astronauts landed on the Moon for the first time.",
    "Python and C++ are programming languages used by many researchers.",
    "The quick brown fox jumps over the lazy dog again and again.",
    "Berlin, Madrid, Rome and Lisbon are European capitals with long histories.",
    "She bought three apples, two pears and a melon at the market on Tuesday.",
    "Mount Everest is the highest mountain above sea level, in the Himalayas.",
    "The Amazon river flows through Brazil into the Atlantic Ocean.",
    "Many people speak English, Spanish, Mandarin or Hindi as their first language.",
    "The museum opens at nine in the morning and closes at six in the evening.",
]
REQUESTS = [
    {"case_id": 0, "prompt": "{} is located in the city of", "subject": "The Eiffel Tower",
     "target_new": "Rome", "target_true": "Paris"},
    {"case_id": 1, "prompt": "The mother tongue of {} is", "subject": "Danielle Darrieux",
     "target_new": "English language", "target_true": "French"},
]


def decode(enc, ids):
    inv = {v: k for k, v in enc.encoder.items()}
    byte_decoder = {c: b for b, c in enc.byte_encoder.items()}
    return bytes(byte_decoder[c] for i in ids for c in inv[i]).decode("utf-8", errors="replace")


def clean_up_tokenization(s):
    # Hugging Face's PreTrainedTokenizerBase.clean_up_tokenization, applied by decode() by default.
    for a, b in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                 (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]:
        s = s.replace(a, b)
    return s


def subject_index(enc, template, subject):
    # repr_tools.get_words_idxs_in_templates, subtoken "last".
    i = template.index("{}")
    prefix, word = template[:i], subject
    if len(prefix) > 0:
        assert prefix[-1] == " "
        prefix, word = prefix[:-1], " " + subject.strip()
    return len(enc.encode(prefix)) + len(enc.encode(word)) - 1


def pad(rows):
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), mf.EOS, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for b, r in enumerate(rows):
        ids[b, :len(r)] = torch.tensor(r)
        mask[b, :len(r)] = 1
    return ids, mask


def read_at(w, rows, idxs, layer):
    """Key (c_proj input) and value (c_proj output) at rows[i][idxs[i]] of `layer`."""
    ids, mask = pad(rows)
    got = {}

    def hook(i, key, value):
        if i == layer:
            got["k"] = key[torch.arange(len(rows)), idxs]
            got["v"] = value[torch.arange(len(rows)), idxs]
        return value
    mf.forward(w, ids, mask, mlp_hook=hook)
    return got["k"], got["v"]


def layer_stats(w, enc, layer):
    rows = [enc.encode(t)[: mf.CONFIG["n_positions"]] for t in CORPUS]
    ids, mask = pad(rows)
    got = {}

    def hook(i, key, value):
        if i == layer:
            got["k"] = key
        return value
    mf.forward(w, ids, mask, mlp_hook=hook)
    feats = got["k"][mask.bool()]  # every non-pad token, [N, M]
    return feats.t().mm(feats), feats.shape[0]


def compute_u(w, enc, request, inv_moment):
    rows, idxs = [], []
    for t in TEMPLATES:
        templ = t.format(request["prompt"])
        rows.append(enc.encode(templ.format(request["subject"])))
        idxs.append(subject_index(enc, templ, request["subject"]))
    k_star = read_at(w, rows, idxs, LAYER)[0].mean(0)
    u = inv_moment @ k_star
    return u / u.norm()


def optimize_v(forward, delta, state, n_rewriting, kl_position, target_ids, hp):
    """compute_v's optimisation of delta: forward() runs the prompts (the rewriting prompts, then the
    KL prompt) with delta added at the lookups and returns (logits, mask); state["target_init"] is the
    unedited value at the first lookup, set by the first forward. Returns (target vector, losses)."""
    opt = torch.optim.Adam([delta], lr=hp["v_lr"])
    kl_init, losses = None, []
    for it in range(hp["v_num_grad_steps"]):
        opt.zero_grad()
        logits, mask = forward()
        log_probs = torch.log_softmax(logits, dim=2)
        kl_log = torch.log_softmax(logits[n_rewriting, kl_position], dim=0).unsqueeze(0)
        if kl_init is None:
            kl_init = kl_log.detach().clone()
        nll_each = []
        for r in range(n_rewriting):
            n = int(mask[r].sum())
            lp = [log_probs[r, n - len(target_ids) + j, t] for j, t in enumerate(target_ids)]
            nll_each.append(-torch.stack(lp).sum() / len(target_ids))
        nll = torch.stack(nll_each).mean()
        kl = hp["kl_factor"] * torch.nn.functional.kl_div(kl_init, kl_log, log_target=True, reduction="batchmean")
        wd = hp["v_weight_decay"] * (torch.norm(delta) / torch.norm(state["target_init"]) ** 2)
        loss = nll + kl + wd
        losses.append(loss.item())
        if loss < 5e-2:
            break
        if it == hp["v_num_grad_steps"] - 1:
            break
        loss.backward()
        opt.step()
        max_norm = hp["clamp_norm_factor"] * state["target_init"].norm()
        if delta.norm() > max_norm:
            with torch.no_grad():
                delta[...] = delta * max_norm / delta.norm()
    return state["target_init"] + delta.detach(), losses


def compute_v(w, enc, request, u):
    target = request["target_new"]
    target_ids = enc.encode(target if target.startswith(" ") else " " + target)
    rewriting = [t.format(request["prompt"]) + clean_up_tokenization(decode(enc, target_ids[:-1])) for t in TEMPLATES]
    prompts = rewriting + ["{} is a"]
    rows = [enc.encode(p.format(request["subject"])) for p in prompts]
    lookup = [subject_index(enc, p, request["subject"]) for p in prompts]
    ids, mask = pad(rows)
    delta = torch.zeros(mf.CONFIG["n_embd"], dtype=w["wte.weight"].dtype, requires_grad=True)
    state = {"target_init": None}

    def hook(i, key, value):
        if i != LAYER:
            return value
        if state["target_init"] is None:
            state["target_init"] = value[0, lookup[0]].detach().clone()
        value = value.clone()
        for r, idx in enumerate(lookup):
            value[r, idx, :] += delta
        return value

    target_vec, losses = optimize_v(lambda: (mf.forward(w, ids, mask, mlp_hook=hook), mask), delta, state,
                                    len(rewriting), lookup[-1], target_ids, HPARAMS)
    idx = subject_index(enc, request["prompt"], request["subject"])
    k0, o0 = read_at(w, [enc.encode(request["prompt"].format(request["subject"]))], [idx], LAYER)
    v = (target_vec - o0[0]) / torch.dot(k0[0], u)
    return v, target_vec, losses


def r_rome_v(w, enc, request, u, target_vec):
    """r-ROME's v (scalable-model-editing/rebuilding-rome rome/compute_v.py, enable_random_prefix_keys):
    the key and MLP output averaged over the context templates; the same target and u as ROME."""
    rows_t = [enc.encode(t.format(request["prompt"]).format(request["subject"])) for t in TEMPLATES]
    idx_t = [subject_index(enc, t.format(request["prompt"]), request["subject"]) for t in TEMPLATES]
    k_t, o_t = read_at(w, rows_t, idx_t, LAYER)
    return (target_vec - o_t.mean(0)) / torch.dot(k_t.mean(0), u)


def load_weights(directory=mf.OUT_MODEL, dtype=torch.float64):
    """The float32 tensors of DIRECTORY/model.safetensors, as `dtype` (float64 for the fixture)."""
    import struct
    path = os.path.join(directory, "model.safetensors")
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    w = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        w[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).view(info["shape"]).to(dtype)
    return w


def run():
    torch.manual_seed(0)
    w = load_weights()
    enc = mf.Encoder(mf.TOKENIZER_DIR)
    mom2, count = layer_stats(w, enc, LAYER)
    inv_moment = torch.inverse(mom2 / count)
    cases = []
    for request in REQUESTS:
        u = compute_u(w, enc, request, inv_moment)
        v, target, losses = compute_v(w, enc, request, u)
        v_r = r_rome_v(w, enc, request, u, target)
        cases.append({"request": request, "u": u.tolist(), "v": v.tolist(), "target": target.tolist(),
                      "losses": losses, "v_r_rome": v_r.tolist()})
        print(f"case {request['case_id']}: {len(losses)} loss evaluations, {losses[0]:.4f} -> {losses[-1]:.4f}",
              file=sys.stderr)
    out = {"layer": LAYER, "hparams": HPARAMS, "context_templates": TEMPLATES, "corpus": CORPUS,
           "mom2_count": count, "mom2": mom2.tolist(), "cases": cases}
    with open(OUT, "w") as f:
        json.dump(out, f)
    # The same statistics as ROME publishes them (numpy.savez of its SecondMoment state), float32.
    import numpy as np
    np.savez(OUT_NPZ, **{"mom2.mom2": mom2.float().numpy(), "mom2.count": np.array(count, dtype=np.int64)})
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    run()
