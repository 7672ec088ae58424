#!/usr/bin/python3
"""Writes the GPT-2 parity fixture: a small random-weight GPT-2 directory and the expected outputs.

Run with Debian's interpreter (it has python3-torch and python3-regex):
    /usr/bin/python3 scripts/make_fixture.py

Outputs (committed; regenerate only when the fixture's design changes):
  tests/fixtures/tiny-gpt2/          config.json, model.safetensors (F32), vocab.json, merges.txt
  tests/fixtures/tiny-gpt2-expected.safetensors   float64 reference logits
  tests/fixtures/tiny-gpt2-expected.json          prompts, nll values, greedy and beam ids

The reference forward pass is written after Hugging Face's modeling_gpt2.py (GPT2LMHeadModel:
pre-LN blocks, gelu_new, causal attention scaled by 1/sqrt(head_dim), tied LM head) and runs in
float64. The tokenizer is OpenAI's original encoder.py algorithm (regex pre-tokenization, BPE by
merge rank), an implementation independent of editlab's C++ one. Beam search follows transformers
4.2x-4.35 (BeamSearchScorer / BeamHypotheses with early_stopping=False, length_penalty=1.0).
"""
import json
import math
import os
import struct
import sys
from functools import lru_cache

import regex
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER_DIR = os.path.join(ROOT, "data", "gpt2-tokenizer")
OUT_MODEL = os.path.join(ROOT, "tests", "fixtures", "tiny-gpt2")
OUT_EXPECTED = os.path.join(ROOT, "tests", "fixtures", "tiny-gpt2-expected")

CONFIG = {
    "model_type": "gpt2",
    "architectures": ["GPT2LMHeadModel"],
    "vocab_size": 50257,
    "n_positions": 64,
    "n_ctx": 64,
    "n_embd": 24,
    "n_layer": 2,
    "n_head": 4,
    "n_inner": None,
    "activation_function": "gelu_new",
    "layer_norm_epsilon": 1e-5,
    "bos_token_id": 50256,
    "eos_token_id": 50256,
}
EOS = 50256


# ---------------------------------------------------------------- tokenizer (OpenAI's algorithm)
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class Encoder:
    PAT = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")

    def __init__(self, directory):
        with open(os.path.join(directory, "vocab.json"), encoding="utf-8") as f:
            self.encoder = json.load(f)
        with open(os.path.join(directory, "merges.txt"), encoding="utf-8") as f:
            merges = f.read().split("\n")[1:-1]
        self.ranks = {tuple(m.split()): i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()

    @lru_cache(maxsize=None)
    def bpe(self, token):
        word = tuple(token)
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == best:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
        return word

    def encode(self, text):
        ids = []
        for piece in regex.findall(self.PAT, text):
            chars = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder[t] for t in self.bpe(chars))
        return ids


# ---------------------------------------------------------------- model (after modeling_gpt2.py)
def make_weights(seed=1234):
    g = torch.Generator().manual_seed(seed)
    C, L, V, P = CONFIG["n_embd"], CONFIG["n_layer"], CONFIG["vocab_size"], CONFIG["n_positions"]
    M = 4 * C

    def randn(*shape, std=0.02):
        return (torch.randn(*shape, generator=g) * std).float()

    w = {"wte.weight": randn(V, C, std=0.3), "wpe.weight": randn(P, C, std=0.1)}
    for i in range(L):
        p = f"h.{i}."
        w[p + "ln_1.weight"] = 1 + randn(C, std=0.1)
        w[p + "ln_1.bias"] = randn(C, std=0.1)
        w[p + "attn.c_attn.weight"] = randn(C, 3 * C, std=0.3)
        w[p + "attn.c_attn.bias"] = randn(3 * C, std=0.1)
        w[p + "attn.c_proj.weight"] = randn(C, C, std=0.2)
        w[p + "attn.c_proj.bias"] = randn(C, std=0.1)
        w[p + "ln_2.weight"] = 1 + randn(C, std=0.1)
        w[p + "ln_2.bias"] = randn(C, std=0.1)
        w[p + "mlp.c_fc.weight"] = randn(C, M, std=0.3)
        w[p + "mlp.c_fc.bias"] = randn(M, std=0.1)
        w[p + "mlp.c_proj.weight"] = randn(M, C, std=0.2)
        w[p + "mlp.c_proj.bias"] = randn(C, std=0.1)
    w["ln_f.weight"] = 1 + randn(C, std=0.1)
    w["ln_f.bias"] = randn(C, std=0.1)
    # Make <|endoftext|> likely enough (p ~ 0.01-0.5 at many positions) that generation meets it
    # sometimes: the eos paths of greedy and beam search get exercised.
    bias = w["ln_f.bias"]
    w["wte.weight"][EOS] += 1.5 * bias / bias.norm() ** 2
    return w


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def layer_norm(x, w, b):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), w, b, CONFIG["layer_norm_epsilon"])


def conv1d(x, w, b):
    size_out = x.size()[:-1] + (w.size(-1),)
    return torch.addmm(b, x.view(-1, x.size(-1)), w).view(size_out)


def forward(w, ids, mask=None, mlp_hook=None, block_hook=None, last_layer=None):
    """GPT2LMHeadModel logits [B, T, V]. Position ids from the mask (cumsum - 1), as HF's
    generate prepares them for padded batches. mlp_hook(layer, key, value) -> value, when given,
    sees the input (key) and output (value) of every mlp.c_proj and may replace the output;
    block_hook(layer, x) -> x sees (and may replace) every block's output. With last_layer the
    pass stops after that block and returns None."""
    B, T = ids.shape
    C, H = CONFIG["n_embd"], CONFIG["n_head"]
    D = C // H
    if mask is None:
        mask = torch.ones(B, T, dtype=torch.long)
    pos = (mask.long().cumsum(-1) - 1).clamp(min=0)
    x = w["wte.weight"][ids] + w["wpe.weight"][pos]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool)).view(1, 1, T, T)
    neg = torch.finfo(x.dtype).min
    additive = (1.0 - mask[:, None, None, :].to(x.dtype)) * neg
    for i in range(CONFIG["n_layer"]):
        p = f"h.{i}."
        a = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"])
        q, k, v = conv1d(a, w[p + "attn.c_attn.weight"], w[p + "attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = (t.view(B, T, H, D).permute(0, 2, 1, 3) for t in (q, k, v))
        att = torch.matmul(q, k.transpose(-1, -2)) / torch.full([], D ** 0.5, dtype=x.dtype)
        att = torch.where(causal, att, torch.tensor(neg, dtype=x.dtype)) + additive
        att = torch.softmax(att, dim=-1)
        o = torch.matmul(att, v).permute(0, 2, 1, 3).contiguous().view(B, T, C)
        x = x + conv1d(o, w[p + "attn.c_proj.weight"], w[p + "attn.c_proj.bias"])
        m = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"])
        m = gelu_new(conv1d(m, w[p + "mlp.c_fc.weight"], w[p + "mlp.c_fc.bias"]))
        out = conv1d(m, w[p + "mlp.c_proj.weight"], w[p + "mlp.c_proj.bias"])
        if mlp_hook is not None:
            out = mlp_hook(i, m, out)
        x = x + out
        if block_hook is not None:
            x = block_hook(i, x)
        if last_layer is not None and i == last_layer:
            return None
    x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"])
    return torch.matmul(x, w["wte.weight"].t())


def nll(w, prefix_ids, target_ids):
    ids = torch.tensor([prefix_ids + target_ids[:-1]])
    logp = torch.log_softmax(forward(w, ids)[0], -1)
    n = len(prefix_ids)
    lps = [logp[n - 1 + j, t].item() for j, t in enumerate(target_ids)]
    return -sum(lps) / len(lps), lps


# ---------------------------------------------------------------- generation (HF 4.2x-4.35)
def greedy(w, prompt, max_length):
    seq = list(prompt)
    while True:
        logits = forward(w, torch.tensor([seq]))[0, -1]
        nxt = int(torch.argmax(logits))
        seq.append(nxt)
        if nxt == EOS or len(seq) >= max_length:
            return seq


class Hyps:
    def __init__(self, n):
        self.n, self.beams, self.worst = n, [], 1e9

    def add(self, hyp, sum_logprobs):
        score = sum_logprobs / (len(hyp) ** 1.0)
        if len(self.beams) < self.n or score > self.worst:
            self.beams.append((score, hyp))
            if len(self.beams) > self.n:
                ordered = sorted([(s, i) for i, (s, _) in enumerate(self.beams)])
                del self.beams[ordered[0][1]]
                self.worst = ordered[1][0]
            else:
                self.worst = min(score, self.worst)

    def is_done(self, best_sum, cur_len):
        return len(self.beams) >= self.n and self.worst >= best_sum / cur_len ** 1.0


def beam_search(w, prompt, num_beams, max_length):
    seqs = [list(prompt) for _ in range(num_beams)]
    scores = torch.zeros(num_beams, dtype=torch.float64)
    scores[1:] = -1e9
    hyps, done = Hyps(num_beams), False
    while True:
        cur_len = len(seqs[0])
        logits = forward(w, torch.tensor(seqs))[:, -1, :]
        V = logits.shape[-1]
        nxt = (torch.log_softmax(logits, -1) + scores[:, None]).view(-1)
        top_scores, top_idx = torch.topk(nxt, 2 * num_beams, largest=True, sorted=True)
        new = []
        for rank, (s, idx) in enumerate(zip(top_scores.tolist(), top_idx.tolist())):
            tok, beam = idx % V, idx // V
            if tok == EOS:
                if rank < num_beams:
                    hyps.add(list(seqs[beam]), s)
            else:
                new.append((s, tok, beam))
            if len(new) == num_beams:
                break
        done = done or hyps.is_done(max(top_scores.tolist()), cur_len)
        seqs = [seqs[b] + [t] for (_, t, b) in new]
        scores = torch.tensor([s for (s, _, _) in new], dtype=torch.float64)
        if done or len(seqs[0]) >= max_length:
            break
    if not done:
        for i in range(num_beams):
            hyps.add(seqs[i], scores[i].item())
    best = sorted(hyps.beams, key=lambda x: x[0])[-1]
    out = list(best[1])
    if len(out) < max_length:
        out.append(EOS)
    return out, best[0]


# ---------------------------------------------------------------- writing
def write_safetensors(path, tensors, dtype_name="F32", torch_dtype=torch.float32):
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        data = t.to(torch_dtype).contiguous().numpy().tobytes()
        header[name] = {"dtype": dtype_name, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def main():
    os.makedirs(OUT_MODEL, exist_ok=True)
    weights = make_weights()
    write_safetensors(os.path.join(OUT_MODEL, "model.safetensors"), weights)
    with open(os.path.join(OUT_MODEL, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    for name in ("vocab.json", "merges.txt"):  # GPT-2's own tokenizer files, linked, not copied
        link = os.path.join(OUT_MODEL, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.relpath(os.path.join(TOKENIZER_DIR, name), OUT_MODEL), link)

    w64 = {k: v.double() for k, v in weights.items()}
    enc = Encoder(TOKENIZER_DIR)
    texts = [
        "The Eiffel Tower is located in the city of",
        "Danielle Darrieux's mother tongue is",
        "The Louvre is cool. Barack Obama is from",
        "Hello",
    ]
    prompts = [enc.encode(t) for t in texts]

    expected_tensors = {}
    stride = 50
    for i, ids in enumerate(prompts):
        logits = forward(w64, torch.tensor([ids]))[0]
        expected_tensors[f"logits_strided.{i}"] = logits[:, ::stride].contiguous()
        expected_tensors[f"logits_last.{i}"] = logits[-1].contiguous()
    write_safetensors(OUT_EXPECTED + ".safetensors", expected_tensors, "F64", torch.float64)

    pairs = [
        ("The Eiffel Tower is located in", "Paris"),
        ("The Eiffel Tower is located in", "Rome"),
        ("Danielle Darrieux's mother tongue is", "French"),
        ("The Louvre is cool. Barack Obama is from", "Rome"),
        ("Michelle Obama is married to", "Barack Obama"),
        ("Hello", "world, again and again"),
    ]
    scores = []
    for prefix, target in pairs:
        p_ids, t_ids = enc.encode(prefix), enc.encode(" " + target)
        value, lps = nll(w64, p_ids, t_ids)
        scores.append({"prefix": prefix, "target": target, "prefix_ids": p_ids, "target_ids": t_ids,
                       "nll": value, "token_logprobs": lps})

    generations = []
    for text, ids in zip(texts, prompts):
        for beams in (1, 3, 5):
            for max_length in (len(ids) + 6, 20):
                if beams == 1:
                    out, score = greedy(w64, ids, max_length), None
                else:
                    out, score = beam_search(w64, ids, beams, max_length)
                generations.append({"prompt": text, "prompt_ids": ids, "num_beams": beams,
                                    "max_length": max_length, "ids": out, "score": score})

    meta = {"texts": texts, "prompt_ids": prompts, "logit_stride": stride, "scores": scores,
            "generations": generations,
            "eos_generated": sum(EOS in g["ids"][len(g["prompt_ids"]):] for g in generations)}
    with open(OUT_EXPECTED + ".json", "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote {OUT_MODEL} and {OUT_EXPECTED}.{{json,safetensors}}; "
          f"{meta['eos_generated']} of {len(generations)} generations end in eos", file=sys.stderr)


if __name__ == "__main__":
    main()
