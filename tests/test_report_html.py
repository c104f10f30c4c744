"""The HTML report in a real headless browser (Debian's chromium; skipped where it is absent):
the error spans in the rendered DOM are the JSON's, with JavaScript on and off."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from html.parser import HTMLParser

import pytest

from sigmoid_qe.cli import score as score_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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


class Browser:
    """Headless chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
    NUL-terminated JSON on fds 3 and 4), so the test needs nothing but chromium itself."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="chromium-")  # short: it holds a Unix socket
        to_browser, self._out = os.pipe()
        self._in, from_browser = os.pipe()

        def wire():  # the browser reads commands on fd 3 and writes replies on fd 4
            high_in, high_out = os.dup(to_browser), os.dup(from_browser)
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        # close_fds=False: fds 3 and 4 are made in the child, after the parent's fds are kept
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, "--remote-debugging-pipe",
                                      f"--user-data-dir={self.profile}", "about:blank"],
                                     close_fds=False, preexec_fn=wire,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._id, self.session = b"", 0, None

    def _message(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                raise AssertionError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, **params) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._message()
            if reply.get("id") == self._id:
                assert "error" not in reply, reply
                return reply.get("result", {})

    def wait_for(self, event: str) -> None:
        while self._message().get("method") != event:
            pass

    def open(self, url: str, javascript: bool) -> None:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable")
        self.call("Emulation.setScriptExecutionDisabled", value=not javascript)
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def html(self) -> str:
        root = self.call("DOM.getDocument", depth=-1)["root"]["nodeId"]
        return self.call("DOM.getOuterHTML", nodeId=root)["outerHTML"]

    def run(self, script: str) -> None:
        self.call("Runtime.evaluate", expression=script)

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (AssertionError, OSError):
            pass
        self.proc.wait(timeout=30)
        shutil.rmtree(self.profile, ignore_errors=True)


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
