#!/usr/bin/python3
"""ctest: scripts/plot_sequential.py draws metrics against the number of edits from hand-made
sequential reports; a report without steps, an unknown metric and bad --names exit 2.
Exit 77 (ctest: skipped) only when matplotlib is missing."""
import json
import os
import tempfile

from plot_test_support import check_png, require_matplotlib, run  # noqa: E402

require_matplotlib()


def agg(mean, half=0.05):
    return {"mean": mean, "ci": [mean - half, mean + half], "records": 10, "values": 30}


def report(method, decay):
    steps = []
    for edits in (10, 20, 30, 40):
        all_ = {"efficacy/success": agg(1.0 - decay * edits), "specificity/NS": agg(0.8 - decay * edits),
                "specificity/NKL": agg(0.01 * edits)}
        first = {"efficacy/success": agg(1.0 - 2 * decay * edits)}
        steps.append({"edits": edits, "records": edits, "all": all_, "first": {"records": 10, "aggregates": first}})
    return {"schema": "editlab.report/1", "config": {"method": method}, "aggregates": steps[-1]["all"],
            "sequential": {"every": 10, "first": 10, "baseline": "unedited model", "edits": 40, "steps": steps}}


with tempfile.TemporaryDirectory() as tmp:
    paths = []
    for name, r in (("rome", report("rome", 0.002)), ("ft", report("ft", 0.01))):
        p = os.path.join(tmp, f"{name}.json")
        with open(p, "w") as f:
            json.dump(r, f)
        paths.append(p)
    out = os.path.join(tmp, "seq.png")
    r = run(*paths, "--out", out)
    assert r.returncode == 0, r.stderr
    assert f"wrote {out}" in r.stdout, r.stdout
    w, h = check_png(out)
    assert w > h > 0, (w, h)  # one panel per metric, side by side: 3 present of the defaults
    print(f"ok seq.png: {w}x{h}")
    r = run(*paths, "--out", os.path.join(tmp, "one.png"), "--metrics", "specificity/NKL", "--names", "a,b")
    assert r.returncode == 0, r.stderr
    check_png(os.path.join(tmp, "one.png"))

    r = run(*paths, "--out", out, "--metrics", "loud/rate")
    assert r.returncode == 2 and "not in the reports: loud/rate" in r.stderr, (r.returncode, r.stderr)
    r = run(*paths, "--out", out, "--names", "one")
    assert r.returncode == 2 and "--names" in r.stderr, (r.returncode, r.stderr)
    flat = report("rome", 0.0)
    del flat["sequential"]
    p = os.path.join(tmp, "flat.json")
    with open(p, "w") as f:
        json.dump(flat, f)
    r = run(p, "--out", out)
    assert r.returncode == 2 and "flat.json: not a sequential run" in r.stderr, (r.returncode, r.stderr)
print("plot_sequential: all checks passed")
