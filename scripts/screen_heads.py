"""Screen recipe variants on dev: train each on a 12k-pair slice, then run the dev table.

    python -m scripts.screen_heads                       # every variant, both directions
    python -m scripts.screen_heads --variants base src5 --lps pt-en

Each variant is one change from the base recipe (``train_default_heads.VARIANTS``), trained
for 3 epochs on an even 12,000-pair slice of the training split, early-stopped on the dev loss,
then scored on the dev challenge set (``dev_eval.py``). Variants that share the softmax draws
(negative count, temperature, exclusion) share one feature cache, so after the first only the
cached epochs are paid. Results go to ``runs/screen/<lp>/<variant>.dev.json``; a finished
variant is skipped on a rerun, an interrupted one resumes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.heads_data import SPLITS, make_splits
from benchmarks.qe_bench_common import dev_summary, evaluate_dev
from scripts.train_default_heads import BASE, MODELS, VARIANTS, slice_tsv, train

ROOT = Path(__file__).resolve().parents[1]

SCREEN = ROOT / "runs" / "screen"
SLICE_PAIRS = 12000


def cache_key(variant) -> str:
    merged = {**BASE, **variant}
    excl = "noexcl" if "--no-dominant-exclusion" in variant else "excl"
    return f"neg{merged['--negatives'].replace(',', '+')}-t{merged['--temperature']}-{excl}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--lps", nargs="+", choices=sorted(MODELS.values()), default=["pt-en", "en-pt"])
    parser.add_argument("--slice", type=int, default=SLICE_PAIRS)
    args = parser.parse_args(argv)
    make_splits()
    train_path = slice_tsv(SPLITS / "train.tsv", SCREEN / f"train-{args.slice}.tsv", args.slice)
    models = {lp: model for model, lp in MODELS.items()}
    for lp in args.lps:
        out = SCREEN / lp
        untrained = out / "untrained.dev.json"
        if not untrained.is_file():
            report = evaluate_dev(lp, {"untrained": "untrained"}, ROOT / "runs" / "score-cache")
            untrained.parent.mkdir(parents=True, exist_ok=True)
            untrained.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        for name in args.variants:
            result = out / f"{name}.dev.json"
            if result.is_file():
                continue
            variant = VARIANTS[name]
            run_dir = out / name
            cache = SCREEN / "cache" / f"{lp}-{cache_key(variant)}"
            code = train(models[lp], variant, run_dir, train_path, SPLITS / "dev.tsv",
                         cache_dir=cache, quiet=True)
            if code != 0:
                print(f"{lp} {name}: training failed ({code})", file=sys.stderr)
                continue
            report = evaluate_dev(lp, {name: str(run_dir)}, ROOT / "runs" / "score-cache")
            result.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
            print(f"## {lp} {name}: dev loss {report['heads'][name]['dev_loss']:.4f}\n"
                  + dev_summary(report, top=6), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
