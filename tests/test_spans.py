"""Error spans: from token scores to XCOMET-style spans, WMT23 task-2 scoring (against a
hand-made case and an independent computation), word tags, gold readers, calibration, CLI."""
from __future__ import annotations

import json
import math
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmoid_qe.challenge.span_calibration import CalibrationItem, calibrate
from sigmoid_qe.cli import eval as eval_cli
from sigmoid_qe.cli import score as score_cli
from sigmoid_qe.errors import InputError, OptionError
from sigmoid_qe.metaeval import spans as evaluation
from sigmoid_qe.spans import (
    SpanThresholds,
    align_words,
    error_spans,
    segment_errors,
    word_scores,
    word_spans,
    word_tags,
)


# -- from scores to spans ---------------------------------------------------------------------------
def test_runs_merge_across_whitespace_with_severity_and_omission():
    text = "The cat  eats fish."
    words = word_spans(text)
    assert [text[s:e] for s, e in words] == ["The", "cat", "eats", "fish."]
    tokens = [(0, 3), (3, 7), (7, 13), (13, 18), (18, 19)]  # a partition, like the backends give
    values = word_scores(words, tokens, [0.9, 0.2, 0.1, 0.95, 0.3])
    assert values == [0.9, 0.2, 0.1, 0.3]  # "fish." = min of " fish" and "."
    found = error_spans(text, words, values, 0.3, SpanThresholds(0.5, 0.15))
    assert [(e.text, e.start, e.end, e.severity) for e in found] == [
        ("cat  eats fish.", 4, 19, "major"), ("", 19, 19, "minor")]  # one run, then the omission
    apart = error_spans(text, words, [0.9, 0.2, 0.7, 0.3], None, SpanThresholds(0.5, 0.15))
    assert [(e.text, e.severity) for e in apart] == [("cat", "minor"), ("fish.", "minor")]
    assert found[0].confidence == pytest.approx((0.5 - 0.1) / 0.5)
    assert error_spans(text, words, values, 0.9, SpanThresholds(0.05, 0.0)) == []


@settings(max_examples=80, deadline=None, database=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
       st.lists(st.floats(0, 1), min_size=1, max_size=40), st.floats(0, 1), st.floats(0, 1))
def test_spans_quote_the_text_exactly(text, raw, minor, major):
    words = word_spans(text)
    values = [raw[k % len(raw)] for k in range(len(words))]
    thresholds = SpanThresholds(max(minor, major), min(minor, major))
    previous_end = -1
    for error in error_spans(text, words, values, raw[0], thresholds):
        assert text[error.start:error.end] == error.text and error.start >= previous_end
        assert error.text == error.text.strip() and error.severity in ("minor", "major")
        assert 0.0 <= error.confidence <= 1.0
        previous_end = error.end


def test_segment_errors_and_word_tags_use_the_token_partition():
    text = "o gato come peixe"
    tokens = [(0, 1), (1, 6), (6, 11), (11, 17), (17, 17)]
    values = [0.9, 0.95, 0.1, 0.8, 0.2]
    eos = [False, False, False, False, True]
    thresholds = SpanThresholds(0.5, 0.15)
    errors = segment_errors(text, tokens, values, eos, thresholds)
    assert [(e.text, e.severity) for e in errors] == [("come", "major"), ("", "minor")]
    assert word_tags(text, word_spans(text), tokens, values, eos, thresholds) == ["OK", "OK", "BAD", "OK"]
    given = align_words("Der Mann, der kam.", ["Der", "Mann", ",", "der", "kam", "."])
    assert given == [(0, 3), (4, 8), (8, 9), (10, 13), (14, 17), (17, 18)]
    # a word the tokeniser escaped takes the characters up to the next word found
    assert align_words("a & b", ["a", "&amp;", "b"]) == [(0, 1), (2, 3), (4, 5)]


def test_thresholds_are_checked():
    with pytest.raises(OptionError, match="must not be above"):
        SpanThresholds(0.2, 0.5)
    with pytest.raises(OptionError, match="finite"):
        SpanThresholds(float("nan"), 0.1)


# -- the WMT23 task-2 scorer -----------------------------------------------------------------------------
def wmt_reference(items, severity=True):
    """An independent transcription of task2_evaluate.py's loops (per character, counts)."""
    tp = total_gold = total_sys = 0
    for mt, gold, predicted in items:
        length = len(mt.strip())
        marks = {}
        for name, spans in (("gold", gold), ("sys", predicted)):
            for kind in ("major", "minor"):
                marks[name, kind] = [0] * (length + 1)
            for s, e, t in spans:
                e = min(e, length)
                if s == e:
                    marks[name, t][s] += 1
                else:
                    for i in range(s, e):
                        marks[name, t][i] += 1
        for i in range(length + 1):
            gmaj, gmin = marks["gold", "major"][i], marks["gold", "minor"][i]
            smaj, smin = marks["sys", "major"][i], marks["sys", "minor"][i]
            total_gold += bool(gmaj or gmin)
            total_sys += bool(smaj or smin)
            if not severity:
                tp += bool((gmaj or gmin) and (smaj or smin))
            elif gmaj and not gmin:
                tp += 1 if smaj else 0.5 if smin else 0
            elif gmin and not gmaj:
                tp += 1 if smin else 0.5 if smaj else 0
            elif gmin and gmaj:
                tp += 1 if (smin or smaj) else 0
    recall = tp / total_gold if total_gold else 0.0
    precision = tp / total_sys if total_sys else 0.0
    return recall, precision, 2 * recall * precision / (recall + precision) if recall + precision else 0.0


def segments(items):
    return [evaluation.Segment(mt, tuple(g), tuple(p)) for mt, g, p in items]


def test_hand_made_case():
    # gold: major [2, 5), minor [7, 9), major omission at the end; prediction: major [3, 6),
    # major [7, 8) (severity mismatch: half credit), major omission at the end
    items = [("abcdefghij", [(2, 5, "major"), (7, 9, "minor"), (10, 10, "major")],
              [(3, 6, "major"), (7, 8, "major"), (10, 10, "major")])]
    result = evaluation.span_f1(segments(items))
    tp, gold, predicted = 2 + 0.5 + 1, 3 + 2 + 1, 3 + 1 + 1
    assert result["recall"] == pytest.approx(tp / gold) and result["precision"] == pytest.approx(tp / predicted)
    assert result["f1"] == pytest.approx(2 * (tp / gold) * (tp / predicted) / (tp / gold + tp / predicted))
    binary = evaluation.span_f1(segments(items), severity=False)
    assert binary["recall"] == pytest.approx(4 / 6) and binary["precision"] == pytest.approx(4 / 5)
    assert evaluation.span_f1(segments([("abc", [], [])]))["f1"] == 0.0  # no gold, no prediction


SPAN = st.tuples(st.integers(0, 12), st.integers(0, 6), st.sampled_from(["major", "minor"]))


def clip(spans, n):
    return [(min(s, n), min(min(s, n) + w, n), t) for s, w, t in spans]


@settings(max_examples=150, deadline=None, database=None)
@given(st.lists(st.tuples(st.text("ab c", min_size=1, max_size=12), st.lists(SPAN, max_size=3),
                          st.lists(SPAN, max_size=3)), min_size=1, max_size=5), st.booleans())
def test_agrees_with_an_independent_computation(raw, severity):
    items = []
    for mt, gold, predicted in raw:
        items.append((mt, clip(gold, len(mt)), clip(predicted, len(mt))))
    ours = evaluation.span_f1(segments(items), severity)
    recall, precision, f1 = wmt_reference(items, severity)
    assert (ours["recall"], ours["precision"], ours["f1"]) == pytest.approx((recall, precision, f1))


def test_bootstrap_interval_and_paired_test():
    gold = [(f"sentence number {k}", [(0, 8, "major")], []) for k in range(40)]
    good = segments([(mt, g, [(0, 8, "major")]) for mt, g, _ in gold])
    bad = segments([(mt, g, [(9, 15, "major")] if k % 2 else [(0, 8, "major")])
                    for k, (mt, g, _) in enumerate(gold)])
    low, high = evaluation.span_f1_ci(bad, n_samples=200)
    assert low <= evaluation.span_f1(bad)["f1"] <= high
    assert evaluation.paired_span_test(bad, good, n_samples=200)["p_value"] < 0.05
    assert evaluation.paired_span_test(good, bad, n_samples=200)["p_value"] > 0.5


def test_word_tag_scores():
    gold = [["OK", "BAD", "OK", "OK"], ["BAD", "OK"]]
    assert evaluation.word_tag_scores(gold, gold)["mcc"] == pytest.approx(1.0)
    pred = [["OK", "BAD", "BAD", "OK"], ["OK", "OK"]]
    tp, tn, fp, fn = 1, 3, 1, 1
    mcc = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    scores = evaluation.word_tag_scores(gold, pred)
    assert scores["mcc"] == pytest.approx(mcc) and scores["f1_bad"] == pytest.approx(0.5)
    assert scores["f1_mult"] == pytest.approx(scores["f1_bad"] * scores["f1_ok"])


# -- reading gold and predictions -------------------------------------------------------------------------
def test_gold_checks(tmp_path):
    def table(errors):
        path = tmp_path / "g.tsv"
        path.write_text("src\tmt\terrors\nx\tabcdefgh\t" + json.dumps(errors) + "\n", encoding="utf-8")
        return path
    ok = evaluation.read_gold(table([{"start": 0, "end": 8, "severity": "critical"},
                                     {"start": 2, "end": 4, "severity": "minor"},
                                     {"start": 5, "end": 6, "severity": "neutral"}]))
    assert ok[0][2] == ((0, 8, "major"), (2, 4, "minor"))  # nested is fine, neutral dropped
    for errors, fragment in (([{"start": 3, "end": 20}], "outside the text"),
                             ([{"start": 0, "end": 2, "severity": "huge"}], "unknown severity"),
                             ([{"start": 0, "end": 4}, {"start": 2, "end": 6}], "cross")):
        with pytest.raises(InputError, match=fragment) as err:
            evaluation.read_gold(table(errors))
        assert str(err.value).startswith(f"{tmp_path / 'g.tsv'}:2: ")


def test_biomqm_gold_reads(shared_data):
    gold = evaluation.read_gold(shared_data / "bio-mqm" / "pt-en.round1.tsv")
    assert len(gold) == 925 and sum(len(g) for _, _, g in gold) == 310 - 41  # neutral dropped


def test_wmt_task2_file_round_trip(tmp_path):
    path = tmp_path / "t2.tsv"
    path.write_text("1000\n20\n1\nen-de\tm\t0\tno errors here\t-1\t-1\tno-error\n"
                    "en-de\tm\t1\ta bad word\t2\t5\tmajor\n", encoding="utf-8")
    assert evaluation.read_predictions(path) == [("no errors here", ()), ("a bad word", ((2, 5, "major"),))]


# -- calibration ---------------------------------------------------------------------------------------
def test_calibration_finds_the_separating_thresholds():
    items = []
    for k in range(60):
        words = ((0, 3), (4, 8), (9, 14))
        bad, kind = k % 3, ("major" if k % 2 else "minor")
        values = tuple(0.05 if (i == bad and kind == "major") else 0.3 if i == bad else 0.9
                       for i in range(3))
        items.append(CalibrationItem("abc defg hijkl", words, values, 0.95,
                                     ((words[bad][0], words[bad][1], kind),)))
    thresholds, report = calibrate(items)
    assert 0.3 < thresholds.minor <= 0.9 and 0.05 < thresholds.major <= 0.3
    assert report["binary_f1"] == pytest.approx(1.0) and report["severity_f1"] == pytest.approx(1.0)


# -- command line --------------------------------------------------------------------------------------
@pytest.fixture()
def files(tmp_path):
    src, hyp = tmp_path / "src.en", tmp_path / "hyp.pt"
    src.write_text("the cat sat on the mat\na dog\n", encoding="utf-8")
    hyp.write_text("o gato sentou no tapete\num cao azul peixe\n", encoding="utf-8")
    return src, hyp


def run(main, argv, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([str(a) for a in argv])
    return (code, *capsys.readouterr())


def test_cli_spans_outputs_and_their_evaluation(files, tmp_path, capsys, tiny_marian_dir):
    src, hyp = files
    out = {name: tmp_path / name for name in ("s.json", "t2.tsv", "w.tags")}
    code, stdout, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--spans",
                                             "--span-threshold", "0.6,0.3", "--to-json", out["s.json"],
                                             "--spans-wmt", out["t2.tsv"], "--word-tags", out["w.tags"],
                                             "--quiet"], capsys)
    assert code == 0, err
    assert len(stdout.splitlines()) == 3  # the score lines are unchanged by --spans
    records = json.loads(out["s.json"].read_text(encoding="utf-8"))[str(hyp)]
    assert all(r["mt"][e["start"]:e["end"]] == e["text"] for r in records for e in r["errors"])
    predicted = evaluation.read_predictions(out["t2.tsv"])
    assert [p for _, p in predicted] == [tuple((e["start"], e["end"], e["severity"]) for e in r["errors"])
                                         for r in records]
    tags = evaluation.read_word_tags(out["w.tags"])
    assert [len(t) for t in tags] == [5, 4]
    code, table, err = run(eval_cli.main, ["--span-gold", out["s.json"], "--span-predictions",
                                           out["s.json"], out["t2.tsv"], "--format", "json"], capsys)
    assert code == 0, err
    f1 = [r for r in json.loads(table) if r["measure"] == "f1 (wmt23)"]
    assert {r["value"] for r in f1} <= {1.0, 0.0} and len(f1) == 2  # self-agreement (or nothing to find)
    code, table, err = run(eval_cli.main, ["--word-gold", out["w.tags"], "--word-predictions",
                                           out["w.tags"], "--format", "json"], capsys)
    assert code == 0 and next(r for r in json.loads(table) if r["measure"] == "mcc")["value"] in (1.0, 0.0)


def test_cli_span_mistakes(files, tmp_path, capsys, tiny_marian_dir):
    src, hyp = files
    code, _, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--spans",
                                        "--span-threshold", "1.5", "--quiet"], capsys)
    assert code == 2 and "outside the sigmoid score range" in err
    code, _, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", "/nonexistent",
                                        "--span-threshold", "0.5"], capsys)
    assert code == 2 and "goes with --spans" in err
    code, _, err = run(eval_cli.main, ["--span-gold", src], capsys)
    assert code == 2 and "go together" in err


def test_uncalibrated_method_warns_once(marian_qe):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            marian_qe.score(["the cat"], ["o gato"], method="softmax", spans=True, progress=False)
    assert sum("no calibrated span thresholds for softmax" in str(w.message) for w in caught) == 1
