"""Token arrays for the span dev protocol, scored once and cached.

    python -m benchmarks.span_data            # BioMQM round one + synthetic dev + FLORES test

Every (source, translation) pair of the span protocol is scored once per direction with the
shipped head: forward (the pair's model scores the translation) and reverse (the opposite
model scores the source given the translation), with every token statistic the word-level
span model reads (sigmoid, softmax, entropy, BoostedProb), and cached in ``runs/span-cache``
(JSON, keyed by model, head fingerprint and the package's scoring code), so that every
candidate of ``benchmarks/span_dev.py`` comes from the same arrays.

Sets:
* ``biomqm``: BioMQM round one (pt-en MT systems, pt-en references, en-pt references) with
  the human error spans (neutral dropped, critical = major): the dev set for spans.
* ``synthetic-dev``: originals of the heads' dev split and one single-error copy of each
  (``replacement``, ``number``, ``negation``: substitutions; a seeded sample): the second
  criterion.
* ``synthetic-train``: the same on the heads' training split, with every error kind but
  deletions (swaps are minor errors): extra training items for the span model, which
  human spans alone teach too little about obvious errors.
* ``flores-test``: the same on FLORES devtest: test only, never read for a choice.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from benchmarks.qe_bench_common import BIOMQM, MODELS, code_fingerprint

ROOT = Path(__file__).resolve().parents[1]
Pair = Tuple[str, str]
REVERSE = {"en-pt": "pt-en", "pt-en": "en-pt"}
CACHE = ROOT / "runs" / "span-cache"
STATS = ("sigmoid", "softmax", "entropy", "boosted")
BIOMQM_SETS = (("pt-en", "pt-en.round1.tsv", "pt-en MT systems"),
               ("pt-en", "pt-en.round1-refs.tsv", "pt-en references"),
               ("en-pt", "en-pt.round1-refs.tsv", "en-pt references"))
SUBSTITUTIONS = ("replacement", "number", "negation")
SYNTHETIC_ORIGINALS = 1200


def token_records(qe, pairs: Sequence[Pair], batch_size: int = 32) -> List[Dict[str, list]]:
    """{"start", "end", "eos", STATS...} lists over the scored tokens of each pair (cached)."""
    key = (f"{qe.name}|{qe.head_fingerprint()}|eos={qe.include_eos}|{qe.softmax_over}|"
           f"{code_fingerprint()}")
    path = CACHE / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    cache: Dict[Pair, Dict[str, list]] = {}
    if path.is_file():
        for src, hyp, record in json.loads(path.read_text(encoding="utf-8")):
            cache[(src, hyp)] = record
    todo = list(dict.fromkeys(p for p in pairs if p not in cache))
    start = time.time()
    eos_id = qe.backend.eos_token_id
    for lo in range(0, len(todo), 2000):
        part = todo[lo:lo + 2000]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = qe.score([s for s, _ in part], [h for _, h in part], method="sigmoid",
                              aggregate="mean", extra_stats=list(STATS), batch_size=batch_size,
                              progress=False, check_direction=False, direction="forward")
        for pair, seg in zip(part, result.segments):
            record = {"start": [t.start for t in seg.tokens], "end": [t.end for t in seg.tokens],
                      "eos": [int(t.token_id == eos_id) for t in seg.tokens]}
            for stat in STATS:
                record[stat] = [float(getattr(t, stat)) for t in seg.tokens]
            cache[pair] = record
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_text(json.dumps([[s, h, r] for (s, h), r in cache.items()], ensure_ascii=False),
                       encoding="utf-8")
        tmp.replace(path)
        print(f"  {qe.name}: scored {lo + len(part)}/{len(todo)} pairs ({time.time() - start:.0f}s)",
              file=sys.stderr, flush=True)
    return [cache[p] for p in pairs]


def biomqm_rows() -> List[Dict[str, object]]:
    """One record per round-one row: lp, set, doc, system, source, mt, gold spans."""
    from sigmoid_qe.files import read_table
    from sigmoid_qe.metaeval.spans import parse_spans
    out = []
    for lp, name, label in BIOMQM_SETS:
        path = BIOMQM / name
        table = read_table(path)
        for number, fields in table.rows:
            row = dict(zip(table.header, fields))
            gold = parse_spans(row["error_spans"], row["target"], str(path), number)
            out.append({"lp": lp, "set": label, "doc": row["doc_id"], "system": row["system"],
                        "source": row["source"], "mt": row["target"], "gold": [list(g) for g in gold],
                        "mqm": float(row["mqm"])})
    return out


def synthetic_rows(split: str, seed: int = 0) -> List[Dict[str, object]]:
    """Originals and one single-error copy each (a seeded sample of ``SYNTHETIC_ORIGINALS``;
    :func:`sigmoid_qe.challenge.span_fitting.synthetic_rows`)."""
    from benchmarks.heads_data import dev_rows, flores_rows, load_split
    from sigmoid_qe.challenge.span_fitting import SYNTHETIC_KINDS
    from sigmoid_qe.challenge.span_fitting import synthetic_rows as with_errors
    kinds = SYNTHETIC_KINDS if split == "synthetic-train" else SUBSTITUTIONS
    out = []
    for lp in MODELS:
        src, tgt = lp.split("-")
        rows = {"synthetic-dev": lambda: load_split("dev-slice") + dev_rows(),
                "synthetic-train": lambda: load_split("train"), "flores-test": flores_rows}[split]()
        pairs = list(dict.fromkeys((r[src], r[tgt]) for r in rows))
        rng = np.random.default_rng(seed)
        if len(pairs) > SYNTHETIC_ORIGINALS:
            pairs = [pairs[k] for k in sorted(rng.choice(len(pairs), SYNTHETIC_ORIGINALS, replace=False))]
        made, labels = with_errors(pairs, lp, seed, kinds)
        out += [{"lp": lp, "set": split, "kind": kind, "source": s, "mt": m,
                 "gold": [list(g) for g in gold]} for (s, m, gold), kind in zip(made, labels)]
    return out


def with_tokens(rows: List[Dict[str, object]], batch_size: int = 32) -> List[Dict[str, object]]:
    """``rows`` with ``forward`` and ``reverse`` token records added (scored once, cached)."""
    from sigmoid_qe import load_model
    for lp in MODELS:
        mine = [r for r in rows if r["lp"] == lp]
        if not mine:
            continue
        forward = load_model(MODELS[lp], device="cpu")
        reverse = load_model(MODELS[REVERSE[lp]], device="cpu")
        pairs = [(r["source"], r["mt"]) for r in mine]
        for r, rec in zip(mine, token_records(forward, pairs, batch_size)):
            r["forward"] = rec
        for r, rec in zip(mine, token_records(reverse, [(m, s) for s, m in pairs], batch_size)):
            r["reverse"] = rec
    return rows


def load(which: str) -> List[Dict[str, object]]:
    rows = biomqm_rows() if which == "biomqm" else synthetic_rows(which)
    return with_tokens(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["biomqm", "synthetic-dev", "synthetic-train",
                                                      "flores-test"])
    args = parser.parse_args(argv)
    for which in args.sets:
        start = time.time()
        rows = load(which)
        print(f"{which}: {len(rows)} rows ({time.time() - start:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
