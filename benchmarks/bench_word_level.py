"""Word-level QE on MLQE-PE test21: the NMT models' own word probabilities as a baseline.

    python -m benchmarks.bench_word_level

For each of the seven test21 pairs, a word's score is the lowest log-probability of its BPE
pieces (``word-probas/``, the NMT model that produced the translation); a word is BAD below a
threshold. The shared data has no word-level dev gold, so the threshold is chosen by 5-fold
cross-validation over test21 itself: segments are cut into five contiguous blocks (documents
stay together as far as the data's order keeps them), each block is tagged with the threshold
that maximises MCC on the other four, and MCC, F1-BAD, F1-OK and F1-BAD x F1-OK are computed on
the pooled predictions against ``goldlabels/task2_wordlevel_mt.tags``. Also: the all-BAD and
all-BAD baseline (MCC 0 by definition; its F1-BAD is what a tagger must beat).
"""
from __future__ import annotations

import argparse
import html
import io
import tarfile
import time
from pathlib import Path
from typing import List, Optional

import numpy as np

from benchmarks.qe_bench_common import SHARED, markdown_table
from sigmoid_qe.metaeval.spans import word_tag_ci, word_tag_scores

PAIRS = ("en-de", "en-zh", "et-en", "ne-en", "ro-en", "ru-en", "si-en")
FOLDS = 5


def _members(path: Path):
    with tarfile.open(path) as tar:
        return {m.name.split("/", 1)[-1]: tar.extractfile(m).read().decode("utf-8")
                for m in tar.getmembers() if m.isfile()}


def _surface(piece: str) -> str:
    """A model piece as text: no BPE or SentencePiece markers, Moses escapes undone."""
    return html.unescape(piece.replace("@@", "").replace("\u2581", "").replace("@-@", "-"))


def word_log_probs(pieces: str, values: str, words: List[str]) -> Optional[List[float]]:
    """Per word of the given tokenisation, the lowest log-probability of the model pieces
    (BPE "@@" or SentencePiece "▁") that spell it, aligned through their characters; None when
    the two spell different texts."""
    spelled = [_surface(piece) for piece in pieces.split()]
    piece_of: List[int] = []
    for k, piece in enumerate(spelled):
        piece_of.extend([k] * len(piece))
    if "".join(words) != "".join(spelled):
        return None
    probs = [float(v) for v in values.split()]
    out, position = [], 0
    for word in words:
        covering = set(piece_of[position:position + len(word)])
        out.append(min(probs[k] for k in covering) if covering else 0.0)
        position += len(word)
    return out


def load(lp: str):
    members = _members(SHARED / "mlqe-pe" / "data" / "test21_goldlabels" / f"{lp}-test21.tar.gz")
    suffix = lp.replace("-", "")
    pieces = members[f"word-probas/mt.test21.{suffix}"].rstrip("\n").split("\n")
    values = members[f"word-probas/word_probas.test21.{suffix}"].rstrip("\n").split("\n")
    tokenized = members["test21.tok.mt"].rstrip("\n").split("\n")
    tags = {}
    for line in io.StringIO(members["goldlabels/task2_wordlevel_mt.tags"]):
        fields = line.rstrip("\n").split("\t")
        if len(fields) == 7:
            tags.setdefault(int(fields[3]), []).append(fields[6])
    gold, scores, skipped = [], [], 0
    for k, (p, v, t) in enumerate(zip(pieces, values, tokenized)):
        words = t.split()
        found = word_log_probs(p, v, words)
        if found is None or len(tags.get(k, [])) != len(words):
            skipped += 1
            continue
        gold.append(tags[k])
        scores.append(found)
    return gold, scores, skipped


def best_threshold(gold, scores) -> float:
    flat = np.concatenate([np.asarray(s) for s in scores])
    best, chosen = -2.0, float(np.median(flat))
    for t in np.unique(np.quantile(flat, np.linspace(0.01, 0.6, 60))):
        mcc = word_tag_scores(gold, [["BAD" if v < t else "OK" for v in s] for s in scores])["mcc"]
        if mcc > best:
            best, chosen = mcc, float(t)
    return chosen


def cross_validated(gold, scores):
    n = len(gold)
    bounds = np.linspace(0, n, FOLDS + 1).astype(int)
    predicted = [None] * n
    thresholds = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        train = [k for k in range(n) if not a <= k < b]
        t = best_threshold([gold[k] for k in train], [scores[k] for k in train])
        thresholds.append(t)
        for k in range(a, b):
            predicted[k] = ["BAD" if v < t else "OK" for v in scores[k]]
    return predicted, thresholds


def main(argv=None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    start = time.time()
    rows = []
    for lp in PAIRS:
        gold, scores, dropped = load(lp)
        predicted, thresholds = cross_validated(gold, scores)
        r = word_tag_scores(gold, predicted)
        low, high = word_tag_ci(gold, predicted)
        bad = word_tag_scores(gold, [["BAD"] * len(g) for g in gold])
        share = float(np.mean([t == "BAD" for g in gold for t in g]))
        rows.append([lp, len(gold), dropped, f"{share:.3f}",
                     f"{np.mean(thresholds):.2f}", f"{r['mcc']:.3f} [{low:.3f}, {high:.3f}]",
                     r["f1_bad"], r["f1_ok"], r["f1_mult"],
                     bad["f1_bad"]])
    print("# Word-level QE, MLQE-PE test21: NMT word log-probabilities (min over BPE pieces)\n")
    print(markdown_table(["lp", "segments", "skipped (texts differ)", "BAD share",
                          "threshold (mean of folds)", "MCC [95% CI]", "F1-BAD", "F1-OK", "F1-mult",
                          "F1-BAD of all-BAD"], rows))
    print(f"\n_5-fold contiguous cross-validation over test21 for the threshold (no word-level "
          f"dev gold in the shared data); MCC intervals: 1000 bootstrap resamples of segments (seed 1234); "
          f"{time.time() - start:.0f}s._")


if __name__ == "__main__":
    main()
