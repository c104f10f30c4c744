"""Probe: does training the head on human error spans (the paper's MQM mode) make it agree
with people? Document-level cross-validation on BioMQM round one, so no score is judged by a
head that saw its document.

    python -m scripts.probe_mqm_head [--folds 2] [--steps 300] [--weight 10]

For each direction, the shipped head is fine-tuned on the round-one segments of the training
folds: a token inside a (non-neutral) human error span is a negative with weight ``--weight``
(10, as the paper's MQM mode), every other token a positive; an L2 pull towards the shipped
head (``--anchor``) stands in for the usual sampled negatives, which the shipped head already
learned. Every segment is then scored by the head of the fold that did not see its document,
and the out-of-fold scores are compared with the shipped head's on the same rows: Spearman with
MQM per round-one set, with a paired bootstrap interval of the difference. A probe, not a
shipped recipe: a head trained with human labels would say so in its config.json.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

from benchmarks.qe_bench_common import BIOMQM, MODELS, fold_of, markdown_table

ROOT = Path(__file__).resolve().parents[1]

SETS = {"pt-en": ("pt-en.round1.tsv", "pt-en.round1-refs.tsv"), "en-pt": ("en-pt.round1-refs.tsv",)}


def token_error_labels(offsets, spans) -> List[int]:
    """1 where a scored token overlaps a non-neutral error span of the translation."""
    bad = [(s["start"], s["end"]) for s in spans if s.get("severity") != "neutral"]
    return [int(any(a < e and b > s for s, e in bad)) if b > a else 0 for a, b in offsets]


def collect(qe, frame, batch_size: int = 32):
    """Per row: hidden states [n, H], token ids [n], error labels [n], softmax probs [n]."""
    from sigmoid_qe.backends.frozen import scored_positions
    from sigmoid_qe.scoring import softmax_stats
    pairs = qe.backend.encode(list(frame["source"]), list(frame["hypothesis"]))
    rows = []
    for lo in range(0, len(pairs), batch_size):
        batch = pairs[lo:lo + batch_size]
        pos = scored_positions(qe.backend, batch)
        probs = softmax_stats(qe.backend, pos.hidden, pos.ids, ["softmax"])["softmax"]
        for pair, (a, b) in zip(batch, pos.bounds()):
            spans = json.loads(frame["error_spans"].iloc[pair.index] or "[]")
            rows.append({"hidden": pos.hidden[a:b], "ids": pos.ids[a:b],
                         "labels": torch.tensor(token_error_labels(pair.offsets, spans)),
                         "softmax": probs[a:b]})
    return rows


def fine_tune(weight0: torch.Tensor, rows, steps: int, lr: float, error_weight: float,
              anchor: float) -> torch.Tensor:
    hidden = torch.cat([r["hidden"] for r in rows])
    ids = torch.cat([r["ids"] for r in rows])
    labels = torch.cat([r["labels"] for r in rows]).float()
    target = 1.0 - labels  # an error token is a negative
    weights = torch.where(labels > 0, torch.tensor(error_weight), torch.tensor(1.0))
    rows_used = torch.unique(ids)
    w = weight0[rows_used].clone().requires_grad_(True)
    index = torch.searchsorted(rows_used, ids)
    optimiser = torch.optim.Adam([w], lr=lr)
    for _ in range(steps):
        logits = (hidden * w[index]).sum(-1)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, weight=weights)
        loss = loss + anchor * ((w - weight0[rows_used]) ** 2).sum(-1).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    out = weight0.clone()
    out[rows_used] = w.detach()
    return out


def sentence_scores(rows, weight: torch.Tensor, a: float) -> Dict[str, np.ndarray]:
    from sigmoid_qe.methods import aggregate_scores, token_scores
    out: Dict[str, List[float]] = {"combined sum-log": [], "sigmoid sum-log": [], "sigmoid errors": []}
    for r in rows:
        sig = torch.sigmoid((r["hidden"] * weight[r["ids"]]).sum(-1)).numpy().astype(np.float64)
        soft = r["softmax"].numpy().astype(np.float64)
        comb = token_scores("combined", {"sigmoid": sig, "softmax": soft}, a)
        out["combined sum-log"].append(aggregate_scores(comb.tolist(), "prod"))
        out["sigmoid sum-log"].append(aggregate_scores(sig.tolist(), "prod"))
        out["sigmoid errors"].append(aggregate_scores(sig.tolist(), "errors"))
    return {k: np.array(v) for k, v in out.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight", type=float, default=10.0, help="weight of error tokens")
    parser.add_argument("--anchor", type=float, default=1.0, help="L2 pull to the shipped head")
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args(argv)
    import pandas as pd
    from scipy.stats import spearmanr

    from sigmoid_qe import load_model
    from sigmoid_qe.metaeval.loaders import load_biomqm
    torch.manual_seed(0)
    for lp, names in SETS.items():
        qe = load_model(MODELS[lp], device="cpu")
        frame = pd.concat([load_biomqm(BIOMQM / n).assign(table=n) for n in names],
                          ignore_index=True)
        rows = collect(qe, frame)
        w0 = qe.head.weight.detach().float()
        a = qe.combine_weight
        folds = np.array([fold_of(d, args.folds) for d in frame["doc"]])
        shipped = sentence_scores(rows, w0, a)
        tuned = {k: np.zeros(len(rows)) for k in shipped}
        errors_seen = []
        for f in range(args.folds):
            train = [r for r, k in zip(rows, folds) if k != f]
            errors_seen.append(int(sum(int(r["labels"].sum()) for r in train)))
            w = fine_tune(w0, train, args.steps, args.lr, args.weight, args.anchor)
            test = np.flatnonzero(folds == f)
            scored = sentence_scores([rows[i] for i in test], w, a)
            for k in tuned:
                tuned[k][test] = scored[k]
        print(f"## {lp} ({len(rows)} rows, {args.folds}-fold by document; error tokens seen per "
              f"fold: {errors_seen})\n")
        table = []
        rng = np.random.default_rng(1234)
        for name in names:
            sel = np.flatnonzero(frame["table"].to_numpy() == name)
            gold = frame["human"].to_numpy()[sel]
            for key in shipped:
                s0 = spearmanr(gold, shipped[key][sel]).statistic
                s1 = spearmanr(gold, tuned[key][sel]).statistic
                deltas = []
                for _ in range(args.samples):
                    idx = rng.integers(0, len(sel), len(sel))
                    deltas.append(spearmanr(gold[idx], tuned[key][sel][idx]).statistic
                                  - spearmanr(gold[idx], shipped[key][sel][idx]).statistic)
                low, high = np.quantile(deltas, [0.025, 0.975])
                table.append([name, key, float(s0), float(s1), f"{s1 - s0:+.3f} [{low:+.3f}, {high:+.3f}]"])
        print(markdown_table(["set", "score", "shipped head", "MQM-tuned (out of fold)",
                              "difference [95% CI]"], table))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
