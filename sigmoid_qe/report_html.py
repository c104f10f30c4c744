"""``sigmoid-qe --html report.html``: one self-contained page a person can read.

At the top: the signature and each system's score with a 95% bootstrap confidence interval, how
many segments have error spans and how many translations are in the wrong language. Then every
segment is a row: its source and, per system (each ``-t`` file), the sentence score and the
translation. Only the tokens the error spans cover (with ``--span-threshold``: those scoring
below it) are shaded (red, darker = lower); a switch shades every token by its score (each
token's score is in its tooltip). Error spans are marked (``<mark class="error major|minor">``,
offsets in ``data-start``/``data-end``, the severity written after the span; an omission at the
end is an empty mark); a translation in the wrong language gets a marker (``.offtarget``).
Switches show only the rows with errors, or only the rows where the systems differ most; column
headers sort the rows. Everything is inline (no network). The switches are CSS (checkboxes), so
they work with JavaScript off; sorting needs it. The scores, spans and languages are also
embedded as JSON (``<script type="application/json" id="sigmoid-qe-data">``; the islands
``errors`` and ``source-errors`` of earlier reports stay).
"""
from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .languages import describe_language
from .results import QEResult, SegmentScore

#: Share of the rows shown by "rows where the systems differ most" (at least one).
DIFFER_SHARE = 0.1
#: Bootstrap resamples of the system scores' confidence interval (seeded).
BOOTSTRAP = 1000

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}table{border-collapse:collapse}
#segments{width:100%}
th,td{border-bottom:1px solid #ddd;padding:.35em .5em;vertical-align:top;text-align:start;
overflow-wrap:anywhere}
th.sortable{cursor:pointer;text-decoration:underline dotted}
td.score,table.systems td{font-variant-numeric:tabular-nums;white-space:nowrap}
.tok{border-radius:2px;white-space:pre-wrap;unicode-bidi:isolate}
.tok.low,#all-tokens:checked~table .tok{background:var(--shade)}
mark.error{background:none;color:inherit;border-bottom:3px solid #e6a700;padding:0 0 1px}
mark.error.major{border-bottom-color:#c0392b}
mark.error::after{content:attr(data-severity);font-size:.68em;vertical-align:super;
  color:#b07d00;margin-left:1px}
mark.error.major::after{color:#c0392b}
mark.error:empty{border-bottom:none}
mark.error:empty::after{content:"\\2038" attr(data-severity);font-weight:bold}
mark.omission{background:#fde2c8;padding:0 1px}
.omitted{font-size:.9em;color:#8a4b08;margin-top:.3em}
.offtarget{display:inline-block;background:#6c2bd9;color:#fff;border-radius:3px;
  padding:0 .4em;margin-right:.4em;font-size:.85em}
.legend span{display:inline-block;padding:0 .4em;margin-right:.3em}
.meta{color:#555;font-size:.9em}.meta code{color:#222}
.controls label{margin-right:1.2em}
#only-errors:checked~table tbody tr:not(.has-errors){display:none}
#only-differ:checked~table tbody tr:not(.differs){display:none}
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


def _pieces(segment: SegmentScore, values: Sequence[Optional[float]]) -> List[Tuple[int, int, Optional[int]]]:
    """(start, end, token index) of the text's pieces: token spans, and the text between them
    (index None: e.g. spaces no token covers), cut at error-span edges."""
    cuts = {0, len(segment.hypothesis)}
    for error in segment.errors or ():
        cuts.update((error.start, error.end))
    spans: List[Tuple[int, int, Optional[int]]] = []
    cursor = 0
    for k, token in sorted(enumerate(segment.tokens), key=lambda kv: kv[1].start):
        start = max(token.start, cursor)
        if token.end <= start:
            continue
        if start > cursor:
            spans.append((cursor, start, None))
        spans.append((start, token.end, k))
        cursor = token.end
    if cursor < len(segment.hypothesis):
        spans.append((cursor, len(segment.hypothesis), None))
    out = []
    for first, last, k in spans:
        inner = sorted(c for c in cuts if first < c < last)
        edges = [first, *inner, last]
        out.extend((a, b, k) for a, b in zip(edges, edges[1:]))
    return out


def render_translation(segment: SegmentScore, values: Sequence[Optional[float]], low: float,
                       high: float, threshold: Optional[float] = None) -> str:
    """The translation as HTML: tokens inside error marks (spans never overlap, and the
    pieces are cut at their edges, so each piece is inside one error or none). Every token
    carries its colour (``--shade``); only those below ``threshold`` (without one: those
    inside an error span, what the span model marks) are shown shaded (class ``low``) unless
    the page's "every token" switch is on."""
    text = segment.hypothesis
    spans = [e for e in segment.errors or () if e.start < e.end]
    empty = sorted((e for e in segment.errors or () if e.start == e.end), key=lambda e: e.start)

    def mark(error) -> str:
        title = f"{error.severity} error, confidence {error.confidence:.2f}"
        return (f'<mark class="error {error.severity}" data-start="{error.start}" '
                f'data-end="{error.end}" data-severity="{error.severity}" '
                f'title="{html.escape(title)}">')

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
        if k is None:
            parts.append(html.escape(text[start:end]))
            continue
        value = values[k]
        label = "n/a" if value is None else f"{value:.3f}"
        shaded = ((inside is not None) if threshold is None else
                  (value is not None and math.isfinite(value) and value < threshold))
        parts.append(f'<span class="tok{" low" if shaded else ""}" '
                     f'style="--shade:{_colour(value, low, high)}" '
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


def json_for_html(data) -> str:
    """JSON that can sit inside ``<script type="application/json">``: ``<``, ``>`` and ``&``
    escaped the JSON way (``\\u003c``...), so ``</script>`` cannot end the block and
    ``JSON.parse(element.textContent)`` gives ``data`` back (HTML entities would not be
    decoded there); non-finite numbers become null."""
    text = json.dumps(_finite(data), ensure_ascii=False, allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def system_interval(scores: Sequence[float], resamples: int = BOOTSTRAP,
                    seed: int = 12345) -> Tuple[float, float, float]:
    """(mean, low, high): the system score and its 95% percentile-bootstrap interval over
    segments (NaN scores left out; a single segment has no interval)."""
    import numpy as np
    values = np.asarray([v for v in scores if math.isfinite(v)], dtype=np.float64)
    if values.size == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(values.mean())
    if values.size == 1:
        return mean, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, (resamples, values.size))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return mean, float(low), float(high)


def _token_values(segment: SegmentScore, method: str) -> List[Optional[float]]:
    values = [getattr(t, method, None) for t in segment.tokens]
    if method == "entropy":
        values = [None if v is None else -v for v in values]
    return values


def _spreads(results: Dict[str, QEResult], count: int) -> List[float]:
    """Per row, the highest minus the lowest system score."""
    out = []
    for i in range(count):
        scores = [r.segments[i].score for r in results.values()]
        finite = [x for x in scores if math.isfinite(x)]
        out.append(max(finite) - min(finite) if finite else 0.0)
    return out


@dataclass(frozen=True)
class _View:
    """What every part of the page reads: the systems, the method their tokens are shaded by,
    the shading scale and threshold, and the language check."""

    results: Dict[str, QEResult]
    names: List[str]
    method: str
    low: float
    high: float
    threshold: Optional[float]
    languages: Dict[str, Sequence[Tuple[Optional[str], bool]]]
    expected: Optional[str]

    @property
    def several(self) -> bool:
        return len(self.names) > 1


def render(results: Dict[str, QEResult], sources: Sequence[str], title: str = "sigmoid-qe report",
           low: float = 0.0, high: float = 1.0,
           languages: Optional[Dict[str, Sequence[Tuple[Optional[str], bool]]]] = None,
           expected: Optional[str] = None, threshold: Optional[float] = None) -> str:
    """The whole page for one or several systems scored on the same sources.

    ``languages``: per system, (detected language, off-target) of each translation;
    ``expected``: the target language; ``threshold``: the calibrated (minor) span threshold
    on the token scores, below which a token is shaded."""
    names = list(results)
    view = _View(results, names, results[names[0]].method, low, high, threshold,
                 languages or {}, expected)
    summary, data_systems = _summary_rows(view)
    signatures = list(dict.fromkeys(r.signature for r in results.values()))
    # the two islands of earlier reports, kept for their readers: per system, each segment's
    # error spans and source-side omissions
    errors = {name: [[e.to_dict() for e in (s.errors or [])] for s in r.segments]
              for name, r in results.items()}
    source_errors = {name: [[e.to_dict() for e in (s.source_errors or [])] for s in r.segments]
                     for name, r in results.items()}
    page_data = {"signature": signatures[0] if len(signatures) == 1 else signatures,
                 "method": view.method, "aggregate": results[names[0]].aggregate,
                 "target_language": expected, "span_threshold": threshold,
                 "systems": data_systems}
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><div class=\"meta\">{_signature_html(signatures)}</div>"
            '<table class="systems"><thead><tr><th>system</th><th>score</th><th>95% CI '
            "(bootstrap)</th><th>segments with errors</th><th>wrong language</th></tr></thead>"
            f"<tbody>{''.join(summary)}</tbody></table>"
            f"{_legend(view)}"
            f"<main class=\"controls\">{''.join(_controls(view.several))}"
            f"<table id=\"segments\"><thead><tr>{''.join(_header_cells(view))}</tr></thead>"
            f"<tbody>{''.join(_segment_rows(view, sources))}</tbody></table></main>"
            f"<script type=\"application/json\" id=\"sigmoid-qe-data\">{json_for_html(page_data)}"
            "</script>"
            f"<script type=\"application/json\" id=\"errors\">{json_for_html(errors)}</script>"
            f"<script type=\"application/json\" id=\"source-errors\">"
            f"{json_for_html(source_errors)}</script>"
            f"<script>{_SCRIPT}</script></body></html>\n")


def _header_cells(view: _View) -> List[str]:
    """The segment table's header: row number, source, the spread, each system's two columns."""
    head = ['<th class="sortable" data-key="index">#</th>', "<th>source</th>"]
    if view.several:
        head.append('<th class="sortable" data-key="spread" title="highest minus lowest system '
                    'score">systems differ by</th>')
    for k, name in enumerate(view.names):
        head.append(f'<th class="sortable" data-key="score{k}">{html.escape(name)} score</th>')
        head.append(f"<th>{html.escape(name)}</th>")
    return head


def _segment_rows(view: _View, sources: Sequence[str]) -> List[str]:
    """One row per source; with several systems, the rows where they differ most are marked."""
    spreads = _spreads(view.results, len(sources))
    differ = set()
    if view.several and sources:
        k = max(1, math.ceil(DIFFER_SHARE * len(sources)))
        differ = set(sorted(range(len(sources)), key=lambda i: (-spreads[i], i))[:k])
    return [_segment_row(view, i, source, spreads[i], i in differ)
            for i, source in enumerate(sources)]


def _segment_row(view: _View, i: int, source: str, spread: float, differs: bool) -> str:
    first = view.results[view.names[0]].segments[i]
    shown = (render_source(source, first.source_errors) if not view.several
             else html.escape(source))
    cells = [f"<td>{i + 1}</td>", f'<td class="src" dir="auto"><bdi>{shown}</bdi></td>']
    if view.several:
        cells.append(f'<td class="score">{spread:.4f}</td>')
    data = [f'data-index="{i}"', f'data-spread="{spread:.6g}"']
    classes = []
    for k, name in enumerate(view.names):
        segment = view.results[name].segments[i]
        if segment.errors:
            classes.append("has-errors")
        lang, off = (view.languages.get(name) or [(None, False)] * (i + 1))[i]
        data.append(f'data-score{k}="{segment.score:.6g}"')
        cells.append(f'<td class="score">{segment.score:.4f}</td>')
        if off:
            classes.append("off-target")
        cells.append(_translation_cell(view, k, segment, lang, off))
    if differs:
        classes.append("differs")
    attrs = " ".join(data)
    if classes:
        attrs += f' class="{" ".join(dict.fromkeys(classes))}"'
    return f"<tr {attrs}>{''.join(cells)}</tr>"


def _translation_cell(view: _View, k: int, segment: SegmentScore, lang: Optional[str],
                      off: bool) -> str:
    """System ``k``'s translation: the wrong-language marker, the shaded tokens with their error
    spans, and the source words it leaves out."""
    marker = ""
    if off:
        marker = (f'<span class="offtarget" data-lang="{html.escape(str(lang))}" '
                  f'title="the translation is not in {describe_language(view.expected)}">'
                  f"\u26a0 {html.escape(describe_language(lang))}, not "
                  f"{html.escape(describe_language(view.expected))}</span>")
    omitted = ""
    if segment.source_errors:
        words = ", ".join(f"<mark class=\"omission\">{html.escape(e.text)}</mark>"
                          for e in segment.source_errors)
        omitted = f'<div class="omitted">not translated from the source: {words}</div>'
    translation = render_translation(segment, _token_values(segment, view.method), view.low,
                                     view.high, view.threshold)
    return (f'<td class="mt" dir="auto" data-system="{k}">{marker}{translation}'
            f"{omitted}</td>")


def _summary_rows(view: _View) -> Tuple[List[str], Dict[str, object]]:
    """The systems table (score, interval, segments with errors, wrong language) and the same
    per system for the page's JSON."""
    summary = []
    data_systems = {}
    for name, result in view.results.items():
        mean, lo, hi = system_interval(result.scores)
        with_errors = sum(bool(s.errors) for s in result.segments)
        flags = view.languages.get(name) or []
        off_count = sum(bool(off) for _, off in flags)
        ci = f"[{lo:.4f}, {hi:.4f}]" if math.isfinite(lo) else "n/a"
        summary.append(f"<tr><td>{html.escape(name)}</td><td>{mean:.4f}</td><td>{ci}</td>"
                       f"<td>{with_errors} of {len(result)}</td><td>{off_count}</td></tr>")
        data_systems[name] = {
            "score": mean, "ci95": [lo, hi], "signature": result.signature,
            "segments": [{"score": s.score,
                          "errors": [e.to_dict() for e in (s.errors or [])],
                          "source_errors": [e.to_dict() for e in (s.source_errors or [])],
                          "lang": flags[j][0] if j < len(flags) else None,
                          "off_target": bool(flags[j][1]) if j < len(flags) else False}
                         for j, s in enumerate(result.segments)]}
    return summary, data_systems


def _signature_html(signatures: List[Optional[str]]) -> str:
    return "".join(f"<div>signature: <code>{html.escape(sig or 'n/a')}</code></div>"
                   for sig in signatures)


def _legend(view: _View) -> str:
    """The shading scale and how to read the marks."""
    below = (f"below the calibrated span threshold ({view.threshold:.3g})"
             if view.threshold is not None else "")
    legend = "".join(f'<span style="background:{_colour(v, view.low, view.high)}">{v:.2f}</span>'
                     for v in (0.0, 0.25, 0.5, 0.75, 1.0) if view.low == 0.0 and view.high == 1.0)
    return (f"<div class=\"meta\"><div class=\"legend\">token score ({html.escape(view.method)}), "
            f"shaded {below or 'on request'}: {legend}</div>"
            "<div>Error spans are underlined, severity after them (red: major, amber: minor); "
            "source words shaded orange are missing from the translation (--direction "
            "reverse/both); a purple marker flags a translation in the wrong language; "
            "click a score header to sort.</div></div>")


def _controls(several: bool) -> List[str]:
    controls = ['<input type="checkbox" id="only-errors"><label for="only-errors">only rows '
                "with error spans</label>"]
    if several:
        controls.append('<input type="checkbox" id="only-differ"><label for="only-differ">only '
                        f"rows where the systems differ most (top {DIFFER_SHARE:.0%})</label>")
    controls.append('<input type="checkbox" id="all-tokens"><label for="all-tokens">shade '
                    "every token by its score</label>")
    return controls
