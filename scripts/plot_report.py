#!/usr/bin/python3
"""Bar charts with confidence intervals from one or more editlab reports.

usage: scripts/plot_report.py REPORT.json... --out DIR [--names a,b,...] [--dpi N]

Writes, for the metrics that at least one report has (a chart without data is skipped and said
so), one bar group per report and the 95% interval of the report as the error bar:
  specificity.png   NS vs NS+ and NM vs NM+ (as in the CounterFact+ paper: Specificity+ exposes
                    what Specificity misses)
  loud.png          loud-fact rate before and after the edit (loud/rate_before, loud/rate)
  implication.png   implication success per kind, after the edit and (hatched) before it
  efficacy.png      efficacy and paraphrase success
Prints one line per file written. Needs matplotlib (Debian: python3-matplotlib).
Exit status: 0 written, 2 bad input (a file that is not an editlab report, bad --names),
3 matplotlib missing.
"""
import argparse
import json
import os
import sys

SCHEMA = "editlab.report/1"


def error(message, status=2):
    print(f"plot_report: error: {message}", file=sys.stderr)
    sys.exit(status)


def load_report(path):
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except OSError as e:
        error(f"{path}: cannot open the report ({e.strerror})")
    except json.JSONDecodeError as e:
        error(f"{path}: not valid JSON: {e}")
    if not isinstance(report, dict) or report.get("schema") != SCHEMA:
        error(f"{path}: not an editlab report (schema {report.get('schema') if isinstance(report, dict) else None!r},"
              f" expected {SCHEMA!r})")
    if not isinstance(report.get("aggregates"), dict):
        error(f"{path}: report has no \"aggregates\" object")
    return report


def path_label(path, depth):
    parts = os.path.abspath(path).split(os.sep)
    if parts[-1].endswith(".json"):
        parts[-1] = parts[-1][: -len(".json")]
    return "/".join(p for p in parts[-depth:] if p)


def default_names(reports, paths):
    """The method; where two reports share it, the method and the shortest path suffix that
    tells them apart (as `editlab report` names its columns)."""
    methods = [(r.get("config") or {}).get("method", "report") for r in reports]
    names = list(methods)
    for depth in range(1, 17):
        names = [f"{m} ({path_label(p, depth)})" if methods.count(m) > 1 else m for m, p in zip(methods, paths)]
        if len(set(names)) == len(names):
            break
    return names


def estimate(report, metric):
    """(mean, low, high) or None."""
    a = report["aggregates"].get(metric)
    if not isinstance(a, dict) or not isinstance(a.get("mean"), (int, float)):
        return None
    ci = a.get("ci")
    if isinstance(ci, list) and len(ci) == 2 and all(isinstance(x, (int, float)) for x in ci):
        return float(a["mean"]), float(ci[0]), float(ci[1])
    return float(a["mean"]), float(a["mean"]), float(a["mean"])


def grouped_bars(ax, groups, series, ylabel, title, ylim=None):
    """groups: x labels; series: [(label, [estimate or None per group], style dict)]."""
    n = len(series)
    width = 0.8 / max(n, 1)
    for s, (label, values, style) in enumerate(series):
        xs, heights, err_lo, err_hi = [], [], [], []
        for g, e in enumerate(values):
            if e is None:
                continue
            mean, lo, hi = e
            xs.append(g - 0.4 + width * (s + 0.5))
            heights.append(mean)
            err_lo.append(max(mean - lo, 0.0))
            err_hi.append(max(hi - mean, 0.0))
        if xs:
            ax.bar(xs, heights, width * 0.95, yerr=[err_lo, err_hi], capsize=3, label=label,
                   edgecolor="black", linewidth=0.5, **style)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, rotation=20 if max((len(g) for g in groups), default=0) > 10 else 0, ha="right"
                       if max((len(g) for g in groups), default=0) > 10 else "center")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if ylim:
        ax.set_ylim(*ylim)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize="small")


def any_metric(reports, metrics):
    return any(estimate(r, m) is not None for r in reports for m in metrics)


def save(fig, out_dir, name, written):
    path = os.path.join(out_dir, name)
    fig.tight_layout()
    fig.savefig(path, dpi=fig.dpi)
    written.append(path)


def plot_specificity(plt, reports, names, args, written):
    panels = [("specificity/NS", "specificity_plus/NS+", "success", "Neighborhood score: NS vs NS+"),
              ("specificity/NM", "specificity_plus/NM+", "magnitude", "Neighborhood magnitude: NM vs NM+")]
    panels = [p for p in panels if any_metric(reports, p[:2])]
    if not panels:
        return "no report has specificity/NS, NS+, NM or NM+"
    fig, axes = plt.subplots(1, len(panels), figsize=(5 + 1.2 * len(reports) * len(panels), 4), dpi=args.dpi,
                             squeeze=False)
    for ax, (plain, plus, ylabel, title) in zip(axes[0], panels):
        series = [(plain.split("/")[1], [estimate(r, plain) for r in reports], {"color": "#4c72b0"}),
                  (plus.split("/")[1], [estimate(r, plus) for r in reports], {"color": "#dd8452"})]
        grouped_bars(ax, names, series, ylabel, title, (0, 1.05) if ylabel == "success" else None)
    save(fig, args.out, "specificity.png", written)
    plt.close(fig)
    return None


def plot_pair(plt, reports, names, args, written, pair, colors, ylabel, title, filename):
    """Two metrics side by side per report: pair = [(metric, label), (metric, label)]."""
    metrics = [m for m, _ in pair]
    if not any_metric(reports, metrics):
        return "no report has " + " or ".join(metrics)
    fig, ax = plt.subplots(figsize=(4 + 1.2 * len(reports), 4), dpi=args.dpi)
    series = [(label, [estimate(r, m) for r in reports], {"color": c}) for (m, label), c in zip(pair, colors)]
    grouped_bars(ax, names, series, ylabel, title, (0, 1.05))
    save(fig, args.out, filename, written)
    plt.close(fig)
    return None


def plot_loud(plt, reports, names, args, written):
    return plot_pair(plt, reports, names, args, written,
                     [("loud/rate_before", "before the edit"), ("loud/rate", "after the edit")],
                     ["#8da0cb", "#e78ac3"], "rate (target_new is top-1)", "Loud facts: a mention of the subject",
                     "loud.png")


def implication_kinds(reports):
    kinds = []
    for r in reports:
        for metric in r["aggregates"]:
            parts = metric.split("/")
            if len(parts) == 3 and parts[0] == "implication" and parts[2] in ("success", "success_before"):
                if parts[1] not in kinds:
                    kinds.append(parts[1])
    return sorted(kinds)


def plot_implication(plt, reports, names, args, written):
    kinds = implication_kinds(reports)
    if not kinds:
        return "no report has implication/<kind>/success"
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    series = []
    for i, (r, name) in enumerate(zip(reports, names)):
        color = colors[i % len(colors)]
        after = [estimate(r, f"implication/{k}/success") for k in kinds]
        before = [estimate(r, f"implication/{k}/success_before") for k in kinds]
        if any(e is not None for e in before):
            series.append((f"{name}, before", before, {"color": color, "alpha": 0.45, "hatch": "//"}))
        series.append((f"{name}, after" if any(e is not None for e in before) else name, after, {"color": color}))
    fig, ax = plt.subplots(figsize=(3 + 0.5 * len(series) * len(kinds), 4), dpi=args.dpi)
    grouped_bars(ax, kinds, series, "success (nll_new < nll_old)", "Implication probes per kind", (0, 1.05))
    save(fig, args.out, "implication.png", written)
    plt.close(fig)
    return None


def plot_efficacy(plt, reports, names, args, written):
    return plot_pair(plt, reports, names, args, written,
                     [("efficacy/success", "efficacy"), ("paraphrase/success", "paraphrase")],
                     ["#55a868", "#c44e52"], "success (nll_new < nll_true)", "Efficacy and paraphrase",
                     "efficacy.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("reports", nargs="+", help="report.json files of `editlab run` or `editlab merge`")
    parser.add_argument("--out", required=True, help="directory for the PNG files (created if missing)")
    parser.add_argument("--names", help="bar group names, comma-separated, one per report "
                        "(default: the method, plus the path where two reports share one)")
    parser.add_argument("--dpi", type=int, default=120)
    args = parser.parse_args()

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        error("matplotlib is missing: install python3-matplotlib (scripts/setup.sh does)", 3)

    reports = [load_report(p) for p in args.reports]
    if args.names:
        names = args.names.split(",")
        if len(names) != len(reports):
            error(f"--names: {len(names)} names for {len(reports)} reports (give one per report)")
    else:
        names = default_names(reports, args.reports)
    os.makedirs(args.out, exist_ok=True)

    written = []
    for plot in (plot_specificity, plot_loud, plot_implication, plot_efficacy):
        skipped = plot(plt, reports, names, args, written)
        if skipped:
            print(f"skipped {plot.__name__[len('plot_'):]}: {skipped}")
    for path in written:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
