#!/usr/bin/env python3
"""Tokenizer throughput, Hugging Face tokenizers against editlab, side by side on one thread.

For each fixture tokenizer (tests/fixtures/tokenizers/NAME), alternately: tokenizers'
Tokenizer.encode_batch(lines, add_special_tokens=False) with RAYON_NUM_THREADS=1 (in this process,
loading excluded), and `editlab --threads 1 tokenize --lines --summary --json` on the same file
(its in-process encode time, loading excluded). Best of --runs each. The text is the ~10 MB file
that make_tokenizer_fixtures.py writes (--bench-text; one document per line); MB = 1e6 bytes of
the lines without their line breaks.

usage: .venv-ref/bin/python scripts/reference/tokenizer_throughput.py [--editlab build/editlab]
       [--text /tmp/tokenizer-bench.txt] [--runs 3] [--out FILE.json] [NAME...]
"""
import argparse
import json
import os
import pathlib
import platform
import subprocess
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Tokenizer, __version__ as tokenizers_version  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "tokenizers"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*")
    ap.add_argument("--editlab", default=str(REPO / "build" / "editlab"))
    ap.add_argument("--text", default="/tmp/tokenizer-bench.txt")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out")
    args = ap.parse_args()
    names = args.names or sorted(p.name for p in FIXTURES.iterdir() if (p / "tokenizer.json").exists())
    with open(args.text, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    size = sum(len(line.encode("utf-8")) for line in lines)
    results = {}
    print(f"{len(lines)} lines, {size} bytes; tokenizers {tokenizers_version}; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"{'tokenizer':<15} {'HF MB/s':>8} {'editlab MB/s':>13} {'ratio':>6}")
    for name in names:
        tok = Tokenizer.from_file(str(FIXTURES / name / "tokenizer.json"))
        hf, ours = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            tok.encode_batch(lines, add_special_tokens=False)
            hf.append(time.perf_counter() - t)
            out = subprocess.run([args.editlab, "--threads", "1", "tokenize", "--model", str(FIXTURES / name), "--file",
                                  args.text, "--lines", "--summary", "--json"], check=True, capture_output=True,
                                 text=True)
            summary = json.loads(out.stdout)
            assert summary["bytes"] == size, (summary["bytes"], size)
            ours.append(summary["encode_seconds"])
        hf_mb, our_mb = size / 1e6 / min(hf), size / 1e6 / min(ours)
        results[name] = {"hf_mb_per_s": round(hf_mb, 2), "editlab_mb_per_s": round(our_mb, 2),
                         "ratio": round(our_mb / hf_mb, 2), "hf_seconds": [round(x, 3) for x in hf],
                         "editlab_seconds": [round(x, 3) for x in ours]}
        print(f"{name:<15} {hf_mb:>8.2f} {our_mb:>13.2f} {our_mb / hf_mb:>6.1f}", flush=True)
    meta = {"bytes": size, "lines": len(lines), "runs": args.runs, "tokenizers": tokenizers_version,
            "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}",
            "load_average_1min_at_end": round(os.getloadavg()[0], 2)}
    if args.out:
        pathlib.Path(args.out).write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
