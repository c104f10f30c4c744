"""The HTML report: its data island parses and hostile text stays inert and bidi-isolated, it
carries the signature, and in a real headless browser (Debian's chromium; skipped where it is
absent) the error spans in the rendered DOM are the JSON's, with JavaScript on and off."""
from __future__ import annotations

import json
import re
import warnings
from html.parser import HTMLParser

import pytest
from chromium_page import CHROMIUM, Page

from sigmoid_qe.cli import score as score_cli
from sigmoid_qe.report_html import render

from cli_helpers import run


class Marks(HTMLParser):
    """(system column, start, end, severity, text) of every error mark."""

    def __init__(self):
        super().__init__()
        self.marks, self.stack, self.system = [], [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "td" and "data-system" in attrs:
            self.system = int(attrs["data-system"])
        if tag == "mark":
            self.stack.append([self.system, int(attrs["data-start"]), int(attrs["data-end"]),
                               attrs["class"].split()[1], ""])

    def handle_endtag(self, tag):
        if tag == "mark":
            self.marks.append(tuple(self.stack.pop()))

    def handle_data(self, data):
        for mark in self.stack:
            mark[4] += data


class Browser(Page):
    """The shared headless Chromium page (``chromium_page.Page``), read back as HTML."""

    def html(self) -> str:
        root = self.call("DOM.getDocument", depth=-1)["root"]["nodeId"]
        return self.call("DOM.getOuterHTML", nodeId=root)["outerHTML"]

    def run(self, script: str) -> None:
        self.call("Runtime.evaluate", expression=script)


def test_html_data_island_parses_and_text_is_isolated(marian_qe):
    """A translation holding `</script>`, quotes, `&` and bidi overrides cannot open a script or
    break the JSON data island, and every text cell is bidi-isolated and wraps."""
    nasty = 'x</script><script>alert(1)</script> "q" & \u202eevil\u202c ' + "w" * 300
    result = marian_qe.score(["the cat"], [nasty], spans=True, span_threshold=(0.99, 0.5))
    page = render({"sys<&>": result}, ["the cat"])
    island = re.search(r'<script type="application/json" id="errors">(.*?)</script>', page, re.S)
    data = json.loads(island.group(1))  # what JSON.parse(el.textContent) sees
    assert list(data) == ["sys<&>"] and len(data["sys<&>"]) == 1
    assert page.count("<script") == 4  # three data islands and the script: no payload opens one
    assert 'dir="auto"' in page and "unicode-bidi:isolate" in page
    assert "overflow-wrap:anywhere" in page


def test_html_report_carries_the_signature(tiny_marian_dir, tmp_path, capsys):
    """The report names how it was scored (the signature), not an empty <code></code>."""
    (tmp_path / "s").write_text("the cat\n")
    (tmp_path / "t").write_text("o gato\n")
    code, _, err = run(score_cli, ["-s", tmp_path / "s", "-t", tmp_path / "t", "--html",
                                   tmp_path / "r.html", "--model", tiny_marian_dir, "--device",
                                   "cpu", "--quiet"], capsys)
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert "<code></code>" not in page and "|method:" in page


def row_order(page_html: str) -> list:
    return [int(i) for i in re.findall(r'<tr data-index="(\d+)"', page_html)]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_report_spans_in_the_browser_match_the_json(tiny_marian_dir, tmp_path, capsys):
    src, a, b = tmp_path / "src.en", tmp_path / "a.pt", tmp_path / "b.pt"
    src.write_text("the cat sat on the mat\na dog\nthe big red house\n", encoding="utf-8")
    a.write_text("o gato sentou no tapete\num cao azul\na casa\n", encoding="utf-8")
    b.write_text("o cao\num gato & <b>peixe</b>\n\n", encoding="utf-8")
    page, payload = tmp_path / "report.html", tmp_path / "scores.json"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = score_cli.main(["-s", str(src), "-t", str(a), str(b), "--model", tiny_marian_dir,
                               "--html", str(page), "--to-json", str(payload), "--spans",
                               "--span-threshold", "0.6,0.3", "--quiet", "--device", "cpu"])
    capsys.readouterr()
    assert code == 0
    records = json.loads(payload.read_text(encoding="utf-8"))
    expected = sorted((k, e["start"], e["end"], e["severity"], e["text"])
                      for k, path in enumerate((a, b)) for r in records[str(path)] for e in r["errors"])
    assert expected, "the threshold should give some spans"
    for path in (a, b):  # XCOMET's convention: mt[start:end] == text
        assert all(r["mt"][e["start"]:e["end"]] == e["text"] for r in records[str(path)]
                   for e in r["errors"])
    browser = Browser()
    try:
        for javascript in (True, False):
            browser.open(page.as_uri(), javascript)
            parser = Marks()
            parser.feed(browser.html())
            assert sorted(parser.marks) == expected, f"javascript={javascript}"
            if javascript:  # a click on a score header sorts the rows (lowest first)
                browser.run("document.querySelector('th[data-key=score0]').click()")
                scores = [r["score"] for r in records[str(a)]]
                assert row_order(browser.html()) == sorted(range(3), key=lambda i: scores[i])
            else:
                assert row_order(browser.html()) == [0, 1, 2]
    finally:
        browser.close()
    assert "http" not in page.read_text(encoding="utf-8").split("<body>")[1]  # nothing fetched
