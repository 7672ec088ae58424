#!/usr/bin/env python3
"""Writes a tokenizer.json of Llama 3's size (128,000 BPE tokens + 256 special tokens, 280,000
merges, Llama 3's pipeline) to DIR, for timing how long editlab takes to load one.

The vocabulary is synthetic (all strings of 1-3 characters over a 40-letter byte-level alphabet,
then 4-letter ones), so every merge is valid; the pipeline is Llama 3's. Standard library, and scripts/make_fixture.py for the byte alphabet.
usage: /usr/bin/python3 scripts/make_big_tokenizer.py DIR
"""
import itertools
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixture import bytes_to_unicode  # noqa: E402 (GPT-2's byte alphabet)

VOCAB, MERGES, SPECIAL = 128_000, 280_000, 256
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def main():
    out = sys.argv[1]
    table = bytes_to_unicode()
    alphabet = [table[b] for b in range(256)]
    # 40 characters of two UTF-8 bytes each (Ā, ā, ...), so that the file is about as large as Llama 3's
    letters = [c for c in alphabet if ord(c) >= 0x100][:40]
    vocab = {c: i for i, c in enumerate(alphabet)}
    merges = []

    def add(token, parts):
        if token not in vocab and len(vocab) < VOCAB:
            vocab[token] = len(vocab)
        for k in range(1, len(parts)):
            if len(merges) < MERGES:
                merges.append([parts[:k], parts[k:]])

    for n in (2, 3, 4):
        for combo in itertools.product(letters, repeat=n):
            if len(vocab) >= VOCAB and len(merges) >= MERGES:
                break
            token = "".join(combo)
            if len(vocab) < VOCAB:
                add(token, token)
    added = [{"id": VOCAB + i, "content": f"<|reserved_special_token_{i}|>", "single_word": False, "lstrip": False,
              "rstrip": False, "normalized": False, "special": True} for i in range(SPECIAL)]
    added[0]["content"], added[1]["content"] = "<|begin_of_text|>", "<|end_of_text|>"
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                        {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [], "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [VOCAB],
                                                                   "tokens": ["<|begin_of_text|>"]}}}]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": vocab, "merges": merges},
    }
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    print(f"{out}/tokenizer.json: {len(vocab)} tokens + {len(added)} special, {len(merges)} merges")


if __name__ == "__main__":
    main()
