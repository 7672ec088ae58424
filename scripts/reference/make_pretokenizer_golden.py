#!/usr/bin/env python3
"""Writes tests/golden/tokenizers/pretokenize.json: the pieces that tokenizers' pre-tokenizers cut
(PreTokenizer.pre_tokenize_str), independent of any vocabulary, so that a regex or whitespace
difference shows even where the fixture vocabularies would merge it away.

Strings: every 4th golden string (strings.json) plus every White_Space character and a few look-alikes
(U+FEFF, U+200B, U+180E, U+001C..U+001F) in the contexts where regex engines disagree. Pre-tokenizers:
each fixture's own (gpt2: ByteLevel with its regex; llama3, qwen2: Split + ByteLevel; llama2,
mistral: Metaspace) plus Digits (individual and contiguous) and Split with every behaviour.
usage: .venv-ref/bin/python scripts/reference/make_pretokenizer_golden.py
"""
import json
import pathlib

from tokenizers import Tokenizer, Regex, pre_tokenizers, __version__

REPO = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "tokenizers"
FIXTURES = REPO / "tests" / "fixtures" / "tokenizers"

SPACES = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680] + list(range(0x2000, 0x200B)) + \
         [0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF, 0x200B, 0x180E, 0x1C, 0x1D, 0x1E, 0x1F]
CONTEXTS = ["a{c}b", " {c}b", "{c} b", "a {c}", "{c}{c}b", "a{c}\nb", "a {c} b", "1{c}2", "'s{c}", "{c}'s", "a{c}",
            "{c}", "x!{c}!", "{c}\r\n"]


def main():
    strings = json.loads((GOLDEN / "strings.json").read_text())[::4]  # every 4th: the file stays near 1 MB
    extra = [ctx.replace("{c}", chr(c)) for c in SPACES for ctx in CONTEXTS]
    strings = strings + [s for s in extra if s not in strings]
    cases = {}
    for name in ("gpt2", "llama3", "qwen2", "llama2", "mistral"):
        tok = Tokenizer.from_file(str(FIXTURES / name / "tokenizer.json"))
        cases[name] = {"fixture": name, "pre_tokenizer": json.loads(tok.to_str())["pre_tokenizer"],
                       "pieces": [[p for p, _ in tok.pre_tokenizer.pre_tokenize_str(s)] for s in strings]}
    extra_pts = {
        "digits-individual": pre_tokenizers.Digits(individual_digits=True),
        "digits-contiguous": pre_tokenizers.Digits(individual_digits=False),
        "metaspace-always-split": pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True),
        "bytelevel-prefix-space": pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True),
    }
    for behavior in ("removed", "isolated", "merged_with_previous", "merged_with_next", "contiguous"):
        for invert in (False, True):
            extra_pts[f"split-{behavior}{'-invert' if invert else ''}"] = pre_tokenizers.Split(
                Regex(r"\s+|\p{N}"), behavior=behavior, invert=invert)
    for name, pt in extra_pts.items():
        cases[name] = {"pre_tokenizer": json.loads(pt.__getstate__()),
                       "pieces": [[p for p, _ in pt.pre_tokenize_str(s)] for s in strings]}
    out = {"reference": f"tokenizers {__version__}: PreTokenizer.pre_tokenize_str(text) pieces",
           "strings": strings, "cases": cases}
    (GOLDEN / "pretokenize.json").write_text(encoding="utf-8", data=json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"{len(strings)} strings x {len(cases)} pre-tokenizers")


if __name__ == "__main__":
    main()
