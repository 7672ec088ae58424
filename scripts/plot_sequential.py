#!/usr/bin/python3
"""Metrics against the number of edits, from sequential editlab reports.

usage: scripts/plot_sequential.py REPORT.json... --out FILE.png [--names a,b,...]
                                  [--metrics m1,m2,...] [--dpi N]

Each report must come from `editlab run` with "sequential" in its config. One panel per metric
(default: efficacy/success, paraphrase/success, specificity/NS, specificity/NKL, loud/rate, the
ones present); per report two lines with their 95% intervals as bands: the mean over all records
edited so far ("all") and over the first edited records ("first N": how the earliest edits wear
off as more follow). Every point is measured against the unedited model's probes.
Prints the file written. Needs matplotlib (Debian: python3-matplotlib).
Exit status: 0 written, 2 bad input (not an editlab report, not sequential, unknown metric,
bad --names), 3 matplotlib missing.
"""
import argparse
import json
import os
import sys

SCHEMA = "editlab.report/1"
DEFAULT_METRICS = ["efficacy/success", "paraphrase/success", "specificity/NS", "specificity/NKL", "loud/rate"]


def error(message, status=2):
    print(f"plot_sequential: error: {message}", file=sys.stderr)
    sys.exit(status)


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except OSError as e:
        error(f"{path}: cannot open the report ({e.strerror})")
    except json.JSONDecodeError as e:
        error(f"{path}: not valid JSON: {e}")
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        error(f"{path}: not an editlab report (expected schema {SCHEMA!r})")
    seq = report.get("sequential")
    if not isinstance(seq, dict) or not isinstance(seq.get("steps"), list) or not seq["steps"]:
        error(f"{path}: not a sequential run (no \"sequential\" steps; set \"sequential\" in the experiment config)")
    return report


def series(steps, metric, which):
    xs, mean, lo, hi = [], [], [], []
    for step in steps:
        agg = step["all"] if which == "all" else step["first"]["aggregates"]
        if metric in agg:
            xs.append(step["edits"])
            mean.append(agg[metric]["mean"])
            lo.append(agg[metric]["ci"][0])
            hi.append(agg[metric]["ci"][1])
    return xs, mean, lo, hi


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("reports", nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--names")
    parser.add_argument("--metrics")
    parser.add_argument("--dpi", type=int, default=120)
    args = parser.parse_args()
    reports = [load(p) for p in args.reports]
    names = args.names.split(",") if args.names else [r.get("config", {}).get("method", "run") for r in reports]
    if len(names) != len(reports):
        error(f"--names has {len(names)} names for {len(reports)} reports")
    present = set()
    for r in reports:
        for step in r["sequential"]["steps"]:
            present.update(step["all"].keys())
    if args.metrics:
        metrics = args.metrics.split(",")
        missing = [m for m in metrics if m not in present]
        if missing:
            error(f"metric(s) not in the reports: {', '.join(missing)} (present: {', '.join(sorted(present))})")
    else:
        metrics = [m for m in DEFAULT_METRICS if m in present]
        if not metrics:
            error("none of the default metrics is in the reports; choose some with --metrics")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        error("matplotlib is missing (Debian: apt install python3-matplotlib)", 3)

    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for i, (report, name) in enumerate(zip(reports, names)):
            color = f"C{i}"
            steps = report["sequential"]["steps"]
            first_n = report["sequential"].get("first", "")
            for which, style in (("all", "-"), ("first", "--")):
                xs, mean, lo, hi = series(steps, metric, which)
                if not xs:
                    continue
                label = f"{name}: all edited" if which == "all" else f"{name}: first {first_n}"
                ax.plot(xs, mean, style, color=color, marker="o", markersize=3, label=label)
                ax.fill_between(xs, lo, hi, color=color, alpha=0.12 if which == "all" else 0.06)
        ax.set_title(metric)
        ax.set_xlabel("edits applied")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle("sequential editing, scored against the unedited model", fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=args.dpi)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
