#!/usr/bin/python3
"""ctest: scripts/plot_trace.py renders its heatmaps from small hand-made traces.

usage: test_plot_trace.py PLOT_SCRIPT
Checks that every PNG is written, is a valid PNG (signature, IHDR with a nonzero size, IEND) and
that the script prints its path; that a trace of one kind, one prompt, an empty token group and
many layers is drawn; that --max-prompts limits the per-prompt files; that bad input exits 2.
Exit 77 (ctest: skipped) only when matplotlib is missing.
"""
import json
import math
import os
import tempfile

from plot_test_support import check_png, require_matplotlib, run  # noqa: E402

require_matplotlib()

GROUPS = ["first_subject", "middle_subject", "last_subject", "first_subsequent", "further", "last"]


def grid(n_tok, n_layer, p_corrupt, subject_end, bump):
    """p_restored: high at the last subject token in the middle layers and at the last token late."""
    rows = []
    for t in range(n_tok):
        row = []
        for layer in range(n_layer):
            x = layer / max(n_layer - 1, 1)
            v = p_corrupt
            if t == subject_end - 1:
                v += bump * math.exp(-((x - 0.35) ** 2) / 0.05)
            if t == n_tok - 1:
                v += bump * x
            row.append(min(v, 1.0))
        rows.append(row)
    return rows


def prompt(case_id, tokens, subject_range, kinds, n_layer, p_corrupt=0.05, answer=" Paris"):
    return {"case_id": case_id, "prompt": "".join(tokens), "subject": "".join(tokens[slice(*subject_range)]),
            "answer": answer.strip(), "answer_id": 6342, "answer_token": answer, "predicted_token": answer,
            "known": True, "ids": list(range(len(tokens))), "tokens": tokens, "subject_range": subject_range,
            "p_clean": 0.9, "p_corrupt": p_corrupt,
            "restored": {k: grid(len(tokens), n_layer, p_corrupt, subject_range[1], b)
                         for k, b in zip(kinds, (0.8, 0.5, 0.3))}}


def summary(kinds, n_layer, rows=None):
    rows = rows or {g: 2 for g in GROUPS}
    out = {}
    for k in kinds:
        groups = {}
        for i, g in enumerate(GROUPS):
            mean = [0.0] * n_layer if rows[g] == 0 else \
                [0.1 * (i + 1) * math.sin(math.pi * (layer + 1) / (n_layer + 1)) for layer in range(n_layer)]
            groups[g] = {"rows": rows[g], "mean_ie": mean}
        last_subject = groups["last_subject"]["mean_ie"]
        peak = max(range(n_layer), key=lambda j: last_subject[j])
        out[k] = {"groups": groups, "last_subject_peak_layer": peak, "last_subject_peak_ie": last_subject[peak],
                  "last_token_ie_at_peak_layer": groups["last"]["mean_ie"][peak]}
    return {"prompts": 2, "averaged": 2, "include_unknown": False, "p_clean_mean": 0.9, "p_corrupt_mean": 0.05,
            "kinds": out}


def trace(kinds, n_layer, prompts, rows=None):
    return {"schema": "editlab.trace/1", "editlab_version": "0.1.0",
            "model": {"dir": "data/toy-world/model", "n_layer": n_layer, "dtype": "float32"},
            "input": {"dataset": "facts.json", "limit": 100},
            "parameters": {"kinds": kinds, "samples": 10, "noise_level": 3.0, "embedding_std": 0.1,
                           "noise_std": 0.3, "window": 1 if n_layer < 10 else 3, "seed": 0,
                           "noise_site": "token embeddings", "answer": "first token of \" \" + answer"},
            "summary": summary(kinds, n_layer, rows), "skipped": [], "prompts": prompts}


def write(tmp, name, obj):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    return p


def expect(r, out, names):
    assert r.returncode == 0, (r.returncode, r.stderr)
    listed = r.stdout.split()
    expected = [os.path.join(out, n) for n in names]
    assert sorted(listed) == sorted(expected), (listed, expected)
    for path in expected:
        w, h = check_png(path, min_bytes=2000)
        print(f"ok {os.path.relpath(path, os.path.dirname(out))}: {w}x{h}, {os.path.getsize(path)} bytes")
    assert sorted(os.listdir(out)) == sorted(names), os.listdir(out)


with tempfile.TemporaryDirectory() as tmp:
    all3 = ["hidden", "mlp", "attn"]
    # Two prompts, three layers, all three kinds; case ids that need sanitizing or are empty.
    t = trace(all3, 3, [prompt("17", ["The", " Lou", "vre", " is", " located", " in"], [0, 3], all3, 3),
                        prompt("", ["Danielle", " Darrieux", "'s", " mother", " tongue", " is"], [0, 2], all3, 3,
                               0.2, " French")])
    t["prompts"][0]["case_id"] = "a/b c:17"
    p = write(tmp, "three.json", t)
    out = os.path.join(tmp, "three")
    expect(run(p, "--out", out), out, ["trace_000_a_b_c_17.png", "trace_001.png", "average.png",
                                       "average_lines.png"])

    # --max-prompts 1: one per-prompt figure; 0: only the averages.
    out = os.path.join(tmp, "max1")
    expect(run(p, "--out", out, "--max-prompts", "1", "--dpi", "80"), out,
           ["trace_000_a_b_c_17.png", "average.png", "average_lines.png"])
    out = os.path.join(tmp, "max0")
    expect(run(p, "--out", out, "--max-prompts", "0"), out, ["average.png", "average_lines.png"])

    # One prompt, twelve layers, only mlp, a group no prompt has (rows 0: drawn as missing).
    rows = {g: 1 for g in GROUPS}
    rows["middle_subject"] = 0
    t = trace(["mlp"], 12, [prompt("k-9", ["Paris", " is", " the", " capital", " of"], [0, 1], ["mlp"], 12)], rows)
    p = write(tmp, "mlp.json", t)
    out = os.path.join(tmp, "mlp")
    expect(run(p, "--out", out), out, ["trace_000_k-9.png", "average.png", "average_lines.png"])

    # One layer, and 48 layers with a long prompt and tokens that matplotlib would misread ($, \n).
    t = trace(all3, 1, [prompt("one", ["A", " B", " C"], [1, 2], all3, 1)])
    p = write(tmp, "one_layer.json", t)
    out = os.path.join(tmp, "one_layer")
    expect(run(p, "--out", out), out, ["trace_000_one.png", "average.png", "average_lines.png"])
    tokens = ["The", " $", "5", " bill", "\n", " features"] + [f" w{i}" for i in range(14)] + [" of"]
    t = trace(["hidden", "attn"], 48, [prompt("48", tokens, [1, 4], ["hidden", "attn"], 48)])
    p = write(tmp, "wide.json", t)
    out = os.path.join(tmp, "wide")
    expect(run(p, "--out", out), out, ["trace_000_48.png", "average.png", "average_lines.png"])
    w_wide, _ = check_png(os.path.join(out, "trace_000_48.png"))
    w_one, _ = check_png(os.path.join(tmp, "one_layer", "trace_000_one.png"))
    assert w_wide > w_one, (w_wide, w_one)  # the figure grows with the layers

    # Bad input: exit 2, one line on stderr.
    for name, content, what in (("wrong_schema.json", {"schema": "editlab.report/1"}, "not an editlab trace"),
                                ("not_json.json", "{ nope", "not valid JSON"),
                                ("missing.json", None, "cannot open")):
        p = os.path.join(tmp, name) if content is None else write(tmp, name, content)
        r = run(p, "--out", os.path.join(tmp, "bad"))
        assert r.returncode == 2, (name, r.returncode, r.stderr)
        assert r.stderr.startswith("plot_trace.py: error: ") and what in r.stderr, (name, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and r.stdout == "", (name, r.stdout, r.stderr)
        print(f"ok {name}: exit 2, {r.stderr.strip()}")
    assert not os.path.exists(os.path.join(tmp, "bad"))
print("plot_trace: all checks passed")
