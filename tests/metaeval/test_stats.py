"""The statistics on hand-made cases with known answers, and against slow references."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.stats

from sigmoid_qe.metaeval import pairwise, resampling, stats, tie_calibrated

from metaeval_reference import acc_eq_brute, acc_eq_sweep, agreement, count_inversions, spa_reference

NAN = float("nan")


# ---------------------------------------------------------------------------- Pearson & co


def test_pearson_known_value_and_missing_gold_dropped():
    assert stats.pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert stats.pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # the NaN gold entry and its metric score (1000) are dropped, not imputed
    assert stats.pearson([1, NAN, 2, 3], [1, 1000, 2, 3]) == pytest.approx(1.0)
    # r of (1,2,3,4) with (1,3,2,4) = 0.8
    assert stats.pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)


def test_constant_or_too_short_input_follows_mt_metrics_eval():
    # a constant metric has no correlation: NaN groups are dropped, empty average is 0
    assert stats.correlation([1, 2, 3], [5, 5, 5], "pearson") == 0.0
    assert stats.correlation([1, 2, 3], [5, 5, 5], "pearson", replace_nans_with_zeros=True) == 0.0
    assert stats.correlation([1.0], [2.0], "pearson") == 0.0  # a single system
    assert stats.correlation([NAN, NAN], [1, 2], "kendall") == 0.0


def test_item_grouping_averages_per_segment():
    # 3 systems x 2 segments; segment 0 perfectly ranked, segment 1 reversed -> average 0
    gold = np.array([[1, 1], [2, 2], [3, 3]], dtype=float)
    metric = np.array([[1, 3], [2, 2], [3, 1]], dtype=float)
    assert stats.correlation(gold, metric, "pearson", "item") == pytest.approx(0.0)
    assert stats.correlation(gold, metric, "pearson", "none") == pytest.approx(0.0)
    # a segment with one scored system is skipped (not counted as NaN or 0)
    gold2 = np.array([[1, NAN], [2, NAN], [3, 5]], dtype=float)
    assert stats.correlation(gold2, metric, "pearson", "item") == pytest.approx(1.0)
    # 'sys' grouping: per system across segments; system 1's constant metric gives NaN,
    # which is dropped from the average (not counted as 0)
    gold3 = np.array([[1, 2], [1, 2], [1, 2]], dtype=float)
    assert stats.correlation(gold3, metric, "kendall", "sys") == pytest.approx((1 - 1) / 2)
    assert stats.correlation(gold3, metric, "kendall", "sys",
                             replace_nans_with_zeros=True) == pytest.approx((1 + 0 - 1) / 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_scipy_with_ties_and_missing(seed):
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 6, size=(7, 40)).astype(float)  # MQM-like: many ties
    metric = gold + rng.normal(scale=2.0, size=gold.shape)
    metric[:, ::5] = np.round(metric[:, ::5])  # ties in the metric too
    gold[rng.random(gold.shape) < 0.2] = NAN
    keep = ~np.isnan(gold.ravel())
    g, m = gold.ravel()[keep], metric.ravel()[keep]
    assert stats.correlation(gold, metric, "pearson") == pytest.approx(
        scipy.stats.pearsonr(g, m)[0], abs=1e-12)
    assert stats.correlation(gold, metric, "spearman") == pytest.approx(
        scipy.stats.spearmanr(g, m)[0], abs=1e-12)
    for variant in ("b", "c"):
        assert stats.correlation(gold, metric, "kendall", variant=variant) == pytest.approx(
            scipy.stats.kendalltau(g, m, variant=variant)[0], abs=1e-12)
    # item grouping against scipy per column (columns with < 2 scores or NaN skipped)
    functions = {"kendall": scipy.stats.kendalltau, "pearson": scipy.stats.pearsonr,
                 "spearman": scipy.stats.spearmanr}
    for measure, function in functions.items():
        per_item = []
        for j in range(gold.shape[1]):
            ok = ~np.isnan(gold[:, j])
            if ok.sum() < 2:
                continue
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = function(gold[ok, j], metric[ok, j])[0]
            if not math.isnan(r):
                per_item.append(r)
        assert stats.correlation(gold, metric, measure, "item") == pytest.approx(
            np.mean(per_item), abs=1e-12)


def test_kendall_23_and_acc23_by_hand():
    gold = [1, 2, 2, 3]
    metric = [1, 3, 2, 2]
    # pairs: (1,2):con (1,2'):con (1,3):con (2,2'):tie_h (2,3):dis (2',3):tie_m
    assert stats.kendall(gold, metric, "acc23") == pytest.approx(3 / 6)
    assert stats.kendall(gold, metric, "23") == pytest.approx((3 - 1 - 1 - 1) / 6)
    counts = stats.tau_counts(gold, metric)
    assert (counts.con, counts.dis, counts.ties_gold, counts.ties_metric, counts.ties_both) \
        == (3, 1, 1, 1, 0)
    # epsilon 1 turns every difference of 1 into a metric tie: only (1,2) stays concordant,
    # (2,2') becomes tied in both, the rest tied in the metric only
    assert stats.kendall(gold, metric, "acc23", epsilon=1.0) == pytest.approx(2 / 6)
    with pytest.raises(ValueError):
        stats.kendall(gold, metric, "c", epsilon=0.5)


@pytest.mark.parametrize("n,top", [(0, 1), (1, 1), (2, 2), (63, 3), (64, 5), (65, 5),
                                   (300, 2), (1000, 900), (3000, 3000)])
def test_count_inversions(n, top):
    values = np.random.default_rng(n).integers(0, top, n)
    i, j = np.triu_indices(n, 1)
    assert count_inversions(values) == int(np.count_nonzero(values[i] > values[j]))


def test_long_vector_kendall_counts_match_pairwise():
    rng = np.random.default_rng(5)
    for top in (4, 5000):  # both counting strategies
        g = rng.integers(0, top, 2000).astype(float)
        m = np.round(g + rng.normal(scale=top / 3, size=2000))
        fast = stats.tau_counts(g, m)
        slow = stats._tau_counts_pairwise(g, m, 0.0)
        assert fast == slow


# ---------------------------------------------------------------------------- acc_eq


def test_acc_eq_zero_threshold_best():
    # metric and human agree perfectly: no tie helps
    result = tie_calibrated.acc_eq([1, 2, 3, 4], [0, 2, 6, 8], group="none", return_curve=True)
    assert result.value == 1.0 and result.epsilon == 0.0
    assert list(result.thresholds) == [0, 2, 4, 6, 8]
    assert list(result.values) == pytest.approx([6 / 6, 4 / 6, 3 / 6, 1 / 6, 0 / 6])


def test_acc_eq_nonzero_threshold_best():
    # three humans tie: declaring metric differences up to 4 ties pays off
    result = tie_calibrated.acc_eq([1, 1, 1, 4], [0, 2, 6, 8], group="none", return_curve=True)
    assert result.value == pytest.approx(4 / 6) and result.epsilon == 4.0
    assert list(result.values) == pytest.approx([3 / 6, 3 / 6, 4 / 6, 4 / 6, 3 / 6])
    # the fast path (no curve) picks the same smallest best threshold
    fast = tie_calibrated.acc_eq([1, 1, 1, 4], [0, 2, 6, 8], group="none")
    assert (fast.value, fast.epsilon) == (result.value, result.epsilon)


def test_acc_eq_matrix_with_missing_scores_known_curve():
    # rows are groups (group='sys' on a matrix); None in either score drops the entry
    metric = np.array([[0, 5, 2, 3, 2], [NAN, 2, 1, 5, 3], [9, 1, 5, 3, 8], [9, 3, 4, 4, 1],
                       [NAN] * 5])
    human = np.array([[1, 5, 2, 1, 1], [4, 2, 2, 1, 4], [5, 9, 2, 8, 7], [7, 6, NAN, 3, 2],
                      [NAN] * 5])
    result = tie_calibrated.acc_eq(human, metric, group="sys", return_curve=True)
    assert list(result.thresholds) == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    expected = [0.4666666666666667, 0.4916666666666668, 0.38333333333333347, 0.29166666666666674,
                0.2666666666666667, 0.2, 0.15833333333333335, 0.15833333333333335,
                0.1166666666666667]
    assert list(result.values) == pytest.approx(expected, abs=1e-12)
    assert result.epsilon == 1 and result.value == pytest.approx(0.4916666666666668, abs=1e-12)
    assert result.n_groups == 4
    fast = tie_calibrated.acc_eq(human, metric, group="sys")
    assert (fast.value, fast.epsilon) == (result.value, result.epsilon)


def test_acc_eq_23_variant_is_2acc_minus_1():
    acc = tie_calibrated.acc_eq([1, 1, 1, 4], [0, 2, 6, 8], group="none")
    tau = tie_calibrated.acc_eq([1, 1, 1, 4], [0, 2, 6, 8], group="none", variant="23")
    assert tau.value == pytest.approx(2 * acc.value - 1) and tau.epsilon == acc.epsilon


@pytest.mark.parametrize("seed", range(6))
def test_acc_eq_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_sys, n_items = rng.integers(2, 7), rng.integers(1, 12)
    gold = rng.integers(0, 4, size=(n_sys, n_items)).astype(float)
    metric = np.round(gold + rng.normal(size=gold.shape), 1)
    if seed % 2:
        gold[rng.random(gold.shape) < 0.25] = NAN  # uneven groups: the general path
    value, eps = acc_eq_brute(gold, metric)
    result = tie_calibrated.acc_eq(gold, metric)
    assert result.value == pytest.approx(value, abs=1e-12)
    assert result.epsilon == eps
    curve = tie_calibrated.acc_eq(gold, metric, return_curve=True)
    ref_value, ref_eps, ref_thresholds, ref_values = acc_eq_sweep(gold, metric)
    assert list(curve.thresholds) == ref_thresholds
    assert list(curve.values) == pytest.approx(ref_values, abs=1e-12)


def test_acc_eq_no_pairs():
    result = tie_calibrated.acc_eq(np.array([[1.0, NAN]]), np.array([[1.0, 2.0]]))
    assert math.isnan(result.value) and result.n_groups == 0


# ---------------------------------------------------------------------------- system level


def test_pairwise_accuracy_pooled_over_lps_with_ties():
    # lp1: 3 systems, 3 pairs: both tied agrees, one-sided tie disagrees
    g1, m1 = [1.0, 1.0, 2.0], [5.0, 5.0, 4.0]   # (a,b) tie/tie ok; (a,c) +/- no; (b,c) no
    g2, m2 = [1.0, 2.0], [0.1, 0.2]             # agrees
    assert pairwise.agreement(g1, m1) == (1, 3) == agreement(g1, m1)
    assert pairwise.pairwise_accuracy([g1, g2], [m1, m2]) == pytest.approx(2 / 4)
    # a system without a human score is left out of every pair
    assert pairwise.agreement([1.0, NAN, 2.0], [1.0, 9.0, 2.0]) == (1, 1)
    assert math.isnan(pairwise.pairwise_accuracy([[1.0]], [[1.0]]))  # a single system


def test_soft_pairwise_accuracy_against_reference():
    rng = np.random.default_rng(3)
    gold = rng.integers(-10, 0, size=(5, 60)).astype(float)
    metric = gold + rng.normal(scale=3, size=gold.shape)
    gold[:, :7] = NAN  # unscored segments, the same for every system
    value = pairwise.soft_pairwise_accuracy(gold, metric)
    assert value == pytest.approx(spa_reference(gold, metric), abs=1e-12)
    # a metric identical to the humans gets exactly 1; one system has nothing to compare
    assert pairwise.soft_pairwise_accuracy(gold, gold) == 1.0
    assert math.isnan(pairwise.soft_pairwise_accuracy(gold[:1], metric[:1]))
    many = pairwise.soft_pairwise_accuracies(gold, {"a": metric, "b": gold})
    assert many == {"a": value, "b": 1.0}


def test_pairwise_p_values_known_case():
    # one segment, two systems: every swap mirrors the difference; A > B in half the draws
    # (the unswapped ones), so p = share of +1 signs
    scores = np.array([[1.0], [0.0]])
    signs = pairwise.permutation_sign_matrix(1, 1000, 4)
    p = pairwise.pairwise_p_values(scores, signs=signs)
    assert p[0, 1] == pytest.approx(np.mean(signs[:, 0] > 0))


# ---------------------------------------------------------------------------- CIs, significance


def test_bootstrap_ci_brackets_the_value_and_acc_eq_fast_path_agrees():
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 5, size=(6, 80)).astype(float)
    metric = gold + rng.normal(size=gold.shape)
    indices = resampling.item_bootstrap_indices(80, 200, 7)
    low, high = resampling.bootstrap_ci(lambda g, m: stats.correlation(g, m), gold, metric,
                                   indices=indices)
    assert low < stats.correlation(gold, metric) < high
    generic = resampling.bootstrap_ci(lambda g, m: tie_calibrated.acc_eq(g, m).value, gold, metric,
                                 indices=indices)
    fast = tie_calibrated.acc_eq_bootstrap_ci(gold, metric, indices=indices)
    assert fast == pytest.approx(generic, abs=1e-12)


def test_perm_both_separates_good_from_noise():
    rng = np.random.default_rng(1)
    gold = rng.normal(size=300)
    good = gold + rng.normal(scale=0.3, size=300)
    noise = rng.normal(size=300)
    better = resampling.perm_both(stats.pearson, gold, noise, good, k=200)
    assert better.p_value < 0.05 and better.delta > 0.5
    worse = resampling.perm_both(stats.pearson, gold, good, noise, k=200)
    assert worse.p_value > 0.5 and worse.k_used == 100  # early stop at the first block


def test_acc_eq_pair_permutation_direction():
    rng = np.random.default_rng(2)
    gold = rng.integers(0, 5, size=(6, 100)).astype(float)
    good = gold + rng.normal(scale=0.3, size=gold.shape)
    noise = rng.normal(size=gold.shape)
    e_good = tie_calibrated.acc_eq(gold, good).epsilon
    e_noise = tie_calibrated.acc_eq(gold, noise).epsilon
    assert tie_calibrated.acc_eq_pair_permutation(gold, noise, good, e_noise, e_good, k=200).p_value < 0.05
    assert tie_calibrated.acc_eq_pair_permutation(gold, good, noise, e_good, e_noise, k=200).p_value > 0.5


def test_assign_ranks_and_clusters():
    # a > b not significant, b > c significant, a > c significant: clusters 1, 1, 2
    sig = np.array([[0, 0.3, 0.01], [0, 0, 0.02], [0, 0, 0]])
    assert resampling.assign_ranks(sig) == [1, 1, 2]
    p = {("a", "b"): 0.3, ("a", "c"): 0.01, ("b", "c"): 0.02}
    ranked, matrix = resampling.significance_clusters({"c": 0.1, "a": 0.9, "b": 0.5},
                                                 lambda x, y: p[(x, y)])
    assert list(ranked) == ["a", "b", "c"]
    assert [r for _, r in ranked.values()] == [1, 1, 2]
