#!/usr/bin/env python3
"""Writes the multi-family parity fixtures: small random-weight Hugging Face checkpoints (GPT-J,
GPT-NeoX, Llama, Mistral, Qwen2) and the outputs of HF's own eager forward and generate.

Run in the reference venv (transformers 4.47.1 on Debian's torch 1.13), offline:
    scripts/reference/make_family_fixtures.sh
or directly
    HF_HUB_OFFLINE=1 .venv-ref/bin/python scripts/reference/make_family_fixtures.py [--only NAME ...]

Outputs (committed; regenerate only when the fixtures' design changes), for each fixture NAME:
  tests/fixtures/families/NAME/config.json, generation_config.json, model.safetensors
      written by save_pretrained(safe_serialization=True) from
      AutoModelForCausalLM.from_config(..., attn_implementation="eager") in float32
  tests/fixtures/families/NAME/expected.safetensors   HF's outputs (float32 logits, hidden states,
                                                      MLP keys/values; int64 ids and masks)
  tests/fixtures/families/NAME/expected.json          inputs, generate outputs, module names,
                                                      versions, tensor descriptions, self-checks
Tokenizer files in those folders (added by hand) are left alone: only the files above are written.

Deterministic: the weights come from torch.manual_seed(seed of the fixture) and the inputs from one
fixed generator; torch runs on one thread; re-running gives byte-identical files.
"""
import argparse
import copy
import json
import math
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import (  # noqa: E402
    AutoModelForCausalLM,
    GPTJConfig,
    GPTNeoXConfig,
    LlamaConfig,
    MistralConfig,
    Qwen2Config,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "families")
REL_OUT = os.path.relpath(OUT_DIR, ROOT)

VOCAB = 3072
PAD_ID = 0  # the id written at padded positions (masked out; any id would do)
SINGLE_LENGTHS = (1, 7, 40)
# logits of single sequence i are stored at its last SINGLE_KEEP_LAST[i] positions only (size)
SINGLE_KEEP_LAST = (1, 3, 3)
HIDDEN_ROW = 1  # index in SINGLE_LENGTHS of the 7-token sequence used for hidden states / MLP io
PADDED_LENGTHS = (5, 12, 9)
PROMPT_LENGTHS = (5, 30)
GREEDY_NEW = 12
BEAM_NEW = 8
NUM_BEAMS = 4
INPUT_SEED = 20240611
# Each fixture's seed is the first of base, base + 1000, ... (base 101..109) for which every greedy
# decision has a top-1/top-2 logit margin >= MIN_GREEDY_MARGIN and every beam decision (the
# num_beams-th vs the next candidate, and the final best vs second beam) a log-prob gap >=
# MIN_BEAM_GAP, so that float32 differences between implementations cannot flip a token.
MIN_GREEDY_MARGIN = 0.01
MIN_BEAM_GAP = 0.005

# ----------------------------------------------------------------------------- module names
MODULES = {
    "gptj": {
        "embedding": "transformer.wte",
        "layers": "transformer.h.{}",
        "attention": "transformer.h.{}.attn",
        "mlp": "transformer.h.{}.mlp",
        "rewrite_module": "transformer.h.{}.mlp.fc_out",
        "rotary": None,  # a fixed sin/cos table per attention module (transformer.h.{}.attn.embed_positions)
        "input_norm": "transformer.h.{}.ln_1",
        "post_attention_norm": None,
        "final_norm": "transformer.ln_f",
        "lm_head": "lm_head",
    },
    "gpt_neox": {
        "embedding": "gpt_neox.embed_in",
        "layers": "gpt_neox.layers.{}",
        "attention": "gpt_neox.layers.{}.attention",
        "mlp": "gpt_neox.layers.{}.mlp",
        "rewrite_module": "gpt_neox.layers.{}.mlp.dense_4h_to_h",
        "rotary": "gpt_neox.rotary_emb",
        "input_norm": "gpt_neox.layers.{}.input_layernorm",
        "post_attention_norm": "gpt_neox.layers.{}.post_attention_layernorm",
        "final_norm": "gpt_neox.final_layer_norm",
        "lm_head": "embed_out",
    },
}
for _mt in ("llama", "mistral", "qwen2"):
    MODULES[_mt] = {
        "embedding": "model.embed_tokens",
        "layers": "model.layers.{}",
        "attention": "model.layers.{}.self_attn",
        "mlp": "model.layers.{}.mlp",
        "rewrite_module": "model.layers.{}.mlp.down_proj",
        # the rotary module whose cos/sin the attention uses (Llama/Qwen2/NeoX also keep an unused
        # per-attention copy; Mistral 4.47 has only per-attention ones, all identical)
        "rotary": "model.layers.0.self_attn.rotary_emb" if _mt == "mistral" else "model.rotary_emb",
        "input_norm": "model.layers.{}.input_layernorm",
        "post_attention_norm": "model.layers.{}.post_attention_layernorm",
        "final_norm": "model.norm",
        "lm_head": "lm_head",
    }

# ----------------------------------------------------------------------------- the fixtures
FIXTURES = [
    {
        "name": "gptj",
        "seed": 101,
        "config": GPTJConfig,
        "kwargs": dict(vocab_size=VOCAB, n_positions=128, n_embd=32, n_layer=2, n_head=2, rotary_dim=8,
                       n_inner=96, activation_function="gelu_new", layer_norm_epsilon=1e-5,
                       bos_token_id=0, eos_token_id=0, tie_word_embeddings=False),
        "covers": [
            "GPT-J parallel block: x + attn(ln_1(x)) + mlp(ln_1(x)) (one LayerNorm per block)",
            "partial rotary, rotate-every-two (interleaved pairs 2i, 2i+1) on the first rotary_dim=8 of head_dim=16",
            "q/k/v/out_proj without bias; fc_in/fc_out with bias; gelu_new (tanh)",
            "untied lm_head with bias",
        ],
    },
    {
        "name": "neox-parallel",
        "seed": 102,
        "config": GPTNeoXConfig,
        "kwargs": dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=96, hidden_act="gelu", rotary_pct=0.25, rotary_emb_base=10000,
                       max_position_embeddings=128, layer_norm_eps=1e-5, use_parallel_residual=True,
                       tie_word_embeddings=False, attention_bias=True, bos_token_id=0, eos_token_id=0),
        "covers": [
            "NeoX parallel residual: x + attn(ln1(x)) + mlp(ln2(x))",
            "fused query_key_value, per-head interleaved [q_h; k_h; v_h] rows",
            "partial rotary, rotate-half, rotary_pct 0.25 (4 of head_dim 16)",
            "exact erf gelu; untied embed_out (no bias)",
        ],
    },
    {
        "name": "neox-sequential",
        "seed": 103,
        "config": GPTNeoXConfig,
        "kwargs": dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=3, num_attention_heads=2,
                       intermediate_size=64, hidden_act="gelu", rotary_pct=1.0, rotary_emb_base=10000,
                       max_position_embeddings=128, layer_norm_eps=1e-5, use_parallel_residual=False,
                       rope_scaling={"type": "linear", "factor": 2.0}, tie_word_embeddings=False,
                       attention_bias=True, bos_token_id=0, eos_token_id=0),
        "covers": [
            "NeoX sequential residual: x = x + attn(ln1(x)); x = x + mlp(ln2(x))",
            "full rotary (rotary_pct 1.0), rotate-half",
            "linear rope scaling factor 2 (inv_freq / 2)",
        ],
    },
    {
        "name": "llama",
        "seed": 2104,
        "config": LlamaConfig,
        "kwargs": dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=80, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                       rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True,
                       bos_token_id=1, eos_token_id=2),
        "covers": [
            "Llama: RMSNorm, SwiGLU MLP, rotate-half rope theta 1e4",
            "GQA 4 query heads / 2 kv heads",
            "tied embeddings (no lm_head.weight in model.safetensors)",
        ],
    },
    {
        "name": "llama-head-dim",
        "seed": 105,
        "config": LlamaConfig,
        "kwargs": dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=80, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, head_dim=16, max_position_embeddings=128,
                       rms_norm_eps=1e-6, rope_theta=10000.0, attention_bias=True, mlp_bias=True,
                       rope_scaling={"rope_type": "linear", "factor": 4.0}, tie_word_embeddings=False,
                       bos_token_id=1, eos_token_id=2),
        "covers": [
            "explicit head_dim 16 != hidden/heads = 8 (q_proj 32->64, o_proj 64->32)",
            "attention_bias (q/k/v/o biases) and mlp_bias (gate/up/down biases)",
            "untied lm_head; linear rope scaling factor 4",
        ],
    },
    {
        "name": "llama3-rope",
        "seed": 1106,
        "config": LlamaConfig,
        "kwargs": dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=256,
                       rms_norm_eps=1e-5, rope_theta=500000.0,
                       rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
                       tie_word_embeddings=True, bos_token_id=1, eos_token_id=2),
        "covers": [
            "llama3 rope scaling (theta 5e5, head_dim 16: one high-, one medium- (smoothed), six low-frequency pairs)",
            "MQA: 4 query heads share 1 kv head",
        ],
    },
    {
        "name": "llama-dynamic",
        "seed": 1107,
        "config": LlamaConfig,
        "kwargs": dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=80, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32,
                       rms_norm_eps=1e-6, rope_theta=10000.0, rope_scaling={"type": "dynamic", "factor": 2.0},
                       tie_word_embeddings=False, bos_token_id=1, eos_token_id=2),
        "covers": [
            "dynamic NTK rope (factor 2) with max_position_embeddings 32: the 40-token sequence and the "
            "30-token prompt's generation go past 32, which changes inv_freq",
            "plain multi-head attention (kv heads == heads), head_dim 16",
        ],
    },
    {
        "name": "mistral",
        "seed": 1108,
        "config": MistralConfig,
        "kwargs": dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=80, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                       rms_norm_eps=1e-6, rope_theta=10000.0, sliding_window=8, tie_word_embeddings=False,
                       bos_token_id=1, eos_token_id=2),
        "covers": [
            "Mistral sliding-window attention, window 8 (query at position p sees keys p-7..p), shorter than "
            "the 9-, 12-, 40-token inputs and the prompts' generations",
            "GQA 4 / 2; untied lm_head",
        ],
    },
    {
        "name": "qwen2",
        "seed": 1109,
        "config": Qwen2Config,
        "kwargs": dict(vocab_size=VOCAB, hidden_size=48, intermediate_size=128, num_hidden_layers=3,
                       num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=256,
                       rms_norm_eps=1e-6, rope_theta=1000000.0, tie_word_embeddings=True,
                       use_sliding_window=False, sliding_window=16, max_window_layers=1,
                       bos_token_id=None, eos_token_id=None),
        "config_json_extra": {"sliding_window": 16},
        "covers": [
            "Qwen2: q/k/v biases, o_proj and MLP without bias, rope theta 1e6",
            "GQA 6 / 2 (ratio 3), tied embeddings, 3 layers",
            "use_sliding_window false with sliding_window 16 and max_window_layers 1 in config.json (as real "
            "Qwen2 checkpoints carry a window they do not use): no window at all; Qwen2Config sets "
            "sliding_window to None on load, and the 40-token sequence shows a window is not applied",
        ],
    },
]
BF16_FROM = "llama"
BF16_NAME = "llama-bf16"


# ----------------------------------------------------------------------------- helpers
def _dump(obj, indent=0):
    """JSON with one item per line, except that lists of numbers (ids, scores) stay on one line."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(k)}: {_dump(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(isinstance(x, (int, float, bool, str)) or x is None for x in obj):
            return json.dumps(list(obj))
        return "[\n" + ",\n".join(inner + _dump(x, indent + 1) for x in obj) + "\n" + pad + "]"
    return json.dumps(obj)


def det_json(obj, path):
    with open(path, "w") as f:
        f.write(_dump(obj) + "\n")


def init_weights(model, seed):
    """Re-initialises every parameter (tied ones once) from torch.manual_seed(seed), in
    named_parameters() order: the embedding and the lm_head N(0, 3/sqrt(hidden)) (logits of std ~3:
    distinct top tokens, so greedy and beam decisions are not near-ties); every other matrix
    N(0, 0.2); 1-D norm weights 1 + N(0, 0.1); all biases N(0, 0.1)."""
    mods = MODULES[model.config.model_type]
    big = {mods["embedding"] + ".weight", mods["lm_head"] + ".weight"}
    head_std = 3.0 / math.sqrt(model.config.hidden_size)
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, head_std if name in big else 0.2)
            elif name.endswith("weight"):  # 1-D weights are the norms' scales
                p.copy_(1.0 + 0.1 * torch.randn(p.shape))
            else:
                p.normal_(0.0, 0.1)


def reset_dynamic_rope(model):
    """transformers' dynamic-NTK rotary module is stateful (max_seq_len_cached / inv_freq survive
    between calls). Every stored output is computed from the freshly constructed state."""
    for m in model.modules():
        if hasattr(m, "original_inv_freq") and hasattr(m, "max_seq_len_cached"):
            m.register_buffer("inv_freq", m.original_inv_freq, persistent=False)
            m.max_seq_len_cached = m.original_max_seq_len


def positions_from_mask(mask):
    pos = mask.long().cumsum(-1) - 1
    pos.masked_fill_(mask == 0, 1)
    return pos


@torch.no_grad()
def forward_logits(model, ids, mask=None, pos=None):
    reset_dynamic_rope(model)
    return model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=False).logits


def make_inputs():
    g = torch.Generator().manual_seed(INPUT_SEED)

    def rand(n):
        return torch.randint(0, VOCAB, (n,), generator=g).tolist()

    single = [rand(n) for n in SINGLE_LENGTHS]
    padded_rows = [rand(n) for n in PADDED_LENGTHS]
    prompts = [rand(n) for n in PROMPT_LENGTHS]
    return single, padded_rows, prompts


def pad_batch(rows, side):
    T = max(len(r) for r in rows)
    ids = torch.full((len(rows), T), PAD_ID, dtype=torch.long)
    mask = torch.zeros((len(rows), T), dtype=torch.long)
    for i, r in enumerate(rows):
        if side == "right":
            ids[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = 1
        else:
            ids[i, T - len(r):] = torch.tensor(r)
            mask[i, T - len(r):] = 1
    return ids, mask


def hf_generate(model, ids, mask, **kw):
    reset_dynamic_rope(model)
    with torch.no_grad():
        # synced_gpus=False: the default (None) makes 4.47 import torch.distributed.fsdp, which fails on
        # Debian's torch 1.13 under Python 3.11; a single process never syncs anyway.
        return model.generate(input_ids=ids, attention_mask=mask, do_sample=False, eos_token_id=None,
                              pad_token_id=PAD_ID, return_dict_in_generate=True, synced_gpus=False, **kw)


@torch.no_grad()
def reference_greedy(model, prompt, n_new):
    """Greedy without a KV cache (full forward every step): documents whether HF's cached
    generate equals the textbook definition."""
    seq = list(prompt)
    for _ in range(n_new):
        logits = forward_logits(model, torch.tensor([seq]))[0, -1]
        seq.append(int(torch.argmax(logits)))
    return seq


@torch.no_grad()
def reference_beam(model, prompt, num_beams, n_new):
    """Beam search without eos and without a KV cache, after transformers 4.47 _beam_search:
    scores = log_softmax(logits) + beam score; top 2*num_beams over (beam, token); keep the first
    num_beams; final score = sum_logprobs / n_new ** length_penalty(1.0). Returns the beams (best
    first), their scores, and the smallest gap at a decision boundary."""
    seqs = [list(prompt) for _ in range(num_beams)]
    scores = torch.zeros(num_beams)
    scores[1:] = -1e9
    min_gap = math.inf
    for _ in range(n_new):
        logits = forward_logits(model, torch.tensor(seqs))[:, -1, :].float()
        V = logits.shape[-1]
        cand = (torch.log_softmax(logits, -1) + scores[:, None]).view(-1)
        top, idx = torch.topk(cand, 2 * num_beams, largest=True, sorted=True)
        min_gap = min(min_gap, float(top[num_beams - 1] - top[num_beams]))
        seqs = [seqs[int(i) // V] + [int(i) % V] for i in idx[:num_beams]]
        scores = top[:num_beams].clone()
    final = scores / float(n_new)
    order = torch.argsort(final, descending=True)
    if num_beams > 1:
        min_gap = min(min_gap, float(final[order[0]] - final[order[1]]))
    return [seqs[int(i)] for i in order], [float(final[int(i)]) for i in order], min_gap


def greedy_margin(raw_logits):
    m = math.inf
    for step in raw_logits:  # [B, V] per step
        top2 = torch.topk(step.float(), 2, dim=-1).values
        m = min(m, float((top2[:, 0] - top2[:, 1]).min()))
    return m


def describe_config(path):
    with open(path) as f:
        d = json.load(f)
    keep = [
        "model_type", "architectures", "vocab_size", "hidden_size", "n_embd", "intermediate_size", "n_inner",
        "num_hidden_layers", "n_layer", "num_attention_heads", "n_head", "num_key_value_heads", "head_dim",
        "rotary_dim", "rotary_pct", "partial_rotary_factor", "rotary_emb_base", "rope_theta", "rope_scaling",
        "max_position_embeddings", "n_positions", "hidden_act", "activation_function", "rms_norm_eps",
        "layer_norm_eps", "layer_norm_epsilon", "attention_bias", "mlp_bias", "use_parallel_residual",
        "tie_word_embeddings", "sliding_window", "use_sliding_window", "max_window_layers", "bos_token_id",
        "eos_token_id", "torch_dtype",
    ]
    return {k: d[k] for k in keep if k in d}


# ----------------------------------------------------------------------------- one fixture
def build(fx):
    cfg = fx["config"](**fx["kwargs"])
    torch.manual_seed(fx["seed"])
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager", torch_dtype=torch.float32)
    init_weights(model, fx["seed"])
    model.eval()
    return model


def make_fixture(fx, inputs, log):
    name = fx["name"]
    out = os.path.join(OUT_DIR, name)
    os.makedirs(out, exist_ok=True)
    model = build(fx)
    model.save_pretrained(out, safe_serialization=True)
    for key, value in fx.get("config_json_extra", {}).items():
        # keys that HF's config class drops on load (e.g. Qwen2's sliding_window when
        # use_sliding_window is false), written as real checkpoints have them; the reload check
        # below proves HF's outputs ignore them
        cpath = os.path.join(out, "config.json")
        with open(cpath) as f:
            cj = json.load(f)
        cj[key] = value
        with open(cpath, "w") as f:
            f.write(json.dumps(cj, indent=2, sort_keys=True) + "\n")
    mt = model.config.model_type
    mods = MODULES[mt]
    L = model.config.num_hidden_layers
    single, padded_rows, prompts = inputs
    T, desc = {}, {}

    # single sequences
    single_logits = []
    for i, ids in enumerate(single):
        lg = forward_logits(model, torch.tensor([ids]))[0]
        single_logits.append(lg)
        T[f"ids_single_{i}"] = torch.tensor(ids, dtype=torch.long)
        keep = list(range(max(0, len(ids) - SINGLE_KEEP_LAST[i]), len(ids)))
        T[f"logit_positions_single_{i}"] = torch.tensor(keep, dtype=torch.long)
        T[f"logits_single_{i}"] = lg[keep].contiguous()
        desc[f"ids_single_{i}"] = f"int64 [{len(ids)}]: input ids of single sequence {i}"
        desc[f"logit_positions_single_{i}"] = (f"int64 [{len(keep)}]: the positions whose logits are stored in "
                                               f"logits_single_{i} (the last {len(keep)} of {len(ids)})")
        desc[f"logits_single_{i}"] = (f"float32 [{len(keep)}, {VOCAB}]: logits of single sequence {i} at "
                                      f"logit_positions_single_{i}, one unpadded row, no attention_mask/position_ids "
                                      "passed (positions 0..T-1)")

    # the rotary inverse frequencies HF uses (GPT-J keeps only a sin/cos table; its inv_freq is
    # recomputed here exactly as create_sinusoidal_positions does)
    if mt == "gptj":
        rd = model.config.rotary_dim
        inv = 1.0 / (10000 ** (torch.arange(0, rd, 2, dtype=torch.int64) / rd))
    else:
        rope = model.get_submodule(mods["rotary"])
        reset_dynamic_rope(model)
        inv = rope.inv_freq.clone()
    T["rope_inv_freq"] = inv.float().contiguous()
    desc["rope_inv_freq"] = (f"float32 [{inv.numel()}]: rotary inverse frequencies at construction (rotary dims / 2 "
                             "entries; rope scaling applied)")
    if model.config.model_type == "llama" and (model.config.rope_scaling or {}).get("rope_type") == "dynamic":
        rope = model.get_submodule(mods["rotary"])
        reset_dynamic_rope(model)
        with torch.no_grad():
            model(input_ids=torch.tensor([single[-1]]), use_cache=False)
        n = len(single[-1])
        T[f"rope_inv_freq_seq{n}"] = rope.inv_freq.float().clone().contiguous()
        desc[f"rope_inv_freq_seq{n}"] = (f"float32 [{inv.numel()}]: the dynamic-NTK inverse frequencies HF used for "
                                         f"the {n}-token sequence (seq_len = max(position_ids) + 1 = {n})")
        reset_dynamic_rope(model)

    # padded batches
    checks = {}
    unpadded = [forward_logits(model, torch.tensor([r]))[0] for r in padded_rows]
    for side in ("right", "left"):
        ids, mask = pad_batch(padded_rows, side)
        pos = positions_from_mask(mask)
        lg = forward_logits(model, ids, mask, pos)
        p = f"{side}_padded_"
        T[p + "input_ids"], T[p + "attention_mask"], T[p + "position_ids"] = ids, mask, pos
        B, S = ids.shape
        # stored only at chosen real positions (size): right padding: each row's last real token;
        # left padding: each row's first and last real tokens
        sel_b, sel_p = [], []
        for b, r in enumerate(padded_rows):
            first, last = (0, len(r) - 1) if side == "right" else (S - len(r), S - 1)
            for q in ([last] if side == "right" else [first, last]):
                sel_b.append(b)
                sel_p.append(q)
        T[p + "logit_batch"] = torch.tensor(sel_b, dtype=torch.long)
        T[p + "logit_position"] = torch.tensor(sel_p, dtype=torch.long)
        T[p + "logits"] = lg[sel_b, sel_p].contiguous()
        N = len(sel_b)
        desc[p + "logit_batch"] = f"int64 [{N}]: row of each stored logit vector"
        desc[p + "logit_position"] = (f"int64 [{N}]: position of each stored logit vector (" +
                                      ("each row's last real token" if side == "right"
                                       else "each row's first and last real tokens") + ")")
        desc[p + "input_ids"] = f"int64 [{B}, {S}]: rows of lengths {list(PADDED_LENGTHS)}, {side}-padded with id {PAD_ID}"
        desc[p + "attention_mask"] = f"int64 [{B}, {S}]: 1 at real tokens, 0 at padding"
        desc[p + "position_ids"] = f"int64 [{B}, {S}]: attention_mask.cumsum(-1) - 1, then 1 where the mask is 0"
        desc[p + "logits"] = (f"float32 [{N}, {VOCAB}]: logits of the batch called with attention_mask and "
                              f"position_ids, at ({p}logit_batch, {p}logit_position)")
        diff = 0.0
        for b, r in enumerate(padded_rows):
            real = lg[b, : len(r)] if side == "right" else lg[b, S - len(r):]
            diff = max(diff, float((real - unpadded[b]).abs().max()))
        checks[f"{side}_padded_vs_unpadded_max_abs_diff"] = diff

    # hidden states and MLP key/value of the 7-token sequence
    ids7 = torch.tensor([single[HIDDEN_ROW]])
    captured = {}
    hooks = []
    for l in range(L):
        mod = model.get_submodule(mods["rewrite_module"].format(l))

        def hook(m, inp, outp, l=l):
            captured[f"mlp_in_{l}"] = inp[0][0].detach().clone()
            captured[f"mlp_out_{l}"] = outp[0].detach().clone()
        hooks.append(mod.register_forward_hook(hook))

    def last_hook(m, inp, outp):
        captured["last_layer_out"] = outp[0][0].detach().clone()
    hooks.append(model.get_submodule(mods["layers"].format(L - 1)).register_forward_hook(last_hook))
    reset_dynamic_rope(model)
    with torch.no_grad():
        o = model(input_ids=ids7, output_hidden_states=True, use_cache=False)
    for h in hooks:
        h.remove()
    if not torch.equal(o.logits[0], single_logits[HIDDEN_ROW]):
        raise SystemExit(f"{name}: hooked forward changed the logits")
    n7 = ids7.shape[1]
    H = model.config.hidden_size
    for i, hs in enumerate(o.hidden_states):
        T[f"hidden_{i}"] = hs[0].contiguous()
        if i == 0:
            what = "the embedding output (input of layer 0)"
        elif i < L:
            what = f"the residual stream after layer {i - 1} (input of layer {i})"
        else:
            what = f"the FINAL NORM ({mods['final_norm']}) applied to the output of layer {L - 1}, as HF returns it"
        desc[f"hidden_{i}"] = f"float32 [{n7}, {H}]: hidden_states[{i}] of single sequence {HIDDEN_ROW}: {what}"
    T["last_layer_out"] = captured["last_layer_out"].contiguous()
    desc["last_layer_out"] = (f"float32 [{n7}, {H}]: raw output of layer {L - 1} (residual stream before the final "
                              "norm; a forward hook, since HF's hidden_states ends with the normed one)")
    for l in range(L):
        T[f"mlp_in_{l}"] = captured[f"mlp_in_{l}"].contiguous()
        T[f"mlp_out_{l}"] = captured[f"mlp_out_{l}"].contiguous()
        rm = mods["rewrite_module"].format(l)
        I_ = captured[f"mlp_in_{l}"].shape[-1]
        desc[f"mlp_in_{l}"] = f"float32 [{n7}, {I_}]: input of {rm} (ROME key) for single sequence {HIDDEN_ROW}"
        desc[f"mlp_out_{l}"] = f"float32 [{n7}, {H}]: output of {rm} incl. bias if any (ROME value)"

    # generate
    gen = {"greedy": [], "beam": []}
    notes = []
    for k, prompt in enumerate(prompts):
        ids = torch.tensor([prompt])
        mask = torch.ones_like(ids)
        r = hf_generate(model, ids, mask, max_new_tokens=GREEDY_NEW, num_beams=1, output_logits=True)
        seq = r.sequences[0].tolist()
        r_nc = hf_generate(model, ids, mask, max_new_tokens=GREEDY_NEW, num_beams=1, use_cache=False)
        ref = reference_greedy(model, prompt, GREEDY_NEW)
        entry = {"prompt": prompt, "max_new_tokens": GREEDY_NEW, "ids": seq,
                 "min_top1_top2_logit_margin": greedy_margin(r.logits),
                 "equals_use_cache_false": r_nc.sequences[0].tolist() == seq,
                 "equals_uncached_reference": ref == seq}
        if r_nc.sequences[0].tolist() != seq:
            entry["ids_use_cache_false"] = r_nc.sequences[0].tolist()
        gen["greedy"].append(entry)

        b = hf_generate(model, ids, mask, max_new_tokens=BEAM_NEW, num_beams=NUM_BEAMS, length_penalty=1.0,
                        early_stopping=False, num_return_sequences=NUM_BEAMS, output_scores=True)
        b1 = hf_generate(model, ids, mask, max_new_tokens=BEAM_NEW, num_beams=NUM_BEAMS, length_penalty=1.0,
                         early_stopping=False)
        beams = [s.tolist() for s in b.sequences]
        if b1.sequences[0].tolist() != beams[0]:
            raise SystemExit(f"{name}: num_return_sequences changed the best beam")
        ref_beams, ref_scores, gap = reference_beam(model, prompt, NUM_BEAMS, BEAM_NEW)
        gen["beam"].append({
            "prompt": prompt, "max_new_tokens": BEAM_NEW, "num_beams": NUM_BEAMS, "length_penalty": 1.0,
            "early_stopping": False, "ids": beams[0], "all_beams": beams,
            "sequences_scores": [float(x) for x in b.sequences_scores],
            "min_decision_gap": gap,
            "equals_uncached_reference": ref_beams == beams,
            "uncached_reference_scores": ref_scores,
        })

    ids, mask = pad_batch(prompts, "left")
    r = hf_generate(model, ids, mask, max_new_tokens=GREEDY_NEW, num_beams=1, output_logits=True)
    seqs = r.sequences.tolist()
    S = ids.shape[1]
    same = [seqs[i][S:] == gen["greedy"][i]["ids"][len(prompts[i]):] for i in range(len(prompts))]
    gen["greedy_left_padded_batch"] = {
        "input_ids": ids.tolist(), "attention_mask": mask.tolist(), "max_new_tokens": GREEDY_NEW,
        "ids": seqs, "min_top1_top2_logit_margin": greedy_margin(r.logits),
        "new_tokens_equal_unbatched_greedy": same,
    }

    margins = [g["min_top1_top2_logit_margin"] for g in gen["greedy"]]
    margins.append(gen["greedy_left_padded_batch"]["min_top1_top2_logit_margin"])
    gaps = [g["min_decision_gap"] for g in gen["beam"]]
    checks["min_greedy_margin"], checks["min_beam_gap"] = min(margins), min(gaps)
    if min(margins) < MIN_GREEDY_MARGIN or min(gaps) < MIN_BEAM_GAP:
        log(f"WARNING {name}: a generate decision is a near-tie (greedy {min(margins):.4f}, beam {min(gaps):.4f})")

    # reload from disk: bit-for-bit single logits
    re = AutoModelForCausalLM.from_pretrained(out, attn_implementation="eager", torch_dtype=torch.float32)
    re.eval()
    reload_ok = all(torch.equal(forward_logits(re, torch.tensor([s]))[0], single_logits[i])
                    for i, s in enumerate(single))
    checks["reload_single_logits_bitexact"] = reload_ok
    if not reload_ok:
        raise SystemExit(f"{name}: reloaded model gives different logits")

    if mt == "llama" and model.config.rope_scaling and model.config.rope_scaling.get("rope_type") == "dynamic":
        notes.append("Dynamic NTK: transformers' rotary module is stateful across calls; every output here is "
                     "computed from the freshly constructed state (max_seq_len_cached = max_position_embeddings).")
        notes.append("Within a call the frequencies depend on seq_len = max(position_ids) + 1 over the whole "
                     "batch, so a padded batch's rows influence each other once it exceeds 32.")
        notes.append("generate with the KV cache keeps keys rotated with the frequencies of the step that "
                     "computed them; see equals_use_cache_false / equals_uncached_reference.")

    safe_path = os.path.join(out, "expected.safetensors")
    save_file(T, safe_path, metadata={"format": "pt"})
    stored = load_file(safe_path)
    tensors = {k: {"dtype": str(v.dtype).replace("torch.", ""), "shape": list(v.shape), "description": desc[k]}
               for k, v in sorted(stored.items())}

    meta = {
        "fixture": name,
        "config": f"{REL_OUT}/{name}/config.json",
        "model": f"{REL_OUT}/{name}/model.safetensors",
        "model_type": mt,
        "hf_class": type(model).__name__,
        "config_class": type(model.config).__name__,
        "attn_implementation": "eager",
        "dtype": "float32",
        "seed": fx["seed"],
        "input_seed": INPUT_SEED,
        "init": "embedding and lm_head N(0, 3/sqrt(hidden)); other matrices N(0, 0.2); 1-D norm weights "
                "1 + N(0, 0.1); biases N(0, 0.1); torch.manual_seed(seed), named_parameters() order",
        "covers": fx["covers"],
        "config_summary": describe_config(os.path.join(out, "config.json")),
        "num_layers": L,
        "modules": mods,
        "weights_in_file": sorted(load_file(os.path.join(out, "model.safetensors")).keys()),
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "inputs": {
            "single": single,
            "padded_rows": padded_rows,
            "pad_id": PAD_ID,
            "hidden_and_mlp_io_sequence": HIDDEN_ROW,
            "prompts": prompts,
        },
        "generate": gen,
        "generate_settings": {
            "do_sample": False, "eos_token_id": None, "pad_token_id": PAD_ID, "use_cache": True,
            "note": "no eos: every output has exactly max_new_tokens new tokens; beam search returns the "
                    "num_beams finished beams best first; sequences_scores = sum of log-probs of the new "
                    "tokens / number of new tokens (length_penalty 1.0, transformers >= 4.38 divides by the "
                    "generated length, not the full length)",
        },
        "checks": checks,
        "notes": notes,
        "tensors": tensors,
    }
    det_json(meta, os.path.join(out, "expected.json"))
    log(f"{name}: {mt} {type(model).__name__}; left {checks['left_padded_vs_unpadded_max_abs_diff']:.2e} "
        f"right {checks['right_padded_vs_unpadded_max_abs_diff']:.2e}; greedy margins "
        f"{[round(g['min_top1_top2_logit_margin'], 4) for g in gen['greedy']]}; beam gaps "
        f"{[round(g['min_decision_gap'], 4) for g in gen['beam']]}; greedy==nocache "
        f"{[g['equals_use_cache_false'] for g in gen['greedy']]} ==ref {[g['equals_uncached_reference'] for g in gen['greedy']]}; "
        f"beam==ref {[g['equals_uncached_reference'] for g in gen['beam']]}; batch==single {same}")
    return model


def make_bf16(fx, model, inputs, log):
    out = os.path.join(OUT_DIR, BF16_NAME)
    os.makedirs(out, exist_ok=True)
    m16 = copy.deepcopy(model).to(torch.bfloat16)
    m16.save_pretrained(out, safe_serialization=True)
    re = AutoModelForCausalLM.from_pretrained(out, attn_implementation="eager", torch_dtype=torch.float32)
    re.eval()
    for (k, v), (k2, v2) in zip(sorted(re.state_dict().items()), sorted(model.state_dict().items())):
        if k != k2 or not torch.equal(v, v2.to(torch.bfloat16).float()):
            raise SystemExit(f"{BF16_NAME}: {k} is not the bf16 rounding of {fx['name']}'s weight")
    single = inputs[0]
    ids = single[HIDDEN_ROW]
    lg = forward_logits(re, torch.tensor([ids]))[0]
    re2 = AutoModelForCausalLM.from_pretrained(out, attn_implementation="eager", torch_dtype=torch.float32)
    re2.eval()
    if not torch.equal(forward_logits(re2, torch.tensor([ids]))[0], lg):
        raise SystemExit(f"{BF16_NAME}: reload is not bit-exact")
    T = {"ids_single_1": torch.tensor(ids, dtype=torch.long), "logits_single_1": lg.contiguous(),
         "logit_positions_single_1": torch.arange(len(ids), dtype=torch.long)}
    save_file(T, os.path.join(out, "expected.safetensors"), metadata={"format": "pt"})
    diff_f32 = float((lg - forward_logits(model, torch.tensor([ids]))[0]).abs().max())
    meta = {
        "fixture": BF16_NAME,
        "config": f"{REL_OUT}/{BF16_NAME}/config.json",
        "model": f"{REL_OUT}/{BF16_NAME}/model.safetensors",
        "model_type": model.config.model_type,
        "hf_class": type(model).__name__,
        "config_class": type(model.config).__name__,
        "attn_implementation": "eager",
        "stored_dtype": "bfloat16",
        "compute_dtype": "float32",
        "derived_from": fx["name"],
        "covers": ["BF16 tensors in model.safetensors (config torch_dtype bfloat16), upcast to float32 on load"],
        "config_summary": describe_config(os.path.join(out, "config.json")),
        "modules": MODULES[model.config.model_type],
        "weights_in_file": sorted(load_file(os.path.join(out, "model.safetensors")).keys()),
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "inputs": {"single_1": ids},
        "checks": {"weights_are_bf16_rounding_of_source": True, "reload_logits_bitexact": True,
                   "max_abs_diff_vs_float32_source_logits": diff_f32},
        "tensors": {
            "ids_single_1": {"dtype": "int64", "shape": [len(ids)], "description": "input ids (the 7-token "
                             f"sequence of the {fx['name']} fixture)"},
            "logit_positions_single_1": {"dtype": "int64", "shape": [len(ids)], "description": "0..T-1: every "
                                         "position of logits_single_1"},
            "logits_single_1": {"dtype": "float32", "shape": [len(ids), VOCAB], "description":
                                "float32 logits computed by HF after from_pretrained(torch_dtype=float32) of the "
                                "bf16 checkpoint (weights upcast exactly, float32 compute)"},
        },
    }
    det_json(meta, os.path.join(out, "expected.json"))
    log(f"{BF16_NAME}: max |bf16-weights logits - f32 logits| = {diff_f32:.3e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", nargs="*", help="fixture names to (re)write (default: all)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    inputs = make_inputs()
    os.makedirs(OUT_DIR, exist_ok=True)
    wanted = set(args.only) if args.only else None
    for fx in FIXTURES:
        if wanted is None or fx["name"] in wanted or (fx["name"] == BF16_FROM and BF16_NAME in wanted):
            model = make_fixture(fx, inputs, log)
            if fx["name"] == BF16_FROM and (wanted is None or BF16_NAME in wanted or BF16_FROM in wanted):
                make_bf16(fx, model, inputs, log)
    log(f"transformers {transformers.__version__}, torch {torch.__version__}; wrote {OUT_DIR}")


if __name__ == "__main__":
    main()
