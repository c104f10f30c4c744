"""The HTML report as a reader sees it, in headless Chromium (skipped where chromium is not
installed): the signature and system scores at the top, the embedded JSON parses back to the
--to-json records, and in a screenshot the span marks, the wrong-language marker and the
shading are where the DOM says, with the CSS switches working with JavaScript off."""
from __future__ import annotations

import json
import re
import warnings

import pytest
from chromium_page import CHROMIUM, Page

from sigmoid_qe.cli import score as score_cli
from sigmoid_qe.report_html import render
from sigmoid_qe.results import QEResult, SegmentScore, TokenScore
from sigmoid_qe.spans import ErrorSpan

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian/Ubuntu: apt-get install chromium; "
                             "what .ci/run does)")

SOURCES = ["the cat sat on the mat", "my brother bought a new car last week", "the big red house"]
SYSTEM_A = ["o gato sentou no tapete", "Mein Bruder hat letzte Woche ein neues Auto gekauft.",
            "a casa </script><b>x</b> & y"]
SYSTEM_B = ["o cao", "meu irmão comprou um carro novo", "a casa grande e vermelha"]

MAJOR, MINOR, MARKER = (192, 57, 43), (230, 167, 0), (108, 43, 217)


def near(colour, tolerance=12):
    return lambda r, g, b: all(abs(x - y) <= tolerance for x, y in zip((r, g, b), colour))


def shaded(r, g, b):
    """A token background: the report's red at some opacity over white."""
    return r >= 200 and r - g >= 6 and r - b >= 6


@pytest.fixture(scope="module")
def report(tiny_marian_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    src, a, b = folder / "src.en", folder / "a.pt", folder / "b.pt"
    for path, lines in ((src, SOURCES), (a, SYSTEM_A), (b, SYSTEM_B)):
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    page, payload = folder / "report.html", folder / "scores.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = score_cli.main(["-s", str(src), "-t", str(a), str(b), "--model", tiny_marian_dir,
                               "--lp", "en-pt", "--html", str(page), "--to-json", str(payload),
                               "--span-threshold", "0.6,0.3", "--quiet", "--device", "cpu"])
    assert code == 0
    return page, json.loads(payload.read_text(encoding="utf-8")), str(a), str(b)


def test_top_of_the_page_and_the_embedded_json(report):
    page, data, a, b = report
    text = page.read_text(encoding="utf-8")
    assert f"signature: <code>{data['signature']}</code>" in text
    for name in (a, b):
        mean = sum(r["score"] for r in data[name]) / len(data[name])
        row = re.search(rf"<tr><td>{re.escape(name)}</td><td>(-?[\d.]+)</td><td>\[(-?[\d.]+), "
                        rf"(-?[\d.]+)\]</td>", text)
        assert row and float(row[1]) == pytest.approx(mean, abs=1e-4)
        assert float(row[2]) <= float(row[1]) <= float(row[3])
    block = text.split('<script type="application/json" id="sigmoid-qe-data">')[1].split("</script>")[0]
    assert "<" not in block and "&lt;" not in block  # escaped the JSON way, not as entities
    browser = Page()
    try:
        browser.open(page.as_uri(), javascript=True)
        parsed = browser.evaluate(
            "JSON.parse(document.getElementById('sigmoid-qe-data').textContent)")
    finally:
        browser.close()
    assert parsed["signature"] == data["signature"]
    for name in (a, b):
        got = parsed["systems"][name]["segments"]
        assert [s["score"] for s in got] == pytest.approx([r["score"] for r in data[name]])
        assert [s["errors"] for s in got] == [r["errors"] for r in data[name]]
        assert [s["lang"] for s in got] == [r["lang"] for r in data[name]]
    assert [s["off_target"] for s in parsed["systems"][a]["segments"]] == [False, True, False]
    assert data[a][2]["mt"] == SYSTEM_A[2]  # the text that had to be escaped...
    assert '"a casa \\u003c/script\\u003e\\u003cb\\u003ex' in block  # ...and how it was


def hand_made():
    """Three rows whose marks are known: no error (high token scores), a major span over low
    tokens, a minor span; and a German translation flagged as off-target."""
    def segment(text, values, errors=()):
        tokens, start = [], 0
        for word, value in zip(text.split(" "), values):
            tokens.append(TokenScore(word, 1, start, start + len(word), sigmoid=value))
            start += len(word) + 1
        spans = [ErrorSpan(text[a:b], a, b, severity, 0.9) for a, b, severity in errors]
        return SegmentScore("src", text, sum(values) / len(values), tokens, errors=spans)

    a = [segment("o gato dorme bem", [0.95, 0.9, 0.85, 0.95]),
         segment("o gato comeu peixe azul", [0.9, 0.9, 0.05, 0.1, 0.9], [(6, 18, "major")]),
         segment("Der Hund schläft auf der Matte", [0.9, 0.7, 0.4, 0.9, 0.9, 0.9], [(9, 16, "minor")])]
    b = [segment("o gato dorme", [0.9, 0.9, 0.9]),
         segment("o gato comeu o peixe", [0.9, 0.9, 0.9, 0.9, 0.9]),
         segment("o cão dorme no tapete", [0.95, 0.95, 0.95, 0.95, 0.95])]
    results = {"a": QEResult(a, "sigmoid", "mean", "model:x|version:0"),
               "b": QEResult(b, "sigmoid", "mean", "model:x|version:0")}
    languages = {"a": [("pt", False), ("pt", False), ("de", True)],
                 "b": [("pt", False)] * 3}
    return render(results, ["one", "two", "three"], languages=languages, expected="pt",
                  threshold=0.6)


def test_screenshot_shows_the_marks_and_the_switches_work_without_javascript(tmp_path):
    page = tmp_path / "report.html"
    page.write_text(hand_made(), encoding="utf-8")
    browser = Page(1200, 700)
    try:
        browser.open(page.as_uri(), javascript=False)
        shot = browser.screenshot()
        majors = browser.fragments("mark.error.major:not(:empty)")
        minors = browser.fragments("mark.error.minor:not(:empty)")
        assert len(majors) == 1 and len(minors) == 1
        for pieces, colour in ((majors[0], MAJOR), (minors[0], MINOR)):
            tallest = max(bottom - top for _, top, _, bottom in pieces)
            text = [p for p in pieces if p[3] - p[1] == tallest]  # not the superscript severity
            for left, _, right, bottom in text:  # 3 pixels under the text and its padding
                underline = shot.count((left, bottom + 1, right, bottom + 4), near(colour))
                assert underline["hits"] >= 0.8 * underline["total"], (colour, underline)
            severity = [p for p in pieces if p[3] - p[1] < tallest]
            assert severity and shot.count(severity[0], near(colour, 60))["hits"] > 0
        markers = browser.boxes(".offtarget")
        assert len(markers) == 1
        marker = shot.count(markers[0], near(MARKER))
        assert marker["hits"] >= 0.4 * marker["total"]
        # only the tokens below the span threshold (0.6) are shaded: "comeu", "peixe", "schläft"
        inner = [(x0 + 1, y0 + 1, x1 - 1, y1 - 1) for x0, y0, x1, y1 in browser.boxes(".tok:not(.low)")]
        low, rest = browser.boxes(".tok.low"), inner  # (a pixel off the neighbours' edges)
        assert len(low) == 3 and len(rest) == 25
        for box in low:
            count = shot.count(box, shaded)
            assert count["hits"] >= 0.3 * count["total"]
        assert sum(shot.count(box, shaded)["hits"] for box in rest) == 0
        # the switch shades every token by its score (CSS only: JavaScript is off)
        browser.click("label[for=all-tokens]")
        after = browser.screenshot()
        lit = [after.count(box, shaded)["hits"] > 0 for box in rest]
        assert sum(lit) >= 3  # 0.85, 0.7 and the 0.9s are shaded lightly; 0.95 barely
        # switches: only the rows with error spans; only the row where the systems differ most
        assert len(browser.boxes("#segments tbody tr")) == 3
        browser.click("label[for=only-errors]")
        assert len(browser.boxes("#segments tbody tr")) == 2
        browser.click("label[for=only-errors]")
        browser.click("label[for=only-differ]")
        assert len(browser.boxes("#segments tbody tr")) == 1
    finally:
        browser.close()
