"""What the quality benchmarks share: data paths, one-pass scoring with a cache, the table of
sentence-level methods computed from token statistics, and markdown output.

Scoring is the slow part on a 2-core CPU, so every benchmark scores each distinct
(source, translation) pair of a direction once per head, in one ``QEModel.score`` call that
returns the sigmoid *and* the softmax statistics of the same forward pass (``extra_stats``);
every method and aggregation is then derived from the token scores, never re-scored.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from benchmarks.candidates import LENGTH, Candidate
from sigmoid_qe.challenge.perturb import KINDS
from sigmoid_qe.challenge.sets import (
    detection_accuracy,
    scored_pairs,
    tolerance_accuracy,
)
from sigmoid_qe.default_model import DEFAULT_MODELS as MODELS
from sigmoid_qe.files import read_table
from sigmoid_qe.methods import SOFTMAX_STATS, aggregate_scores, token_scores

ROOT = Path(__file__).resolve().parents[1]

SHARED = ROOT.parent / "shared" / "data"
PARALLEL = SHARED / "parallel" / "en-pt"
BIOMQM = SHARED / "bio-mqm"

Pair = Tuple[str, str]


def read_parallel(name: str) -> List[Dict[str, str]]:
    """Rows of ``parallel/en-pt/{name}.tsv`` (header ``en pt origin``; nothing is quoted)."""
    path = PARALLEL / f"{name}.tsv"
    return read_table(path).records()


# -- heads ----------------------------------------------------------------------------------------
def parse_extra_heads(specs: Sequence[str]) -> Dict[str, Dict[str, str]]:
    """``NAME:LP=DIR`` options -> {lp: {NAME: DIR}} (e.g. ``no-excl:en-pt=heads/abl``)."""
    out: Dict[str, Dict[str, str]] = {}
    for spec in specs:
        try:
            name_lp, directory = spec.split("=", 1)
            name, lp = name_lp.split(":", 1)
        except ValueError:
            raise SystemExit(f"--extra-head {spec!r}: expected NAME:LP=DIR") from None
        if lp not in MODELS:
            raise SystemExit(f"--extra-head {spec!r}: LP must be one of {', '.join(MODELS)}")
        out.setdefault(lp, {})[name] = directory
    return out


def load_heads(lp: str, head: Optional[str], extra: Dict[str, str]):
    """The QE models of a direction: {head name: QEModel}, sharing one backend.

    "trained" is ``head`` (or whatever ``load_model`` picks: the shipped head, else the
    untrained one); "untrained" is added when that is not already the untrained head.
    """
    from sigmoid_qe import load_model
    from sigmoid_qe.head import SigmoidHead
    from sigmoid_qe.loading import attach_head
    from sigmoid_qe.model import QEModel
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        main = load_model(MODELS[lp], head=head, device="cpu")
    untrained = SigmoidHead.from_output_embedding(main.backend.output_embedding(), main.name,
                                                  main.backend.revision)
    models = {}
    if main.head_fingerprint() == untrained.fingerprint():
        models["untrained"] = main
    else:
        models["trained"] = main
        models["untrained"] = QEModel(main.backend, attach_head(main.backend, untrained))
    for name, directory in extra.items():
        models[name] = QEModel(main.backend, attach_head(main.backend, directory))
    for warning in caught:
        if "untrained head" not in str(warning.message):
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return models


def describe_heads(models) -> str:
    return ", ".join(f"{name} = {qe.head_fingerprint()}" for name, qe in models.items())


# -- scoring --------------------------------------------------------------------------------------
TokenStats = Dict[str, np.ndarray]


def fold_of(doc: str, folds: int) -> int:
    """The cross-validation fold of a document: a stable hash of its id, so that every
    protocol on BioMQM round one (spans, MQM mode) holds out the same documents together."""
    return int(hashlib.sha1(doc.encode()).hexdigest(), 16) % folds


def code_fingerprint() -> str:
    """Hash of the code that turns text into token scores (the backends, scoring and the
    dominant-set rule), so that a cache never outlives a change to it."""
    import sigmoid_qe
    package = Path(sigmoid_qe.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.glob("backends/*.py")) + [package / name for name in (
            "scoring.py", "methods.py", "dominant.py")]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def score_pairs(qe, pairs: Sequence[Pair], stats: Sequence[str], batch_size: int = 32,
                cache_dir: Optional[Path] = None, progress: bool = False) -> List[TokenStats]:
    """Token statistics ({stat: array over scored tokens}) of every pair, from one
    ``qe.score`` call on the distinct pairs not in the cache.

    All ``stats`` come from the same forward pass. Entropy is raw (not negated) here.
    """
    stats = list(dict.fromkeys(stats))
    method = "sigmoid" if "sigmoid" in stats else stats[0]
    cache: Dict[Pair, TokenStats] = {}
    cache_file = None
    if cache_dir is not None:
        key = (f"{qe.name}|{qe.head_fingerprint() if 'sigmoid' in stats else '-'}|"
               f"{'+'.join(stats)}|eos={qe.include_eos}|{code_fingerprint()}")
        cache_file = Path(cache_dir) / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
        if cache_file.is_file():  # JSON, not pickle: a cache folder may be shared
            records = json.loads(cache_file.read_text(encoding="utf-8"))
            cache = {(src, hyp): {name: np.asarray(values, dtype=np.float64)
                                  for name, values in arrays.items()}
                     for src, hyp, arrays in records}
    todo = list(dict.fromkeys(p for p in pairs if p not in cache))
    if todo:
        start = time.time()
        result = qe.score([s for s, _ in todo], [h for _, h in todo], method=method,
                          aggregate="mean", extra_stats=[s for s in stats if s != method],
                          batch_size=batch_size, progress=progress)
        for pair, segment in zip(todo, result.segments):
            cache[pair] = {name: np.array([getattr(t, name) for t in segment.tokens], dtype=np.float64)
                           for name in stats}
        print(f"  scored {len(todo)} pairs ({'+'.join(stats)}) in {time.time() - start:.0f}s",
              file=sys.stderr)
        if cache_file is not None:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(".tmp")
            records = [[src, hyp, {name: values.tolist() for name, values in arrays.items()}]
                       for (src, hyp), arrays in cache.items()]
            tmp.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")
            tmp.replace(cache_file)
    return [cache[p] for p in pairs]


def score_all_heads(models, pairs: Sequence[Pair], batch_size: int = 32,
                    cache_dir: Optional[Path] = None, progress: bool = False) -> Dict[str, List[np.ndarray]]:
    """{"sigmoid:NAME" per head, "softmax", "entropy", "boosted"}: per pair, token arrays.

    The first head's call also returns the softmax statistics; the other heads add one
    sigmoid-only pass each.
    """
    out: Dict[str, List[np.ndarray]] = {}
    for k, (name, qe) in enumerate(models.items()):
        stats = SOFTMAX_STATS if k == 0 else ()
        per_pair = score_pairs(qe, pairs, ("sigmoid", *stats), batch_size, cache_dir, progress)
        out[f"sigmoid:{name}"] = [p["sigmoid"] for p in per_pair]
        for stat in stats:
            out[stat] = [p[stat] for p in per_pair]
    return out


# -- candidates -----------------------------------------------------------------------------------
def shipped_method(models) -> Optional[Candidate]:
    """The shipped default of the "trained" head (its config's method, aggregation and
    combine weight), or None without a trained head."""
    qe = models.get("trained")
    if qe is None:
        return None
    method = qe.default_method
    weight = qe.combine_weight if method == "combined" else None
    return Candidate("forward", method, weight, qe.default_aggregate,
                     head="trained" if method in ("sigmoid", "combined") else None,
                     role="shipped default")


def methods_for(head_names: Iterable[str], combined: bool = True, length: bool = False,
                shipped: Optional[Candidate] = None) -> List[Candidate]:
    """The compared candidates, in table order (the shipped default first, when given)."""
    out: List[Candidate] = [shipped] if shipped is not None else []
    head_names = list(head_names)
    for name in head_names:
        out += [Candidate(method="sigmoid", aggregate=how, head=name) for how in ("mean", "prod")]
    out += [Candidate(method="softmax", aggregate="mean"),
            Candidate(method="softmax", aggregate="prod"),
            Candidate(method="boosted", aggregate="mean"),
            Candidate(method="entropy", aggregate="mean")]
    if combined:  # with the untrained head, sigma ~ 1: the product is softmax again
        trained = [n for n in head_names if n != "untrained"] or head_names
        for name in trained:
            out += [Candidate(method="combined", weight=0.5, aggregate=how, head=name)
                    for how in ("mean", "prod")]
    if length:
        out.append(Candidate(method=LENGTH))
    return out


def token_values(candidate: Candidate, token_stats: Dict[str, List[np.ndarray]],
                 index: int) -> np.ndarray:
    """Token scores of pair ``index`` for ``candidate``, oriented higher = better
    (``sigmoid_qe.methods.token_scores``); the sigmoid of head NAME is ``token_stats["sigmoid:NAME"]``."""
    def stat(name: str) -> np.ndarray:
        key = f"sigmoid:{candidate.head}" if name == "sigmoid" and candidate.head else name
        return token_stats[key][index]
    if candidate.method == "combined":
        return token_scores("combined", {"sigmoid": stat("sigmoid"), "softmax": stat("softmax")},
                            candidate.weight)
    return token_scores(candidate.method, {candidate.method: stat(candidate.method)})


def sentence_scores(candidate: Candidate, token_stats: Dict[str, List[np.ndarray]]) -> np.ndarray:
    """One score per pair (higher = better), aggregated by ``sigmoid_qe.methods`` (``prod`` is
    the sum of log token scores)."""
    n = len(token_stats["softmax"])
    if candidate.method == LENGTH:
        return np.array([-float(len(token_stats["softmax"][i])) for i in range(n)])
    return np.array([aggregate_scores(token_values(candidate, token_stats, i).tolist(),
                                      candidate.aggregate) for i in range(n)])


# -- the dev table's candidates (scripts/dev_eval.py) and the test sets' (bench_heads_test.py) ---
#: Sentence-level aggregations compared for probability-valued token scores.
AGGREGATES = ("mean", "prod", "mean-log", "min")
#: Exponents a of the combined token score sigma^a * p^(1-a) tried on dev.
COMBINED_EXPONENTS = (0.25, 0.5, 0.75)


def dev_candidates(heads: Sequence[str]) -> List[Candidate]:
    """Every candidate of the dev table, in its order."""
    out = [Candidate(method="sigmoid", aggregate=how, head=name) for name in heads
           for how in AGGREGATES]
    out += [Candidate(method="softmax", aggregate=how) for how in AGGREGATES]
    out += [Candidate(method="boosted", aggregate=how) for how in ("mean", "prod")]
    out.append(Candidate(method="entropy", aggregate="mean"))
    out += [Candidate(method="combined", weight=a, aggregate=how, head=name)
            for name in heads if name != "untrained" for a in COMBINED_EXPONENTS
            for how in ("prod", "mean-log")]
    return out + [Candidate(method=LENGTH)]


def method_scores(token: Dict[str, List[np.ndarray]], heads: Sequence[str]) -> Dict[str, np.ndarray]:
    """{label: sentence score per pair} for every candidate of the dev table."""
    return {c.label: sentence_scores(c, token) for c in dev_candidates(heads)}


def evaluate_items(lp: str, heads: Dict[str, str], detection, tolerance, cache_dir: Path,
                   batch_size: int = 32) -> Dict[str, object]:
    """Every method and aggregation on given detection and tolerance items (the dev set here,
    the test sets in ``bench_heads_test.py``)."""
    from sigmoid_qe import load_model
    from sigmoid_qe.loading import attach_head
    from sigmoid_qe.model import QEModel
    pairs = scored_pairs(detection, tolerance)
    base = load_model(MODELS[lp], head="untrained", device="cpu")
    token: Dict[str, List[np.ndarray]] = {}
    soft = score_pairs(base, pairs, ["softmax", "entropy", "boosted"], batch_size, cache_dir)
    for stat in ("softmax", "entropy", "boosted"):
        token[stat] = [p[stat] for p in soft]
    configs = {}
    for name, directory in heads.items():
        qe = base if directory == "untrained" else QEModel(base.backend,
                                                              attach_head(base.backend, directory))
        token[f"sigmoid:{name}"] = [p["sigmoid"] for p in score_pairs(qe, pairs, ["sigmoid"],
                                                                       batch_size, cache_dir)]
        configs[name] = {"fingerprint": qe.head_fingerprint(),
                         "dev_loss": qe.head.config.training.get("dev_loss")}
    results = {}
    for label, values in method_scores(token, list(heads)).items():
        score = dict(zip(pairs, values.tolist()))
        results[label] = {"detection": detection_accuracy(score, detection),
                          "tolerance": tolerance_accuracy(score, tolerance)}
    counts = {"detection": {k: sum(d.kind == k for d in detection) for k in KINDS},
              "tolerance_items": len(tolerance), "pairs": len(pairs)}
    return {"lp": lp, "heads": configs, "counts": counts, "results": results}


def evaluate_dev(lp: str, heads: Dict[str, str], cache_dir: Path, batch_size: int = 32,
             seed: int = 0) -> Dict[str, object]:
    """The dev table of ``heads`` (name -> directory or "untrained"): every method on the dev
    challenge set (``heads_data.dev_items``)."""
    from benchmarks.heads_data import dev_items
    detection, tolerance = dev_items(lp, seed)
    return evaluate_items(lp, heads, detection, tolerance, cache_dir, batch_size)


def dev_summary(report: Dict[str, object], top: int = 0) -> str:
    """The dev table as markdown, best error detection first (``top``: only that many rows)."""
    rows = []
    for label, r in report["results"].items():
        d, t = r["detection"], r["tolerance"]
        rows.append([label, d["all"], d["mean"], d["untranslated"], d["deletion"], t["both"]])
    rows.sort(key=lambda row: -(row[1] if not math.isnan(row[1]) else -1))
    if top:
        rows = rows[:top]
    return markdown_table(["method", "detection all", "mean of kinds", "untranslated", "deletion",
                           "tolerance both"], rows)


# -- output ---------------------------------------------------------------------------------------
def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table; floats with 3 decimals."""
    def cell(value) -> str:
        if isinstance(value, float):
            return "n/a" if math.isnan(value) else f"{value:.3f}"
        return str(value)
    lines = ["| " + " | ".join(headers) + " |",
             "|" + "|".join("---" if k == 0 else "---:" for k in range(len(headers))) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
