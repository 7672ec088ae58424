#!/usr/bin/env python3
"""Writes tests/golden/tokenizers/prompt_continuation.json: how each family tokenizer of
tests/fixtures/tokenizers/ tokenizes a prompt, a target that continues it, and the two joined,
as transformers 4.47.1 / tokenizers 0.21.0 do. editlab's Tokenizer::encode_prompt and
encode_continuation are tested against it (tests/test_tokenizer_json.cpp).

- `prompt`: AutoTokenizer(prefix)["input_ids"] (add_special_tokens=True, the way HF-based editors
  tokenize a prompt), without the EOS that an add_eos_token tokenizer appends.
- `continuation`: " " + target through the same tokenizer.json with everything that adds a prefix
  to a text's start switched off (Prepend normalizers removed, Metaspace prepend_scheme "never",
  ByteLevel add_prefix_space false), add_special_tokens=False: the tokens of the target as they
  follow other text. Built here from tokenizers' own components, independently of editlab.
- `joined`: AutoTokenizer(prefix + " " + target), without EOS: the sequence the model reads.
- `tok_target`: tok(" " + target, add_special_tokens=False), for the record: on SentencePiece
  tokenizers it starts with a lone "▁" that `joined` does not have.

Pairs: the rewrite prompt and both targets of the first 60 records of data/toy-world/counterfact.json
plus hand-written pairs with digits, punctuation, accents and CJK.

Run:  HF_HUB_OFFLINE=1 .venv-ref/bin/python scripts/reference/make_prompt_golden.py
"""
import json
import os

from tokenizers import Tokenizer
from transformers import AutoTokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAMES = ["gpt2", "gptj", "neox", "llama2-legacy", "llama2", "llama2-eos", "llama3", "qwen2", "mistral"]
EXTRA = [("The Eiffel Tower is located in", "Paris"), ("In 1990, the price was", "12.50 dollars"),
         ("Le café de Flore est à", "Saint-Germain-des-Prés"), ("東京の首都は", "日本"),
         ("The answer is", "\"yes\""), ("Her name:", "Zoë"), ("", "Rome"), ("Apple's CEO is", "Tim Cook")]


def no_prefix(component):
    """The component with its prefix-adding settings off (recursively through Sequence)."""
    if component is None:
        return None
    kind = component.get("type")
    if kind == "Sequence":
        key = "normalizers" if "normalizers" in component else "pretokenizers"
        items = [no_prefix(c) for c in component[key]]
        component[key] = [c for c in items if c is not None]
        return component
    if kind == "Prepend":
        return None
    if kind == "Metaspace":
        component["prepend_scheme"] = "never"
    if kind == "ByteLevel":
        component["add_prefix_space"] = False
    return component


def main():
    data = json.load(open(os.path.join(ROOT, "data", "toy-world", "counterfact.json"), encoding="utf-8"))
    pairs = list(EXTRA)
    for record in data[:60]:
        rw = record["requested_rewrite"]
        prompt = rw["prompt"].replace("{}", rw["subject"])
        pairs += [(prompt, rw["target_new"]["str"]), (prompt, rw["target_true"]["str"])]
    out = {"generator": "scripts/reference/make_prompt_golden.py", "transformers": __import__("transformers").__version__,
           "tokenizers_version": __import__("tokenizers").__version__, "pairs": [list(p) for p in pairs], "tokenizers_": {}}
    for name in NAMES:
        d = os.path.join(ROOT, "tests", "fixtures", "tokenizers", name)
        tok = AutoTokenizer.from_pretrained(d)
        spec = json.loads(tok.backend_tokenizer.to_str())
        spec["normalizer"] = no_prefix(spec.get("normalizer"))
        spec["pre_tokenizer"] = no_prefix(spec.get("pre_tokenizer"))
        cont = Tokenizer.from_str(json.dumps(spec))
        drop_eos = bool(getattr(tok, "add_eos_token", False))

        def starting(text):
            ids = tok(text)["input_ids"]
            return ids[:-1] if drop_eos and ids and ids[-1] == tok.eos_token_id else ids
        rows = []
        joined_equal = 0
        for prefix, target in pairs:
            row = {"prompt": starting(prefix), "continuation": cont.encode(" " + target, add_special_tokens=False).ids,
                   "joined": starting(prefix + " " + target),
                   "tok_target": tok(" " + target, add_special_tokens=False)["input_ids"]}
            joined_equal += row["prompt"] + row["continuation"] == row["joined"]
            rows.append(row)
        out["tokenizers_"][name] = {"rows": rows, "joined_equal_prompt_plus_continuation": joined_equal,
                                    "tok_target_equal_continuation": sum(r["tok_target"] == r["continuation"]
                                                                         for r in rows)}
        print(f"{name}: joined == prompt + continuation for {joined_equal}/{len(rows)}; tok(' ' + target) == "
              f"continuation for {out['tokenizers_'][name]['tok_target_equal_continuation']}/{len(rows)}")
    out["tokenizers"] = out.pop("tokenizers_")
    path = os.path.join(ROOT, "tests", "golden", "tokenizers", "prompt_continuation.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
