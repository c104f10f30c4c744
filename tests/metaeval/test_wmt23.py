"""The published WMT23 numbers (gold MQM), reproduced from the shared mt-metrics-eval data."""
from __future__ import annotations

import pytest

from sigmoid_qe.metaeval import tie_calibrated
from sigmoid_qe.metaeval.evaluation import Options, evaluate, lp_data_from_mtme
from sigmoid_qe.metaeval.mtme import MtmeLp
from sigmoid_qe.metaeval.testsets import lp_info

from metaeval_data import WMT23_MQM_SYSTEMS
from metaeval_reference import acc_eq_sweep, agreement, spa_reference

LPS = ("en-de", "he-en", "zh-en")
# the systems WMT23 evaluates with gold MQM
SYSTEMS = {
    "en-de": ["AIRC", "GPT4-5shot", "Lan-BridgeMT", "NLLB_Greedy", "NLLB_MBR_BLEU", "ONLINE-A",
              "ONLINE-B", "ONLINE-G", "ONLINE-M", "ONLINE-W", "ONLINE-Y", "ZengHuiMT"],
    "he-en": ["GPT4-5shot", "GTCOM_Peter", "Lan-BridgeMT", "NLLB_Greedy", "NLLB_MBR_BLEU",
              "ONLINE-A", "ONLINE-B", "ONLINE-G", "ONLINE-Y", "Samsung_Research_Philippines",
              "UvA-LTL", "ZengHuiMT", "refA"],
    "zh-en": ["ANVITA", "GPT4-5shot", "HW-TSC", "IOL_Research", "Lan-BridgeMT", "NLLB_Greedy",
              "NLLB_MBR_BLEU", "ONLINE-A", "ONLINE-B", "ONLINE-G", "ONLINE-M", "ONLINE-W",
              "ONLINE-Y", "Yishu", "ZengHuiMT"],
}
SCORED_SEGMENTS = {"en-de": 460, "he-en": 820, "zh-en": 1177}
METRICS = ["CometKiwi", "XCOMET-Ensemble", "GEMBA-MQM"]


@pytest.fixture(scope="module")
def wmt23(shared_data):
    folder = shared_data / "mt-metrics-eval-v2" / "wmt23"
    if not folder.is_dir():
        pytest.skip("no WMT23 data")
    return {lp: lp_data_from_mtme(MtmeLp(folder, lp), lp_info("wmt23", lp), "mqm", METRICS)
            for lp in LPS}


@pytest.fixture(scope="module")
def table(wmt23):
    records = evaluate(list(wmt23.values()))
    return {(r["lp"], r["level"], r["measure"], r["metric"]): r for r in records}


def test_systems_and_segments_that_count(wmt23):
    for lp in LPS:
        assert list(WMT23_MQM_SYSTEMS[lp]) == SYSTEMS[lp]
        assert wmt23[lp].seg_systems == SYSTEMS[lp]  # derived from the data by the rules
        assert wmt23[lp].sys_systems == SYSTEMS[lp]
        assert wmt23[lp].seg_gold.shape == (len(SYSTEMS[lp]), SCORED_SEGMENTS[lp])
    assert lp_info("wmt23", "he-en").std_ref == "refB"
    assert lp_info("wmt23", "en-de").std_ref == lp_info("wmt23", "zh-en").std_ref == "refA"


def test_published_anchors(table):
    assert round(table["en-de", "seg", "pearson", "CometKiwi"]["value"], 3) == 0.475
    assert round(table["en-de", "seg", "acc_eq", "CometKiwi"]["value"], 3) == 0.569
    assert round(table["en-de", "seg", "pearson", "XCOMET-Ensemble"]["value"], 3) == 0.695
    pooled = table["all", "sys", "pairwise_accuracy", "GEMBA-MQM"]
    assert round(pooled["value"], 3) == 0.944 and pooled["lps"] == "en-de,he-en,zh-en"
    # more digits, for regressions (mt-metrics-eval's definitions, to 1e-6)
    assert table["en-de", "seg", "pearson", "CometKiwi"]["value"] == pytest.approx(0.4752686018, abs=1e-9)
    assert table["en-de", "seg", "acc_eq", "CometKiwi"]["value"] == pytest.approx(1296 / 2277, abs=1e-12)
    assert pooled["value"] == pytest.approx(235 / 249, abs=1e-12)


def test_acc_eq_equals_the_pair_by_pair_sweep(wmt23):
    data = wmt23["en-de"]
    metric = data.seg_metrics["CometKiwi"]
    value, epsilon, _, _ = acc_eq_sweep(data.seg_gold, metric)
    result = tie_calibrated.acc_eq(data.seg_gold, metric)
    assert result.value == pytest.approx(value, abs=1e-12) and result.epsilon == epsilon
    assert result.n_groups == SCORED_SEGMENTS["en-de"]


def test_system_level_against_references(wmt23, table):
    agree = pairs = 0
    for lp in LPS:
        a, p = agreement(list(wmt23[lp].sys_gold), list(wmt23[lp].sys_metrics["GEMBA-MQM"]))
        agree, pairs = agree + a, pairs + p
    assert table["all", "sys", "pairwise_accuracy", "GEMBA-MQM"]["value"] == agree / pairs
    data = wmt23["he-en"]
    spa = table["he-en", "sys", "spa", "CometKiwi"]["value"]
    assert spa == pytest.approx(spa_reference(data.seg_gold, data.seg_metrics["CometKiwi"]),
                                abs=1e-12)


def test_ci_and_significance_on_real_data(wmt23):
    data = wmt23["en-de"]
    records = evaluate([data], Options(levels=("seg",), measures=("pearson", "acc_eq"), ci=True,
                                       ci_samples=200, significance=True, permutations=200))
    by = {(r["measure"], r["metric"]): r for r in records}
    for record in records:
        assert record["ci_low"] <= record["value"] <= record["ci_high"]
        assert record["rank"] >= 1
    # XCOMET-Ensemble's segment Pearson is far ahead of CometKiwi's
    assert by["pearson", "XCOMET-Ensemble"]["rank"] == 1
    assert by["pearson", "CometKiwi"]["rank"] > 1
