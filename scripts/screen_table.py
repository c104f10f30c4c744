"""The screening table: every recipe variant's dev numbers side by side (from screen_heads.py).

    python -m scripts.screen_table --lp pt-en > runs/screen/pt-en.md

One row per variant found in ``runs/screen/<lp>/``: dev loss, then the dev challenge set
(error detection over all kinds, its weakest kinds, alternative tolerance) for the head's
sigmoid mean and sum of logs, and the candidate ``select_scoring.py``'s rule would pick for
that head, with its worst margin to the rule's targets (softmax mean, the untrained head, the
softmax log-prob sum). The reference rows (softmax, untrained head) close the table.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from scripts.select_scoring import choose

ROOT = Path(__file__).resolve().parents[1]

SCREEN = ROOT / "runs" / "screen"


def row(name: str, results, dev_loss) -> list:
    det = lambda key: results[key]["detection"]  # noqa: E731
    tol = lambda key: results[key]["tolerance"]["both"]  # noqa: E731
    mean, prod = f"sigmoid[{name}] mean", f"sigmoid[{name}] prod"
    best, _ = choose(results, name)
    eligible, _, worst, *_, label = best
    pick = label.replace(f"[{name}]", "")
    return [name, f"{dev_loss:.4f}", det(mean)["all"], det(mean)["untranslated"],
            det(mean)["deletion"], tol(mean), det(prod)["all"], tol(prod),
            f"{pick}{' (eligible)' if eligible else ''}", det(label)["all"], tol(label), worst]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lp", default="pt-en")
    parser.add_argument("--extra", action="append", default=[], metavar="HEAD=JSON",
                        help="also a head from a dev_eval.py --json report (e.g. the shipped one)")
    args = parser.parse_args(argv)
    folder = SCREEN / args.lp
    untrained = json.loads((folder / "untrained.dev.json").read_text(encoding="utf-8"))["results"]
    rows = []
    for path in sorted(folder.glob("*.dev.json")):
        name = path.name[: -len(".dev.json")]
        if name == "untrained":
            continue
        report = json.loads(path.read_text(encoding="utf-8"))
        results = {**untrained, **report["results"]}
        rows.append(row(name, results, report["heads"][name]["dev_loss"]))
    for spec in args.extra:
        name, path = spec.split("=", 1)
        report = json.loads(Path(path).read_text(encoding="utf-8"))
        rows.append(row(name, {**untrained, **report["results"]}, report["heads"][name]["dev_loss"]))
    rows.sort(key=lambda r: -(r[9] + r[10]))
    headers = ["variant", "dev loss", "sig mean det", "untransl.", "deletion", "sig mean tol",
               "sig sum-log det", "sig sum-log tol", "rule's pick", "pick det", "pick tol",
               "worst margin"]
    print("| " + " | ".join(headers) + " |")
    print("|---|" + "---:|" * (len(headers) - 1))
    for r in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in r) + " |")
    for key in ("softmax mean", "softmax prod", "softmax mean-log", "boosted mean",
                "sigmoid[untrained] mean"):
        d, t = untrained[key]["detection"], untrained[key]["tolerance"]["both"]
        print(f"| *{key}* | | {d['all']:.3f} | {d['untranslated']:.3f} | {d['deletion']:.3f} "
              f"| {t:.3f} | | | | | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
