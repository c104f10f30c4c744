"""A tiny test set in the mt-metrics-eval layout, with known answers, for loader/CLI tests."""
from __future__ import annotations

from pathlib import Path

SYSTEMS = ("sysA", "sysB", "sysC")
SOURCES = ["the cat sat on the mat", "a dog runs", "the red house is big", "a fish eats"]
# human MQM: segment 3 unscored (None); sysC is best
HUMAN_SEG = {"sysA": [-5.0, -1.0, -2.0, None], "sysB": [-3.0, -1.0, -6.0, None],
             "sysC": [0.0, 0.0, -1.0, None], "refA": [0.0, 0.0, 0.0, None]}
HUMAN_SYS = {"sysA": -8.0 / 3, "sysB": -10.0 / 3, "sysC": -1.0 / 3, "refA": 0.0}
# GoodQE ranks segments like the humans; BadQE the other way round
GOOD_SEG = {"sysA": [0.1, 0.8, 0.5, 0.3], "sysB": [0.3, 0.8, 0.05, 0.2],
            "sysC": [0.9, 0.9, 0.7, 0.6], "refA": [0.95, 0.95, 0.95, 0.95]}
BAD_SEG = {s: [1.0 - v for v in values] for s, values in GOOD_SEG.items()}


def _score_lines(scores) -> str:
    return "".join(f"{s}\t{'None' if v is None else repr(v)}\n"
                   for s, values in scores.items() for v in values)


def make_tiny_mtme(root, name: str = "tiny23", lp: str = "en-de") -> Path:
    """Write the test set under ``root/name`` and return that folder."""
    folder = Path(root) / name
    for sub in ("sources", "references", f"system-outputs/{lp}", "documents", "human-scores",
                f"metric-scores/{lp}"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "sources" / f"{lp}.txt").write_text("\n".join(SOURCES) + "\n", encoding="utf-8")
    ref = ["die katze", "ein hund", "das haus", "ein fisch"]
    (folder / "references" / f"{lp}.refA.txt").write_text("\n".join(ref) + "\n", encoding="utf-8")
    for system in SYSTEMS + ("refA",):
        lines = [f"{system} {k}" for k in range(len(SOURCES))]
        if system == "sysB":
            lines[3] = "[No translation supplied]"
        (folder / "system-outputs" / lp / f"{system}.txt").write_text(
            "\n".join(lines) + "\n", encoding="utf-8")
    (folder / "documents" / f"{lp}.docs").write_text(
        "news\tdoc1\nnews\tdoc1\nsocial\tdoc2\nsocial\tdoc2\n", encoding="utf-8")
    human = folder / "human-scores"
    (human / f"{lp}.mqm.seg.score").write_text(_score_lines(HUMAN_SEG), encoding="utf-8")
    (human / f"{lp}.mqm.sys.score").write_text(
        _score_lines({s: [v] for s, v in HUMAN_SYS.items()}), encoding="utf-8")
    metrics = folder / "metric-scores" / lp
    for metric, seg in (("GoodQE-src", GOOD_SEG), ("BadQE-refA", BAD_SEG)):
        if metric.endswith("refA"):
            seg = {s: v for s, v in seg.items() if s != "refA"}
        (metrics / f"{metric}.seg.score").write_text(_score_lines(seg), encoding="utf-8")
        (metrics / f"{metric}.sys.score").write_text(
            _score_lines({s: [sum(v) / len(v)] for s, v in seg.items()}), encoding="utf-8")
    return folder


# The WMT23 table: the systems that count per lp with gold MQM (what select_systems must
# derive from the data).
WMT23_MQM_SYSTEMS = {
    "en-de": ("AIRC", "GPT4-5shot", "Lan-BridgeMT", "NLLB_Greedy", "NLLB_MBR_BLEU", "ONLINE-A",
              "ONLINE-B", "ONLINE-G", "ONLINE-M", "ONLINE-W", "ONLINE-Y", "ZengHuiMT"),
    "he-en": ("GPT4-5shot", "GTCOM_Peter", "Lan-BridgeMT", "NLLB_Greedy", "NLLB_MBR_BLEU",
              "ONLINE-A", "ONLINE-B", "ONLINE-G", "ONLINE-Y", "Samsung_Research_Philippines",
              "UvA-LTL", "ZengHuiMT", "refA"),
    "zh-en": ("ANVITA", "GPT4-5shot", "HW-TSC", "IOL_Research", "Lan-BridgeMT", "NLLB_Greedy",
              "NLLB_MBR_BLEU", "ONLINE-A", "ONLINE-B", "ONLINE-G", "ONLINE-M", "ONLINE-W",
              "ONLINE-Y", "Yishu", "ZengHuiMT"),
}
