"""``sigmoid-qe --html report.html``: one self-contained page a person can read.

Every segment is a row: its source and, per system (each ``-t`` file), the sentence score and
the translation with each token's score as a background colour (red = low, white = high) and
the error spans marked (``<mark class="error major|minor">``, with their offsets in
``data-start``/``data-end``; an omission at the end is an empty mark). Column headers sort the
rows by score. Everything is inline (no network, no CDN); without JavaScript the page is the
same table in input order.
"""
from __future__ import annotations

import html
import json
import math
from typing import Dict, List, Optional, Sequence, Tuple

from .results import QEResult, SegmentScore

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid #ddd;padding:.35em .5em;vertical-align:top;text-align:left}
th.sortable{cursor:pointer;text-decoration:underline dotted}
td.score{font-variant-numeric:tabular-nums;white-space:nowrap}
.tok{border-radius:2px;white-space:pre-wrap}
mark.error{background:none;border-bottom:3px solid #e6a700;padding:0}
mark.error.major{border-bottom-color:#c0392b}
mark.error:empty::after{content:"\\2038";color:#c0392b;font-weight:bold}
mark.omission{background:#fde2c8;padding:0 1px}
.omitted{font-size:.9em;color:#8a4b08;margin-top:.3em}
.legend span{display:inline-block;padding:0 .4em;margin-right:.3em}
.meta{color:#666;font-size:.9em}
"""

_SCRIPT = """
document.querySelectorAll('th.sortable').forEach(function (th) {
  th.addEventListener('click', function () {
    var body = document.querySelector('#segments tbody');
    var key = th.dataset.key, up = th.dataset.dir !== 'asc';
    th.dataset.dir = up ? 'asc' : 'desc';
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = parseFloat(a.dataset[key]), y = parseFloat(b.dataset[key]);
      return up ? x - y : y - x;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""


def _colour(value: Optional[float], low: float, high: float) -> str:
    if value is None or not math.isfinite(value) or high <= low:
        return "transparent"
    share = min(1.0, max(0.0, (value - low) / (high - low)))
    return f"rgba(220,50,47,{0.75 * (1.0 - share):.3f})"


def _pieces(segment: SegmentScore, values: Sequence[Optional[float]]) -> List[Tuple[int, int, int]]:
    """(start, end, token index) of the text's pieces: token spans cut at error-span edges."""
    cuts = {0, len(segment.hypothesis)}
    for error in segment.errors or ():
        cuts.update((error.start, error.end))
    out = []
    for k, token in enumerate(segment.tokens):
        if token.start == token.end:
            continue
        inner = sorted(c for c in cuts if token.start < c < token.end)
        edges = [token.start, *inner, token.end]
        out.extend((a, b, k) for a, b in zip(edges, edges[1:]))
    return out


def render_translation(segment: SegmentScore, values: Sequence[Optional[float]], low: float,
                       high: float) -> str:
    """The translation as HTML: coloured tokens inside error marks (spans never overlap, and
    the pieces are cut at their edges, so each piece is inside one error or none)."""
    text = segment.hypothesis
    spans = [e for e in segment.errors or () if e.start < e.end]
    empty = sorted((e for e in segment.errors or () if e.start == e.end), key=lambda e: e.start)

    def mark(error) -> str:
        title = f"{error.severity} error, confidence {error.confidence:.2f}"
        return (f'<mark class="error {error.severity}" data-start="{error.start}" '
                f'data-end="{error.end}" title="{html.escape(title)}">')

    parts: List[str] = []
    current = None
    for start, end, k in _pieces(segment, values):
        while empty and empty[0].start <= start and current is None:
            parts.append(mark(empty.pop(0)) + "</mark>")
        inside = next((e for e in spans if e.start <= start and end <= e.end), None)
        if inside is not current:
            if current is not None:
                parts.append("</mark>")
            if inside is not None:
                parts.append(mark(inside))
            current = inside
        value = values[k]
        label = "n/a" if value is None else f"{value:.3f}"
        parts.append(f'<span class="tok" style="background:{_colour(value, low, high)}" '
                     f'title="{html.escape(segment.tokens[k].token)}: {label}">'
                     f"{html.escape(text[start:end])}</span>")
    if current is not None:
        parts.append("</mark>")
    parts.extend(mark(e) + "</mark>" for e in empty)  # an omission at the end
    return "".join(parts)


def render_source(source: str, errors) -> str:
    """The source with the words the reverse direction found unsupported (``source_errors``:
    non-overlapping, sorted spans) marked as omissions."""
    parts, cursor = [], 0
    for error in sorted(errors or (), key=lambda e: e.start):
        if error.start < cursor or error.start >= error.end:
            continue
        parts.append(html.escape(source[cursor:error.start]))
        parts.append(f'<mark class="omission" data-start="{error.start}" data-end="{error.end}" '
                     f'title="not in the translation ({error.severity}, confidence '
                     f'{error.confidence:.2f})">{html.escape(source[error.start:error.end])}</mark>')
        cursor = error.end
    parts.append(html.escape(source[cursor:]))
    return "".join(parts)


def render(results: Dict[str, QEResult], sources: Sequence[str], title: str = "sigmoid-qe report",
           low: float = 0.0, high: float = 1.0,
           languages: Optional[Dict[str, Sequence[Tuple[Optional[str], bool]]]] = None,
           expected: Optional[str] = None) -> str:
    """The whole page for one or several systems scored on the same sources."""
    names = list(results)
    method = results[names[0]].method
    head = ["<th class=\"sortable\" data-key=\"index\">#</th>", "<th>source</th>"]
    for k, name in enumerate(names):
        head.append(f'<th class="sortable" data-key="score{k}">{html.escape(name)} score</th>')
        head.append(f"<th>{html.escape(name)}</th>")
    rows = []
    for i, source in enumerate(sources):
        first = results[names[0]].segments[i]
        shown = render_source(source, first.source_errors) if len(names) == 1 else html.escape(source)
        cells = [f"<td>{i + 1}</td>", f'<td class="src">{shown}</td>']
        data = [f'data-index="{i}"']
        for k, name in enumerate(names):
            segment = results[name].segments[i]
            values = [getattr(t, method) for t in segment.tokens]
            if method == "entropy":
                values = [None if v is None else -v for v in values]
            data.append(f'data-score{k}="{segment.score:.6g}"')
            cells.append(f'<td class="score">{segment.score:.4f}</td>')
            omitted = ""
            if segment.source_errors:
                words = ", ".join(f"<mark class=\"omission\">{html.escape(e.text)}</mark>"
                                  for e in segment.source_errors)
                omitted = f'<div class="omitted">not translated from the source: {words}</div>'
            cells.append(f'<td class="mt" data-system="{k}">'
                         f"{render_translation(segment, values, low, high)}{omitted}</td>")
        rows.append(f"<tr {' '.join(data)}>{''.join(cells)}</tr>")
    signatures = "".join(f"<div>{html.escape(n)}: <code>{html.escape(r.signature)}</code></div>"
                         for n, r in results.items())
    legend = "".join(f'<span style="background:{_colour(v, low, high)}">{v:.2f}</span>'
                     for v in (0.0, 0.25, 0.5, 0.75, 1.0) if low == 0.0 and high == 1.0)
    errors = {name: [[e.to_dict() for e in (s.errors or [])] for s in r.segments]
              for name, r in results.items()}
    source_errors = {name: [[e.to_dict() for e in (s.source_errors or [])] for s in r.segments]
                     for name, r in results.items()}
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><div class=\"meta\">{signatures}"
            f"<div class=\"legend\">token score ({html.escape(method)}): {legend}</div>"
            "<div>Error spans are underlined (red: major, amber: minor); source words "
            "shaded orange are missing from the translation (--direction reverse/both); "
            "click a score header to sort.</div></div>"
            f"<table id=\"segments\"><thead><tr>{''.join(head)}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            f"<script type=\"application/json\" id=\"errors\">{html.escape(json.dumps(errors))}</script>"
            f"<script type=\"application/json\" id=\"source-errors\">"
            f"{html.escape(json.dumps(source_errors))}</script>"
            f"<script>{_SCRIPT}</script></body></html>\n")
