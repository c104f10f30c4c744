"""MQM mode as a span and sentence candidate: document-level cross-validation on BioMQM round one.

    python -m benchmarks.mqm_mode_cv --out runs/mqm-cv/oof.json [--folds 5] [--parallel 2000]

For each direction (pt-en: ``pt-en.round1.tsv`` + ``pt-en.round1-refs.tsv`` with
``bergamot-pt-en``; en-pt: ``en-pt.round1-refs.tsv`` with ``bergamot-en-pt``) and each fold
(a stable hash of ``doc_id``, :func:`benchmarks.qe_bench_common.fold_of`), the shipped head is fine-tuned
in MQM mode with the package's trainer (:func:`sigmoid_qe.training.train_head` with
``mqm=``, the code behind ``sigmoid-qe-train --mqm``): the training folds' MQM rows, whose
tokens inside human error spans are negatives of weight ``--weight``, plus a fixed random
slice of the parallel training data (``--parallel`` pairs of ``parallel/en-pt/train.tsv``),
so the usual positives and sampled negatives keep acting. The held-out fold is then scored
with that head: every number and token value written is out of fold.

A *control* head is fine-tuned the same way on the parallel slice alone (it sees no MQM row,
so one per direction serves every fold): it separates what the human labels do from what
the extra fine-tuning does.

Written (``--out``, JSON): per row, its tokens with character offsets, the fold head's
sigmoid, the shipped and control heads' sigmoid, the softmax and whether the token overlaps a
gold span; see :func:`row_record`. Printed (stdout, markdown): sentence-level Spearman with MQM
(sigmoid sum-log, combined sum-log) for the shipped, control and MQM-tuned heads, with paired
bootstrap intervals of the differences (1000 segment resamples, seed 1234); and token-level
ROC AUC of ``1 - sigmoid`` for tokens in gold spans.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from benchmarks.qe_bench_common import BIOMQM, MODELS, PARALLEL, fold_of, markdown_table

ROOT = Path(__file__).resolve().parents[1]

SETS = {"pt-en": ("pt-en.round1.tsv", "pt-en.round1-refs.tsv"), "en-pt": ("en-pt.round1-refs.tsv",)}
SCORES = ("sigmoid sum-log", "combined sum-log")
HEADS = ("shipped", "control", "mqm")


def log(message: str, quiet: bool = False) -> None:
    if not quiet:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- data ------------------------------------------------------------------------------------------
def load_rows(paths: Sequence[Path], weight: float, max_rows: Optional[int] = None):
    """The MQM rows of ``paths`` (:func:`sigmoid_qe.training.mqm.read_mqm`, the trainer's
    reader) and, per row, its metadata from the BioMQM table (file, 0-based data row, doc_id,
    system, seg_id, mqm). ``max_rows``: the first rows of each file only (smoke tests)."""
    from sigmoid_qe.files import read_table
    from sigmoid_qe.training.mqm import read_mqm
    data = read_mqm([str(p) for p in paths], weight)
    meta: List[Dict] = []
    for path in paths:
        for row, record in enumerate(read_table(path).records()):
            meta.append({"file": Path(path).name, "row": row, "doc_id": record["doc_id"],
                         "system": record["system"], "seg_id": record["seg_id"],
                         "mqm": float(record["mqm"])})
    if [(Path(p).name, r - 1) for p, r in data.rows] != [(m["file"], m["row"]) for m in meta] \
            or any(m != t for m, t in zip(data.targets, (r["target"] for p in paths
                                                          for r in read_table(p).records()))):
        raise SystemExit("the MQM reader and the table disagree on the rows")
    keep = [i for i, m in enumerate(meta) if max_rows is None or m["row"] < max_rows]
    return subset(data, keep), [meta[i] for i in keep]


def subset(data, indices: Sequence[int]):
    """The MQM rows ``indices`` of ``data``, as a new :class:`MQMData`."""
    from sigmoid_qe.training.mqm import MQMData
    return MQMData([data.sources[i] for i in indices], [data.targets[i] for i in indices],
                   [data.spans[i] for i in indices], list(data.files),
                   [data.rows[i] for i in indices], data.error_weight)


def parallel_slice(path: Path, lp: str, n: int, seed: int):
    """``n`` pairs of the parallel data, drawn at random (seeded), in file order."""
    from sigmoid_qe.training import load_parallel
    from sigmoid_qe.training.data import ParallelData
    full = load_parallel(path, lp)
    keep = sorted(random.Random(seed).sample(range(len(full)), min(n, len(full))))
    return ParallelData([full.sources[i] for i in keep], [full.targets[i] for i in keep],
                        list(full.files), full.lp, [full.line_numbers[i] for i in keep])


# -- training and scoring ----------------------------------------------------------------------------
def fine_tune(backend, head, parallel, mqm, args, out_dir: Path):
    """The shipped ``head`` fine-tuned by the package's trainer (MQM mode when ``mqm``)."""
    from sigmoid_qe.training import TrainOptions, train_head
    options = TrainOptions(batch_size=args.batch_size, epochs=args.epochs, lr=args.lr,
                           eval_every=None, seed=args.seed, cache_features=args.epochs > 1,
                           save_dtype="float16")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = train_head(backend, parallel, out_dir, options=options, head=head,
                            progress=False, mqm=mqm)
    return result


def token_scores(backend, head, sources: Sequence[str], targets: Sequence[str], batch_size: int):
    """Per row: its scored tokens (TokenScore, with sigmoid and softmax) under ``head``."""
    from sigmoid_qe.model import QEModel
    qe = QEModel(backend, head=head, batch_size=batch_size)
    with warnings.catch_warnings():  # symbols the model cannot write: the same for every head
        warnings.simplefilter("ignore")
        result = qe.score(list(sources), list(targets), method="sigmoid", extra_stats=["softmax"],
                          spans=False, progress=False, check_direction=False)
    return [segment.tokens for segment in result.segments]


def row_record(lp: str, meta: Dict, fold: int, source: str, mt: str, spans, tokens: Dict[str, list]
               ) -> Dict:
    """One row of the JSON: where it comes from, its gold spans, and per token
    ``start, end, token, sigmoid`` (fold head, out of fold), ``shipped``, ``control``,
    ``softmax`` and ``in_span`` (overlaps a non-neutral gold span)."""
    from sigmoid_qe.training.mqm import token_errors
    mqm_tokens = tokens["mqm"]
    offsets = [(t.start, t.end) for t in mqm_tokens]
    marked = token_errors(offsets, spans, mt)
    out_tokens = []
    for k, t in enumerate(mqm_tokens):
        for name in ("shipped", "control"):
            other = tokens[name][k]
            if (other.start, other.end, other.token) != (t.start, t.end, t.token):
                raise RuntimeError(f"{lp} {meta['file']} row {meta['row']}: heads tokenised apart")
        out_tokens.append({"start": t.start, "end": t.end, "token": t.token,
                           "sigmoid": float(t.sigmoid), "shipped": float(tokens["shipped"][k].sigmoid),
                           "control": float(tokens["control"][k].sigmoid),
                           "softmax": float(t.softmax), "in_span": bool(marked[k])})
    return {"lp": lp, **meta, "fold": fold, "src": source, "mt": mt,
            "gold_spans": [list(s) for s in spans], "tokens": out_tokens}


# -- statistics ----------------------------------------------------------------------------------------
def sentence_score(tokens: Sequence[Dict], key: str, kind: str, weight: float) -> float:
    """sum-log of one head's token sigmoid ("sigmoid sum-log") or of sigma^a p^(1-a)."""
    from sigmoid_qe.methods import aggregate_scores
    from sigmoid_qe.methods import token_scores as method_scores
    sig = np.array([t[key] for t in tokens], dtype=np.float64)
    if kind == "sigmoid sum-log":
        values = sig
    else:
        soft = np.array([t["softmax"] for t in tokens], dtype=np.float64)
        values = method_scores("combined", {"sigmoid": sig, "softmax": soft}, weight)
    return aggregate_scores(list(values), "prod")


def spearman_table(rows: Sequence[Dict], weight: float, samples: int, seed: int) -> List[list]:
    """Per set and score: Spearman of each head, and the paired bootstrap interval of
    mqm - shipped and mqm - control (the same resamples for all)."""
    from sigmoid_qe.metaeval.resampling import item_bootstrap_indices, percentile_interval
    from sigmoid_qe.metaeval.stats import spearman
    table = []
    for (lp, name) in dict.fromkeys((r["lp"], r["file"]) for r in rows):
        sel = [r for r in rows if r["lp"] == lp and r["file"] == name]
        gold = np.array([r["mqm"] for r in sel])
        idx = item_bootstrap_indices(len(sel), samples, seed)
        for kind in SCORES:
            key_of = {"shipped": "shipped", "control": "control", "mqm": "sigmoid"}
            scores = {h: np.array([sentence_score(r["tokens"], key_of[h], kind, weight) for r in sel])
                      for h in HEADS}
            rho = {h: spearman(gold, s) for h, s in scores.items()}
            boot = {h: np.array([spearman(gold[i], scores[h][i]) for i in idx]) for h in HEADS}
            cells = []
            for base in ("shipped", "control"):
                low, high = percentile_interval(boot["mqm"] - boot[base])
                cells.append(f"{rho['mqm'] - rho[base]:+.3f} [{low:+.3f}, {high:+.3f}]")
            table.append([f"{lp} {name} ({len(sel)})", kind, rho["shipped"], rho["control"],
                          rho["mqm"], *cells])
    return table


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties half (Mann-Whitney)."""
    from scipy.stats import rankdata
    pos = labels.astype(bool)
    if pos.all() or not pos.any():
        return float("nan")
    ranks = rankdata(scores)
    n1, n0 = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def token_table(rows: Sequence[Dict]) -> List[list]:
    """Per set: ROC AUC of 1 - sigmoid for tokens inside gold spans (EOS left out)."""
    table = []
    for (lp, name) in dict.fromkeys((r["lp"], r["file"]) for r in rows):
        toks = [t for r in rows if r["lp"] == lp and r["file"] == name for t in r["tokens"]
                if t["end"] > t["start"]]
        labels = np.array([t["in_span"] for t in toks])
        aucs = [roc_auc(labels, -np.array([t[k] for t in toks])) for k in ("shipped", "control",
                                                                            "sigmoid")]
        table.append([f"{lp} {name}", int(labels.sum()), len(toks), *aucs])
    return table


# -- the run -------------------------------------------------------------------------------------------
def cross_validate(lp: str, backend, shipped_head, data, meta: List[Dict], parallel, args,
                   work: Path) -> Dict:
    """Every row of one direction with its out-of-fold token values; and what each fold saw."""
    folds = np.array([fold_of(m["doc_id"], args.folds) for m in meta])
    tokens: Dict[str, List] = {"shipped": token_scores(backend, shipped_head, data.sources,
                                                       data.targets, args.score_batch)}
    log(f"{lp}: shipped head scored ({len(data)} rows)", args.quiet)
    start = time.perf_counter()
    control = fine_tune(backend, shipped_head, parallel, None, args, work / f"{lp}-control")
    log(f"{lp}: control head ({control.steps} steps, {time.perf_counter() - start:.0f} s)",
        args.quiet)
    tokens["control"] = token_scores(backend, control.head, data.sources, data.targets,
                                     args.score_batch)
    tokens["mqm"] = [None] * len(data)
    seen = []
    for fold in range(args.folds):
        train_idx = np.flatnonzero(folds != fold).tolist()
        test_idx = np.flatnonzero(folds == fold).tolist()
        start = time.perf_counter()
        result = fine_tune(backend, shipped_head, parallel, subset(data, train_idx), args,
                           work / f"{lp}-fold{fold}")
        held_docs = {meta[i]["doc_id"] for i in test_idx}
        assert not held_docs & {meta[i]["doc_id"] for i in train_idx}
        scored = token_scores(backend, result.head, [data.sources[i] for i in test_idx],
                              [data.targets[i] for i in test_idx], args.score_batch)
        for i, t in zip(test_idx, scored):
            tokens["mqm"][i] = t
        labels = result.record["human_labels"]
        seen.append({"fold": fold, "train_rows": len(train_idx), "test_rows": len(test_idx),
                     "test_docs": len(held_docs), "steps": result.steps,
                     "error_tokens": labels["error_tokens"], "mqm_tokens": labels["tokens"],
                     "seconds": round(time.perf_counter() - start, 1)})
        log(f"{lp}: fold {fold + 1}/{args.folds}: {len(train_idx)} MQM rows "
            f"({labels['error_tokens']} error tokens) + {len(parallel)} pairs, {result.steps} "
            f"steps, {seen[-1]['seconds']:.0f} s", args.quiet)
    rows = [row_record(lp, meta[i], int(folds[i]), data.sources[i], data.targets[i], data.spans[i],
                       {h: tokens[h][i] for h in HEADS}) for i in range(len(data))]
    return {"rows": rows, "folds": seen, "control_steps": control.steps}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="the out-of-fold JSON (a new file)")
    parser.add_argument("--lps", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--parallel", type=int, default=2000,
                        help="parallel pairs mixed into every fine-tuning (default 2000)")
    parser.add_argument("--epochs", type=int, default=2,
                        help="passes over parallel slice + training folds (default 2; the "
                             "frozen model's outputs are cached after the first)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight", type=float, default=10.0, help="MQM error weight (default 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--score-batch", type=int, default=32)
    parser.add_argument("--samples", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--keep-heads", default=None, metavar="DIR",
                        help="keep the fine-tuned heads in DIR (a new folder); default: deleted")
    parser.add_argument("--biomqm", default=str(BIOMQM), help=argparse.SUPPRESS)
    parser.add_argument("--parallel-file", default=str(PARALLEL / "train.tsv"), help=argparse.SUPPRESS)
    parser.add_argument("--max-rows", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.out)
    if out.exists():
        raise SystemExit(f"{out}: exists; give a new file")
    if args.folds < 2:
        raise SystemExit("--folds must be >= 2")
    import torch

    from sigmoid_qe import load_model
    torch.manual_seed(args.seed)
    report = {"config": {k: v for k, v in vars(args).items() if k not in ("quiet",)},
              "format": "rows[]: lp, file, row (0-based data row of the file), doc_id, system, "
                        "seg_id, mqm, fold, src, mt, gold_spans [[start, end, severity]], "
                        "tokens[]: start, end, token, sigmoid (fold head, out of fold), shipped, "
                        "control (parallel-only fine-tune), softmax, in_span",
              "directions": {}, "rows": []}
    with tempfile.TemporaryDirectory(prefix="mqm-cv-") as tmp:
        work = Path(args.keep_heads) if args.keep_heads else Path(tmp)
        if args.keep_heads:
            work.mkdir(parents=True, exist_ok=False)
        for lp in args.lps:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                qe = load_model(MODELS[lp], device="cpu")
            data, meta = load_rows([Path(args.biomqm) / name for name in SETS[lp]], args.weight,
                                   args.max_rows)
            parallel = parallel_slice(Path(args.parallel_file), lp, args.parallel, args.seed)
            log(f"{lp}: {len(data)} MQM rows, {len(parallel)} parallel pairs, "
                f"{args.folds} folds", args.quiet)
            found = cross_validate(lp, qe.backend, qe.head, data, meta, parallel, args, work)
            report["rows"].extend(found["rows"])
            report["directions"][lp] = {"model": MODELS[lp], "head": qe.head_fingerprint(),
                                        "combine_weight": qe.combine_weight,
                                        "files": list(SETS[lp]), "folds": found["folds"],
                                        "control_steps": found["control_steps"]}
            del qe
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, out)
    weights = {lp: d["combine_weight"] for lp, d in report["directions"].items()}
    table = []
    for lp in args.lps:
        table += spearman_table([r for r in report["rows"] if r["lp"] == lp], weights[lp],
                                args.samples, 1234)
    print(f"## Sentence level: Spearman with MQM, out of fold ({args.folds} folds by document; "
          f"{args.parallel} parallel pairs, {args.epochs} epoch(s), lr {args.lr:g}, "
          f"weight {args.weight:g})\n")
    print(markdown_table(["set (rows)", "score", "shipped", "control", "MQM-tuned",
                          "MQM - shipped [95% CI]", "MQM - control [95% CI]"], table))
    print("\n## Token level: ROC AUC of 1 - sigmoid for tokens inside gold spans\n")
    print(markdown_table(["set", "error tokens", "tokens", "shipped", "control", "MQM-tuned"],
                         token_table(report["rows"])))
    print(f"\nout-of-fold tokens: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
