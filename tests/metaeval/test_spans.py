"""Span evaluation: WMT23 task-2 scoring against a hand-made case and an independent
computation, its interval and paired test, word tags, and the gold and prediction readers."""
from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigmoid_qe.errors import InputError
from sigmoid_qe.metaeval import spans as evaluation


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


def clip(spans, n):
    return [(min(s, n), min(min(s, n) + w, n), t) for s, w, t in spans]


SPAN = st.tuples(st.integers(0, 12), st.integers(0, 6), st.sampled_from(["major", "minor"]))


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
