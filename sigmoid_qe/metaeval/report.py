"""Presenting meta-evaluation records: JSON, TSV, text and LaTeX tables, and plots.

Records are the plain dicts of :func:`sigmoid_qe.metaeval.evaluation.evaluate`. JSON and TSV
keep every field at full precision (for scripts); text and LaTeX are ranked tables for
people, one per level and measure, metrics as rows and language pairs as columns, with
significance clusters and confidence intervals when they were computed. Plots need
matplotlib (the ``plot`` extra), imported only when plots are asked for.
"""
from __future__ import annotations

import io
import json
import math
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

FORMATS = ("json", "tsv", "text", "latex")

TITLES = {
    ("seg", "pearson"): "segment-level Pearson",
    ("seg", "spearman"): "segment-level Spearman",
    ("seg", "kendall"): "segment-level Kendall tau-b",
    ("seg", "acc_eq"): "segment-level acc_eq (pairwise accuracy with tie calibration, per item)",
    ("sys", "pearson"): "system-level Pearson",
    ("sys", "spearman"): "system-level Spearman",
    ("sys", "kendall"): "system-level Kendall tau-b",
    ("sys", "spa"): "system-level soft pairwise accuracy (SPA)",
    ("sys", "pairwise_accuracy"): "system-level pairwise accuracy",
    ("span", "f1 (wmt23)"): "error spans: F1, WMT23 QE task 2 (character level, half credit "
                            "for a severity mismatch)",
    ("span", "f1 (binary)"): "error spans: F1, binary (severity ignored)",
    ("word", "mcc"): "word tags: Matthews correlation (MCC)",
}
_ORDER = [("sys", "pairwise_accuracy"), ("sys", "spa"), ("sys", "pearson"), ("sys", "spearman"),
          ("sys", "kendall"), ("seg", "pearson"), ("seg", "spearman"), ("seg", "kendall"),
          ("seg", "acc_eq")]
_TSV_EXTRA = ("epsilon", "ci_low", "ci_high", "rank", "n_systems", "n_segments", "group", "lps",
              "n_pairs")


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return _clean(value.item())
    return value


def format_json(records: Sequence[dict]) -> str:
    """A JSON list of the records (NaN written as null)."""
    return json.dumps([{k: _clean(v) for k, v in r.items()} for r in records], indent=1) + "\n"


def format_tsv(records: Sequence[dict]) -> str:
    """One record per line, header first; empty cells where a field does not apply."""
    extra = [k for k in _TSV_EXTRA if any(k in r for r in records)]
    extra += sorted({k for r in records for k in r} - set(_TSV_EXTRA)
                    - {"lp", "level", "measure", "metric", "value"})
    header = ["lp", "level", "measure", "metric", "value"] + extra
    lines = ["\t".join(header)]
    for r in records:
        cells = []
        for key in header:
            value = _clean(r.get(key))
            cells.append("" if value is None else repr(value) if isinstance(value, float)
                         else str(value))
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------
# ranked tables


def _tables(records: Sequence[dict]) -> List[Tuple[Tuple[str, str], List[str], List[str],
                                                  Dict[Tuple[str, str], dict]]]:
    """(level, measure), columns (lps), rows (metrics, best first), cells."""
    groups: Dict[Tuple[str, str], Dict[Tuple[str, str], dict]] = {}
    lp_order: Dict[Tuple[str, str], List[str]] = {}
    for r in records:
        key = (r["level"], r["measure"])
        groups.setdefault(key, {})[(r["metric"], r["lp"])] = r
        lps = lp_order.setdefault(key, [])
        if r["lp"] not in lps:
            lps.append(r["lp"])
    keys = sorted(groups, key=lambda k: (_ORDER.index(k) if k in _ORDER else len(_ORDER), k))
    out = []
    for key in keys:
        cells = groups[key]
        columns = lp_order[key]
        if "all" in columns:
            columns = ["all"] + [c for c in columns if c != "all"]
        metrics = sorted({m for m, _ in cells})

        def score(metric: str, cells=cells, columns=columns) -> float:
            values = [cells[(metric, lp)]["value"] for lp in columns
                      if (metric, lp) in cells and cells[(metric, lp)]["value"] is not None]
            return float(np.mean(values)) if values else -math.inf

        rows = sorted(metrics, key=lambda m: (-score(m), m))
        out.append((key, columns, rows, cells))
    return out


def _cell_text(record: Optional[dict], digits: int = 3) -> str:
    if record is None or record.get("value") is None:
        return "--"
    text = f"{record['value']:.{digits}f}"
    if record.get("ci_low") is not None and record.get("ci_high") is not None \
            and math.isfinite(record["ci_low"]):
        text += f" [{record['ci_low']:.{digits}f}, {record['ci_high']:.{digits}f}]"
    if record.get("rank") is not None:
        text += f" ({record['rank']})"
    return text


def format_text(records: Sequence[dict]) -> str:
    """Ranked tables: metrics best first (mean over the columns), value per lp; a cluster
    rank ``(n)`` follows the value when significance was computed, ``[low, high]`` a
    95% confidence interval."""
    blocks = []
    for (level, measure), columns, rows, cells in _tables(records):
        title = TITLES.get((level, measure), f"{level}-level {measure}")
        table = [["#", "metric"] + columns]
        for position, metric in enumerate(rows, start=1):
            table.append([str(position), metric] + [_cell_text(cells.get((metric, lp)))
                                                    for lp in columns])
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        lines = [title, "=" * len(title)]
        for k, row in enumerate(table):
            parts = [row[0].rjust(widths[0]), row[1].ljust(widths[1])]
            parts += [cell.rjust(w) for cell, w in zip(row[2:], widths[2:])]
            lines.append("  ".join(parts).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n" if blocks else "no results\n"


def _latex_escape(text: str) -> str:
    return re.sub(r"([_%&#$])", r"\\\1", text)


def format_latex(records: Sequence[dict]) -> str:
    """One booktabs ``tabular`` per level and measure; values in the first significance
    cluster (or the best value, without significance) are bold."""
    blocks = []
    for (level, measure), columns, rows, cells in _tables(records):
        title = TITLES.get((level, measure), f"{level}-level {measure}")
        best = {}
        for lp in columns:
            values = [cells[(m, lp)]["value"] for m in rows
                      if (m, lp) in cells and cells[(m, lp)]["value"] is not None]
            best[lp] = max(values) if values else None
        lines = [f"% {title}", "\\begin{tabular}{l" + "r" * len(columns) + "}", "\\toprule",
                 "Metric & " + " & ".join(_latex_escape(c) for c in columns) + " \\\\",
                 "\\midrule"]
        for metric in rows:
            row = [_latex_escape(metric)]
            for lp in columns:
                record = cells.get((metric, lp))
                if record is None or record["value"] is None:
                    row.append("--")
                    continue
                text = f"{record['value']:.3f}"
                top = record.get("rank") == 1 if record.get("rank") is not None \
                    else record["value"] == best[lp]
                row.append(f"\\textbf{{{text}}}" if top else text)
            lines.append(" & ".join(row) + " \\\\")
        lines += ["\\bottomrule", "\\end{tabular}"]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def format_records(records: Sequence[dict], fmt: str) -> str:
    if fmt == "json":
        return format_json(records)
    if fmt == "tsv":
        return format_tsv(records)
    if fmt == "text":
        return format_text(records)
    if fmt == "latex":
        return format_latex(records)
    raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")


# ----------------------------------------------------------------------------------------
# plots


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", name)


def _png(figure) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def render_plots(records: Sequence[dict], lps: Iterable) -> Dict[str, bytes]:
    """PNG files by name: a scatter plot per lp and metric (metric against human, segment
    and system level) and a bar chart per lp, level and measure (with 95% intervals when
    computed). Needs matplotlib; nothing is written here."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plots need matplotlib: pip install matplotlib (from a clone: "
                          "pip install -e '.[plot]')") from None
    files: Dict[str, bytes] = {}
    by_key = {(r["lp"], r["level"], r["measure"], r["metric"]): r for r in records}
    for data in lps:
        for metric in data.metrics:
            figure = Figure(figsize=(9, 4))
            for axis, level in zip(figure.subplots(1, 2), ("seg", "sys")):
                gold, values, systems = _level_scores(data, metric, level)
                if gold is None:
                    axis.set_axis_off()
                    continue
                keep = ~np.isnan(gold) & ~np.isnan(values)
                axis.scatter(values[keep], gold[keep], s=4 if level == "seg" else 16,
                             alpha=0.3 if level == "seg" else 0.9)
                if level == "sys":
                    for name, x, y in zip(systems, values, gold):
                        axis.annotate(name, (x, y), fontsize=6)
                pearson = by_key.get((data.lp, level, "pearson", metric))
                label = f" (r={pearson['value']:.3f})" if pearson and pearson["value"] is not None \
                    else ""
                axis.set_title(f"{data.lp} {level}-level{label}", fontsize=9)
                axis.set_xlabel(metric)
                axis.set_ylabel("human")
            files[f"scatter-{_safe(data.lp)}-{_safe(metric)}.png"] = _png(figure)
    groups: Dict[Tuple[str, str, str], List[dict]] = {}
    for r in records:
        if r["value"] is not None:
            groups.setdefault((r["lp"], r["level"], r["measure"]), []).append(r)
    for (lp, level, measure), rows in sorted(groups.items()):
        rows = sorted(rows, key=lambda r: -r["value"])
        figure = Figure(figsize=(max(4, 0.3 * len(rows) + 2), 4))
        axis = figure.subplots()
        values = [r["value"] for r in rows]
        errors = None
        if all(r.get("ci_low") is not None and r.get("ci_high") is not None for r in rows):
            errors = np.array([[max(0.0, r["value"] - r["ci_low"]) for r in rows],
                               [max(0.0, r["ci_high"] - r["value"]) for r in rows]])
        axis.bar(range(len(rows)), values, yerr=errors, capsize=2)
        axis.set_xticks(range(len(rows)))
        axis.set_xticklabels([r["metric"] for r in rows], rotation=90, fontsize=6)
        axis.set_title(f"{lp}: {TITLES.get((level, measure), measure)}", fontsize=9)
        files[f"bars-{_safe(lp)}-{level}-{measure}.png"] = _png(figure)
    return files


def _level_scores(data, metric: str, level: str):
    if level == "seg" and data.seg_gold is not None and metric in data.seg_metrics:
        return data.seg_gold.ravel(), data.seg_metrics[metric].ravel(), None
    if level == "sys" and data.sys_gold is not None and metric in data.sys_metrics:
        return data.sys_gold, data.sys_metrics[metric], data.sys_systems
    return None, None, None
