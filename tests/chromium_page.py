"""A headless Chromium page for tests, driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``: NUL-terminated JSON on fds 3 and 4), with screenshots decoded
to pixels by a small PNG reader (no imaging library needed)."""
from __future__ import annotations

import base64
import json
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from typing import Dict, List, Tuple

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1"]


class Page:
    def __init__(self, width: int = 1200, height: int = 800):
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        to_browser, self._out = os.pipe()
        self._in, from_browser = os.pipe()

        def wire():
            high_in, high_out = os.dup(to_browser), os.dup(from_browser)
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)

        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, "--remote-debugging-pipe",
                                      f"--window-size={width},{height}",
                                      f"--user-data-dir={self.profile}", "about:blank"],
                                     close_fds=False, preexec_fn=wire,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._id, self.session = b"", 0, None
        self.size = (width, height)

    def _message(self) -> dict:
        while b"\0" not in self._buffer:
            chunk = os.read(self._in, 1 << 16)
            if not chunk:
                raise AssertionError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, **params) -> dict:
        """The result of a DevTools command (raises AssertionError with the error)."""
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

    def open(self, url: str, javascript: bool) -> None:
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable")
        width, height = self.size
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        self.call("Emulation.setScriptExecutionDisabled", value=not javascript)
        self.call("Page.navigate", url=url)
        while self._message().get("method") != "Page.loadEventFired":
            pass

    def evaluate(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression,
                         returnByValue=True)["result"].get("value")

    def boxes(self, selector: str) -> List[Tuple[int, int, int, int]]:
        """(left, top, right, bottom) of the border box of each element ``selector`` finds
        that is rendered (works with JavaScript off: DOM domain only)."""
        root = self.call("DOM.getDocument", depth=-1)["root"]["nodeId"]
        out = []
        for node in self.call("DOM.querySelectorAll", nodeId=root, selector=selector)["nodeIds"]:
            try:
                quad = self.call("DOM.getBoxModel", nodeId=node)["model"]["border"]
            except AssertionError:  # not rendered (display: none)
                continue
            xs, ys = quad[0::2], quad[1::2]
            out.append((round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys))))
        return out

    def fragments(self, selector: str) -> List[List[Tuple[int, int, int, int]]]:
        """Per rendered element, the content box of each of its line fragments (an inline
        element that wraps has one per line)."""
        root = self.call("DOM.getDocument", depth=-1)["root"]["nodeId"]
        out = []
        for node in self.call("DOM.querySelectorAll", nodeId=root, selector=selector)["nodeIds"]:
            try:
                quads = self.call("DOM.getContentQuads", nodeId=node)["quads"]
            except AssertionError:
                continue
            boxes = []
            for quad in quads:
                xs, ys = quad[0::2], quad[1::2]
                boxes.append((round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys))))
            if boxes:
                out.append(boxes)
        return out

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element (no page JavaScript needed)."""
        left, top, right, bottom = self.boxes(selector)[0]
        x, y = (left + right) / 2, (top + bottom) / 2
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def screenshot(self) -> Pixels:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        return Pixels(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (AssertionError, OSError):
            pass
        self.proc.wait(timeout=30)
        shutil.rmtree(self.profile, ignore_errors=True)


class Pixels:
    """An 8-bit RGB(A) PNG, decoded: ``pixel(x, y)`` -> (r, g, b)."""

    def __init__(self, png: bytes):
        assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
        pos, chunks, header = 8, [], None
        while pos < len(png):
            length, kind = struct.unpack(">I4s", png[pos:pos + 8])
            body = png[pos + 8:pos + 8 + length]
            if kind == b"IHDR":
                header = struct.unpack(">IIBBBBB", body)
            elif kind == b"IDAT":
                chunks.append(body)
            pos += 12 + length
        self.width, self.height, depth, colour, _, _, interlace = header
        assert depth == 8 and colour in (2, 6) and interlace == 0, header
        self.channels = 3 if colour == 2 else 4
        raw = zlib.decompress(b"".join(chunks))
        stride = self.width * self.channels
        rows: List[bytearray] = []
        previous = bytearray(stride)
        for y in range(self.height):
            start = y * (stride + 1)
            kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
            self._unfilter(kind, line, previous, self.channels)
            rows.append(line)
            previous = line
        self.rows = rows

    @staticmethod
    def _unfilter(kind: int, line: bytearray, up: bytearray, bpp: int) -> None:
        if kind == 0:
            return
        if kind == 2:
            line[:] = bytes((a + b) & 255 for a, b in zip(line, up))
            return
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 3:
                line[i] = (line[i] + ((left + up[i]) >> 1)) & 255
            else:  # 4: Paeth
                upper_left = up[i - bpp] if i >= bpp else 0
                p = left + up[i] - upper_left
                pa, pb, pc = abs(p - left), abs(p - up[i]), abs(p - upper_left)
                pred = left if pa <= pb and pa <= pc else (up[i] if pb <= pc else upper_left)
                line[i] = (line[i] + pred) & 255

    def pixel(self, x: int, y: int) -> Tuple[int, int, int]:
        row, k = self.rows[y], x * self.channels
        return row[k], row[k + 1], row[k + 2]

    def count(self, box: Tuple[int, int, int, int], test) -> Dict[str, int]:
        """How many pixels inside ``box`` pass ``test(r, g, b)``, of how many."""
        left, top, right, bottom = box
        hits = total = 0
        for y in range(max(0, top), min(self.height, bottom)):
            for x in range(max(0, left), min(self.width, right)):
                total += 1
                hits += bool(test(*self.pixel(x, y)))
        return {"hits": hits, "total": total}
