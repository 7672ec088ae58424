#!/usr/bin/python3
"""Causal-tracing heatmaps (as in the ROME paper, Figure 1) from the trace.json of `editlab trace`.

usage: scripts/plot_trace.py TRACE.json --out DIR [--max-prompts N] [--dpi N]

Writes into DIR (created if missing):
  trace_<index>_<case_id>.png  for each of the first --max-prompts prompts (index: its position in
                               "prompts", 3 digits; case_id with every character other than
                               [A-Za-z0-9_-] replaced by _; trace_<index>.png when it has none): one
                               heatmap per traced kind (hidden, mlp, attn), rows the tokens (subject
                               tokens marked *), columns the layers, colour p_restored of the answer
                               token from p_corrupt (the corrupted run, lightest) upwards
  average.png                  the mean indirect effect (IE = p_restored - p_corrupt) per token group
                               and layer over the averaged prompts, one heatmap per kind; a group no
                               prompt has (rows 0) is drawn blank and labelled "(none)"
  average_lines.png            the mean IE per layer of the last subject token and of the last token,
                               one panel per kind, the last subject token's peak layer marked
Prints the path of each file written, one per line (notes on what was left out go to stderr).
Needs matplotlib (Debian: python3-matplotlib).
Exit status: 0 written, 2 bad input (a file that is not an editlab trace, a bad option),
3 matplotlib missing.
"""
import argparse
import json
import math
import os
import re
import sys
import textwrap

SCHEMA = "editlab.trace/1"
PROG = "plot_trace.py"

KIND_CMAP = {"hidden": "Purples", "mlp": "Greens", "attn": "Reds"}
KIND_STATE = {"hidden": "state", "mlp": "MLP", "attn": "Attn"}
GROUPS = [("first_subject", "First subject token"), ("middle_subject", "Middle subject tokens"),
          ("last_subject", "Last subject token"), ("first_subsequent", "First subsequent token"),
          ("further", "Further tokens"), ("last", "Last token")]
GENERIC_DIR_NAMES = {"model", "models", "hf", "checkpoint", "final", "out", "output"}


def error(message, status=2):
    print(f"{PROG}: error: {message}", file=sys.stderr)
    sys.exit(status)


def note(message):
    print(f"{PROG}: {message}", file=sys.stderr)


def is_number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def number_grid(value, what, path):
    """A list of equally long lists of numbers (or null, read as NaN) -> list of lists of floats."""
    if not isinstance(value, list) or not value or not all(isinstance(row, list) for row in value):
        error(f"{path}: {what} is not a non-empty list of rows")
    width = len(value[0])
    if width == 0 or any(len(row) != width for row in value):
        error(f"{path}: {what}: rows of different lengths or no columns")
    if not all(x is None or is_number(x) for row in value for x in row):
        error(f"{path}: {what}: not all numbers")
    return [[math.nan if x is None else float(x) for x in row] for row in value]


def load_trace(path):
    try:
        with open(path, encoding="utf-8") as f:
            trace = json.load(f)
    except OSError as e:
        error(f"{path}: cannot open the trace ({e.strerror})")
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        error(f"{path}: not valid JSON: {e}")
    schema = trace.get("schema") if isinstance(trace, dict) else None
    if schema != SCHEMA:
        error(f"{path}: not an editlab trace (schema {schema!r}, expected {SCHEMA!r})")
    for key in ("parameters", "summary"):
        if not isinstance(trace.get(key), dict):
            error(f"{path}: trace has no \"{key}\" object")
    if not isinstance(trace.get("prompts", []), list):
        error(f"{path}: \"prompts\" is not a list")
    kinds = trace["parameters"].get("kinds")
    if not isinstance(kinds, list) or not kinds or not all(k in KIND_CMAP for k in kinds):
        error(f"{path}: parameters.kinds must be a non-empty list of {', '.join(KIND_CMAP)} (got {kinds!r})")
    return trace


def validate_prompt(p, index, kinds, path):
    where = f"prompts[{index}]"
    if not isinstance(p, dict):
        error(f"{path}: {where} is not an object")
    tokens = p.get("tokens")
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
        error(f"{path}: {where}.tokens is not a non-empty list of strings")
    sr = p.get("subject_range")
    if not (isinstance(sr, list) and len(sr) == 2 and all(isinstance(x, int) for x in sr)
            and 0 <= sr[0] <= sr[1] <= len(tokens)):
        error(f"{path}: {where}.subject_range {sr!r} is not [begin, end) within the {len(tokens)} tokens")
    if not is_number(p.get("p_corrupt")):
        error(f"{path}: {where}.p_corrupt is not a number")
    restored = p.get("restored")
    if not isinstance(restored, dict):
        error(f"{path}: {where} has no \"restored\" object")
    grids = {}
    for kind in kinds:
        if kind not in restored:
            error(f"{path}: {where}.restored has no {kind!r} (parameters.kinds lists it)")
        grid = number_grid(restored[kind], f"{where}.restored.{kind}", path)
        if len(grid) != len(tokens):
            error(f"{path}: {where}.restored.{kind} has {len(grid)} rows for {len(tokens)} tokens")
        grids[kind] = grid
    return grids


def tex_safe(text):
    """Text as matplotlib shows it literally: no mathtext ($), control characters escaped."""
    text = "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in str(text))
    return text.replace("$", r"\$")


def token_label(token, max_chars=24):
    label = tex_safe(token)
    if len(label) > max_chars:
        label = label[: max_chars - 1] + "…"
    return label


def model_name(trace):
    """The model directory's last name (with its parent where that name says nothing)."""
    d = str((trace.get("model") or {}).get("dir") or "").rstrip("/\\")
    parts = [p for p in re.split(r"[/\\]", d) if p]
    if not parts:
        return "the model"
    if parts[-1].lower() in GENERIC_DIR_NAMES and len(parts) > 1:
        return "/".join(parts[-2:])
    return parts[-1]


def layer_ticks(n_layer):
    """Tick every 1, 2, 5, 10, ... layers: about ten ticks at most."""
    step = 1
    for s in (1, 2, 5, 10, 20, 50, 100):
        step = s
        if n_layer / s <= 12:
            break
    return list(range(0, n_layer, step))


def sanitize(case_id):
    return re.sub(r"[^A-Za-z0-9_-]", "_", case_id)


def heatmap(plt, np, fig, ax, values, row_labels, cmap_name, vmin, vmax, title, xlabel, cbar_label):
    data = np.ma.masked_invalid(np.asarray(values, dtype=float))
    cmap = plt.get_cmap(cmap_name).copy()
    cmap.set_bad("#e8e8e8")
    n_rows, n_layer = data.shape
    h = ax.pcolormesh(np.arange(n_layer + 1), np.arange(n_rows + 1), data, cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xlim(0, n_layer)
    ax.set_ylim(n_rows, 0)  # the first row on top, as the reference's invert_yaxis()
    ticks = layer_ticks(n_layer)
    ax.set_xticks([t + 0.5 for t in ticks])
    ax.set_xticklabels([str(t) for t in ticks])
    ax.set_yticks([i + 0.5 for i in range(n_rows)])
    ax.set_yticklabels(row_labels)
    ax.tick_params(axis="both", length=2)
    ax.set_title(title, fontsize="medium")
    ax.set_xlabel(xlabel)
    cb = fig.colorbar(h, ax=ax, fraction=0.08, pad=0.03)
    cb.set_label(cbar_label)
    return h


def value_range(grids, vmin):
    """(vmin, vmax) with vmax above vmin even when no value is (the colour scale needs a span)."""
    finite = [v for g in grids for row in g for v in row if not math.isnan(v)]
    top = max(finite) if finite else vmin
    if top <= vmin:
        top = vmin + max(1e-3, abs(vmin) * 1e-2)
    return vmin, top


def heatmap_figsize(n_kinds, n_rows, n_layer, label_chars):
    panel = max(4.0, 1.6 + 0.09 * n_layer) + 0.075 * label_chars
    height = max(2.9, 1.5 + 0.24 * n_rows)
    return n_kinds * panel, height


def save(fig, out_dir, name, written):
    path = os.path.join(out_dir, name)
    fig.savefig(path, dpi=fig.dpi, bbox_inches="tight", pad_inches=0.1)
    written.append(path)


def window_of(trace):
    w = trace["parameters"].get("window")
    return int(w) if is_number(w) else 10


def plot_prompt(plt, np, trace, index, p, grids, kinds, args, written):
    tokens = p["tokens"]
    b, e = p["subject_range"]
    labels = [token_label(t) + ("*" if b <= i < e else "") for i, t in enumerate(tokens)]
    n_layer = len(next(iter(grids.values()))[0])
    answer = tex_safe(str(p.get("answer_token", p.get("answer", ""))).strip())
    width, height = heatmap_figsize(len(kinds), len(tokens), n_layer, max(len(s) for s in labels))
    fig, axes = plt.subplots(1, len(kinds), figsize=(width, height + 0.4), dpi=args.dpi, squeeze=False,
                             layout="constrained")
    for ax, kind in zip(axes[0], kinds):
        state = KIND_STATE[kind]
        if kind == "hidden":
            xlabel = f"single restored layer within {tex_safe(model_name(trace))}"
        else:
            xlabel = f"center of interval of {window_of(trace)} restored {state} layers"
        vmin, vmax = value_range([grids[kind]], float(p["p_corrupt"]))  # each its own scale, as the reference
        heatmap(plt, np, fig, ax, grids[kind], labels, KIND_CMAP[kind], vmin, vmax,
                f"Impact of restoring {state} after corrupted input", xlabel, f"p({answer})")
    heading = f"\u201c{tex_safe(p.get('prompt', ''))}\u201d \u2192 {answer}"
    facts = []
    if is_number(p.get("p_clean")):
        facts.append(f"p clean {p['p_clean']:.3g}")
    facts.append(f"p corrupt {p['p_corrupt']:.3g}")
    if p.get("known") is False:
        facts.append(f"not known: top-1 {tex_safe(str(p.get('predicted_token', '?')).strip())}")
    if str(p.get("case_id") or ""):
        facts.append(f"case {tex_safe(p['case_id'])}")
    # Wrapped to the figure's width (about 13 characters an inch at this size), so that a long
    # prompt does not widen the picture.
    fig.suptitle(textwrap.fill(f"{heading}   ({', '.join(facts)})", max(40, int(width * 13))), fontsize="medium")
    case_id = sanitize(str(p.get("case_id") or ""))
    save(fig, args.out, f"trace_{index:03d}_{case_id}.png" if case_id else f"trace_{index:03d}.png", written)
    plt.close(fig)


def summary_kinds(trace, kinds, path):
    """{kind: ({group: (rows, [mean IE per layer])}, peak layer or None)} of the kinds the summary has."""
    got = trace["summary"].get("kinds")
    if not isinstance(got, dict):
        error(f"{path}: summary has no \"kinds\" object")
    result = {}
    for kind in kinds:
        k = got.get(kind)
        if not isinstance(k, dict):
            note(f"summary.kinds has no {kind!r}: left out of the averaged pictures")
            continue
        groups = k.get("groups")
        if not isinstance(groups, dict):
            error(f"{path}: summary.kinds.{kind} has no \"groups\" object")
        table = {}
        for g, _ in GROUPS:
            entry = groups.get(g)
            if not isinstance(entry, dict) or not is_number(entry.get("rows")):
                error(f"{path}: summary.kinds.{kind}.groups has no {g!r} with \"rows\"")
            mean = number_grid([entry.get("mean_ie")], f"summary.kinds.{kind}.groups.{g}.mean_ie", path)[0]
            table[g] = (int(entry["rows"]), mean)
        widths = {len(m) for _, m in table.values()}
        if len(widths) != 1:
            error(f"{path}: summary.kinds.{kind}: groups with different numbers of layers")
        peak = k.get("last_subject_peak_layer")
        result[kind] = (table, int(peak) if is_number(peak) and 0 <= peak < widths.pop() else None)
    return result


def plot_average(plt, np, trace, table, args, written):
    kinds = list(table)
    averaged = trace["summary"].get("averaged")
    n_text = f" ({averaged} prompt{'s' if averaged != 1 else ''})" if is_number(averaged) else ""
    grids = {}
    for kind in kinds:
        groups, _ = table[kind]
        grids[kind] = [mean if rows > 0 else [math.nan] * len(mean) for rows, mean in
                       (groups[g] for g, _ in GROUPS)]
    n_layer = len(grids[kinds[0]][0])
    label_chars = max(len(name) for _, name in GROUPS) + len(" (none)")
    width, height = heatmap_figsize(len(kinds), len(GROUPS), n_layer, label_chars)
    fig, axes = plt.subplots(1, len(kinds), figsize=(width, height), dpi=args.dpi, squeeze=False,
                             layout="constrained")
    for ax, kind in zip(axes[0], kinds):
        # Each kind's labels say which of its own groups are empty.
        groups, _ = table[kind]
        row_labels = [name if groups[g][0] > 0 else f"{name} (none)" for g, name in GROUPS]
        state = KIND_STATE[kind]
        xlabel = ("layer" if kind == "hidden"
                  else f"center of interval of {window_of(trace)} restored {state} layers")
        vmin, vmax = value_range([grids[kind]], 0.0)
        heatmap(plt, np, fig, ax, grids[kind], row_labels, KIND_CMAP[kind], vmin, vmax,
                f"Average indirect effect of {state}{n_text}", xlabel, "mean IE")
    save(fig, args.out, "average.png", written)
    plt.close(fig)


def plot_lines(plt, np, trace, table, args, written):
    kinds = list(table)
    n_layer = len(table[kinds[0]][0]["last"][1])
    fig, axes = plt.subplots(1, len(kinds), figsize=(len(kinds) * max(4.2, 2.5 + 0.06 * n_layer), 3.4),
                             dpi=args.dpi, squeeze=False, layout="constrained")
    for ax, kind in zip(axes[0], kinds):
        groups, peak = table[kind]
        color = plt.get_cmap(KIND_CMAP[kind])(0.8)
        layers = np.arange(n_layer)
        marker = "o" if n_layer <= 24 else None
        for g, label, style in (("last_subject", "last subject token", {"color": color, "linestyle": "-"}),
                                ("last", "last token", {"color": "#444444", "linestyle": "--"})):
            rows, mean = groups[g]
            if rows == 0:
                ax.plot([], [], label=f"{label} (none)", **style)
                continue
            ax.plot(layers, mean, marker=marker, markersize=3.5, linewidth=1.6, label=label, **style)
        if groups["last_subject"][0] == 0 and groups["last"][0] == 0:
            ax.text(0.5, 0.7, "no averaged prompt", transform=ax.transAxes, ha="center", va="center",
                    color="#666666")
        if peak is not None and groups["last_subject"][0] > 0:
            peak_ie = groups["last_subject"][1][peak]
            ax.axvline(peak, color=color, linewidth=0.8, linestyle=":", alpha=0.8)
            ax.plot([peak], [peak_ie], marker="*", markersize=12, color=color, markeredgecolor="black",
                    markeredgewidth=0.5, linestyle="none", label=f"peak: layer {peak}")
        state = KIND_STATE[kind]
        ax.set_title(f"Mean indirect effect of {state}", fontsize="medium")
        ax.set_xlabel("layer" if kind == "hidden"
                      else f"center of interval of {window_of(trace)} restored {state} layers")
        ax.set_ylabel("mean IE")
        ticks = layer_ticks(n_layer)
        ax.set_xticks(ticks)
        ax.set_xlim(-0.5, n_layer - 0.5)
        ax.axhline(0, color="black", linewidth=0.5)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    save(fig, args.out, "average_lines.png", written)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("trace", help="trace.json of `editlab trace`")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory for the PNG files (created if missing)")
    parser.add_argument("--max-prompts", type=int, default=10, metavar="N",
                        help="heatmaps for the first N prompts (default 10; 0: only the averages)")
    parser.add_argument("--dpi", type=int, default=120, help="resolution of the PNG files (default 120)")
    args = parser.parse_args()
    if args.max_prompts < 0:
        error(f"--max-prompts: {args.max_prompts} is negative")
    if args.dpi <= 0:
        error(f"--dpi: {args.dpi} is not positive")

    trace = load_trace(args.trace)
    kinds = trace["parameters"]["kinds"]
    prompts = trace.get("prompts", [])
    chosen = [(i, p, validate_prompt(p, i, kinds, args.trace)) for i, p in enumerate(prompts[: args.max_prompts])]
    table = summary_kinds(trace, kinds, args.trace)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:
        error("matplotlib is missing: install python3-matplotlib (scripts/setup.sh does)", 3)

    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        error(f"--out {args.out}: cannot create the directory ({e.strerror})")

    written = []
    for i, p, grids in chosen:
        plot_prompt(plt, np, trace, i, p, grids, kinds, args, written)
    if not prompts:
        note("the trace has no prompts: no per-prompt heatmaps")
    if table:
        plot_average(plt, np, trace, table, args, written)
        plot_lines(plt, np, trace, table, args, written)
    else:
        note("the summary has none of the traced kinds: no average.png, average_lines.png")
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
