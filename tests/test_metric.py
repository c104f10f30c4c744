import re
import warnings

import numpy as np
import pytest

from sigmoid_qe import SigmoidQE, __version__, load_model
from sigmoid_qe.model import QEModel
from sigmoid_qe.results import QEResult, SegmentScore
from sigmoid_qe.signature import QESignature


class FixedScores(QEModel):
    """A QEModel whose 'scores' are looked up by hypothesis: exercises the Metric plumbing
    (statistics, aggregation, PairedTest) without a model."""

    def __init__(self, table):
        self.table = table
        self.include_eos = True

    default_method = "sigmoid"
    default_aggregate = "mean"

    def signature(self, method=None, aggregate=None, include_eos=None):
        return QESignature("fixed", "00000000", method or "sigmoid", aggregate or "mean", True)

    def score(self, sources, hypotheses, **_):
        return QEResult([SegmentScore(s, h, self.table[h]) for s, h in zip(sources, hypotheses)],
                        "sigmoid", "mean")


def paired_bootstrap(systems):
    """sacrebleu's PairedTest (paired bootstrap, 1000 resamples, seed 12345) on SigmoidQE."""
    from sacrebleu.significance import PairedTest
    names = list(systems)
    if len(names) < 2:
        raise ValueError("the paired bootstrap needs at least two systems")
    if len({len(v) for v in systems.values()}) != 1:
        raise ValueError("systems have different numbers of segments")
    n = len(systems[names[0]])
    table = {f"{name}:{k}": float(v) for name in names for k, v in enumerate(systems[name])}
    metric = SigmoidQE(model=FixedScores(table))
    test = PairedTest([(name, [f"{name}:{k}" for k in range(n)]) for name in names],
                      {"qe": metric}, [[f"src {k}" for k in range(n)]], test_type="bs",
                      n_samples=1000)
    _, results = test()
    key = next(k for k in results if k != "System")
    return results[key]


@pytest.fixture(scope="module")
def metric(tiny_marian_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SigmoidQE(model=load_model(tiny_marian_dir, device="cpu"))


def test_signature_names_the_combined_weight(tiny_marian_dir):
    """Two heads with one matrix but different combine weights score differently: the
    signature must tell them apart (and say nothing of a weight for other methods)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qe = load_model(tiny_marian_dir, device="cpu")
    assert "weight:0.5|" in str(qe.signature(method="combined"))  # the default a
    qe.head.config.combine_weight = 0.25
    assert "|weight:0.25|" in str(qe.signature(method="combined"))
    assert "w:0.25" in qe.signature(method="combined").format(short=True)
    assert "weight" not in str(qe.signature(method="sigmoid"))
    assert "weight" not in str(qe.signature(method="softmax"))


def test_sacrebleu_style_interface(metric):
    hyps, srcs = ["o gato", "um cao azul"], ["the cat", "a blue dog"]
    corpus = metric.corpus_score(hyps, srcs)
    sentences = [metric.sentence_score(h, s).score for h, s in zip(hyps, srcs)]
    assert corpus.score == pytest.approx(np.mean(sentences), abs=1e-6)
    assert corpus.segment_scores == pytest.approx(sentences, abs=1e-6)
    signature = str(metric.get_signature())
    assert re.fullmatch(r"model:[^|]+\|head:[0-9a-f]{8}\|method:sigmoid\|agg:mean\|eos:yes\|dir:forward\|"
                        rf"version:{re.escape(__version__)}", signature)
    line = corpus.format(signature=signature)
    assert line.startswith(f"SigmoidQE-sigmoid|{signature} = ") and line.endswith(f"{corpus.score:.4f}")


def test_sigmoidqe_takes_sacrebleus_reference_streams(marian_qe):
    """sacrebleu passes references as a list of streams: one stream of sources is accepted as
    the sources, and two streams are refused (QE has one source per segment)."""
    metric = SigmoidQE(model=marian_qe)
    hyps, srcs = ["o gato", "um cao"], ["the cat", "a dog"]
    plain = metric.corpus_score(hyps, srcs).score
    assert metric.corpus_score(hyps, [srcs]).score == plain       # sacrebleu: [refs]
    assert metric.sentence_score(hyps[0], [srcs[0]]).score == metric.sentence_score(
        hyps[0], srcs[0]).score
    with pytest.raises(TypeError, match="2 reference streams"):
        metric.corpus_score(hyps, [srcs, srcs])


def test_paired_bootstrap_matches_sacrebleu():
    """Same indices, CI and p-value as sacrebleu's paired bootstrap on mean-of-segments scores."""
    from sacrebleu.significance import _compute_p_value, estimate_ci
    rng = np.random.default_rng(0)
    base = rng.uniform(size=200)
    other = base + rng.normal(0.02, 0.05, size=200)
    results = paired_bootstrap({"base": base, "other": other})
    idx = np.random.default_rng(12345).choice(200, size=(1000, 200), replace=True)
    bl, sy = base[idx].mean(1), other[idx].mean(1)
    mean, ci = estimate_ci(sy)
    diffs = np.abs(sy - bl)
    p = _compute_p_value(diffs - diffs.mean(), abs(base.mean() - other.mean()))
    assert results[1].mean == pytest.approx(mean) and results[1].ci == pytest.approx(ci)
    assert results[1].p_value == pytest.approx(p)
    assert results[0].p_value is None
    clearly_better = paired_bootstrap({"base": base, "better": base + 0.5})
    assert clearly_better[1].p_value == pytest.approx(1 / 1001)


def test_paired_bootstrap_input_checks():
    with pytest.raises(ValueError, match="at least two"):
        paired_bootstrap({"a": [1.0]})
    with pytest.raises(ValueError, match="different numbers"):
        paired_bootstrap({"a": [1.0, 2.0], "b": [1.0]})
