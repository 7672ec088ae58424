#!/usr/bin/python3
"""ctest: scripts/plot_report.py renders its charts from small hand-made reports.

usage: test_plot_report.py PLOT_SCRIPT
Checks that every PNG is written, is a valid PNG (signature, IHDR with a nonzero size, IEND) and
that the script says what it wrote; that a chart without data is skipped and said so; that bad
input exits 2. Exit 77 (ctest: skipped) only when matplotlib is missing.
"""
import json
import os
import tempfile

from plot_test_support import check_png, require_matplotlib, run  # noqa: E402

require_matplotlib()


def agg(mean, half=0.05):
    return {"mean": mean, "ci": [mean - half, mean + half], "records": 10, "values": 30}


def report(method, shift):
    a = {
        "efficacy/success": agg(0.99 - shift), "efficacy/magnitude": agg(0.5),
        "paraphrase/success": agg(0.9 - shift),
        "specificity/NS": agg(0.78 - shift), "specificity/NM": agg(0.05),
        "specificity_plus/NS+": agg(0.52 - 3 * shift), "specificity_plus/NM+": agg(0.01 - shift),
        "loud/rate": agg(0.6 - shift), "loud/rate_before": agg(0.01, 0.01), "loud/logprob_gain": agg(2.0),
        "implication/symmetric/success": agg(0.3), "implication/symmetric/success_before": agg(0.1),
        "implication/transitive/success": agg(0.4 - shift), "implication/transitive/success_before": agg(0.2),
    }
    return {"schema": "editlab.report/1", "config": {"method": method}, "aggregates": a,
            "summary": {"records": 10, "ok": 10, "failed": 0}}


with tempfile.TemporaryDirectory() as tmp:
    paths = []
    for name, r in (("rome", report("rome", 0.0)), ("ft", report("ft-l", 0.1))):
        p = os.path.join(tmp, f"{name}.json")
        with open(p, "w") as f:
            json.dump(r, f)
        paths.append(p)
    out = os.path.join(tmp, "plots")
    r = run(*paths, "--out", out)
    assert r.returncode == 0, r.stderr
    for name in ("specificity.png", "loud.png", "implication.png", "efficacy.png"):
        path = os.path.join(out, name)
        assert f"wrote {path}" in r.stdout, r.stdout
        w, h = check_png(path)
        print(f"ok {name}: {w}x{h}, {os.path.getsize(path)} bytes")

    # One report without loud or implication metrics: those charts are skipped, and said so.
    bare = report("none", 0.0)
    bare["aggregates"] = {k: v for k, v in bare["aggregates"].items() if k.startswith(("efficacy", "specificity"))}
    p = os.path.join(tmp, "bare.json")
    with open(p, "w") as f:
        json.dump(bare, f)
    r = run(p, "--out", os.path.join(tmp, "bare"), "--names", "unedited")
    assert r.returncode == 0, r.stderr
    assert "skipped loud" in r.stdout and "skipped implication" in r.stdout, r.stdout
    check_png(os.path.join(tmp, "bare", "specificity.png"))
    assert not os.path.exists(os.path.join(tmp, "bare", "loud.png"))

    # Bad input: exit 2 with the file named.
    with open(os.path.join(tmp, "bad.json"), "w") as f:
        f.write("{}")
    r = run(os.path.join(tmp, "bad.json"), "--out", out)
    assert r.returncode == 2 and "bad.json: not an editlab report" in r.stderr, (r.returncode, r.stderr)
    r = run(*paths, "--out", out, "--names", "one")
    assert r.returncode == 2 and "--names" in r.stderr, (r.returncode, r.stderr)
print("plot_report: all checks passed")
