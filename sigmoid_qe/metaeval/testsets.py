"""Which reference, which human scores and which systems count, per test set and lp.

WMT numbers are only reproducible with the task's conventions, which are not in the data
files: the standard reference (metrics are scored with it or with the source, and it is never
scored as a system), the standard human scores, the outlier systems left out, and whether
human translations other than the standard reference are scored as systems. These tables
follow mt-metrics-eval's ``meta_info.py`` and the WMT task definitions in its ``tasks.py``;
:func:`register` adds or replaces entries for other test sets.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, FrozenSet, Iterable, List, Mapping, Optional

from ..errors import InputError


@dataclass(frozen=True)
class LpInfo:
    """Conventions of one language pair of one test set."""

    std_ref: str
    std_gold: Mapping[str, str]  # level -> name of the standard human scores
    outlier_systems: FrozenSet[str] = frozenset()
    include_human: bool = False  # score human translations (other than std_ref) as systems
    primary_metrics: FrozenSet[str] = frozenset()
    baseline_metrics: FrozenSet[str] = frozenset()
    close_refs: FrozenSet[str] = frozenset()  # references too close to std_ref to be systems


WMT22_PRIMARIES = frozenset({
    "BERTScore", "BLEURT-20", "BLEU", "chrF", "COMET-20", "COMET-22", "COMETKiwi", "COMET-QE",
    "f200spBLEU", "HuaweiTSC_EE_BERTScore_0.3_With_Human", "HWTSC-Teacher-Sim", "MATESE-QE",
    "MATESE", "MEE4", "metricx_xxl_MQM_2020", "MS-COMET-22", "MS-COMET-QE-22", "REUSE",
    "SEScore", "UniTE", "UniTE-src", "YiSi-1"})

WMT23_PRIMARIES = frozenset({
    "Calibri-COMET22", "Calibri-COMET22-QE", "cometoid22-wmt22", "eBLEU", "embed_llama",
    "GEMBA-MQM", "KG-BERTScore", "MaTESe", "MEE4", "MetricX-23", "MetricX-23-QE",
    "mre-score-labse-regular", "mbr-metricx-qe", "sescoreX", "tokengram_F", "XCOMET-Ensemble",
    "XCOMET-QE-Ensemble", "XLsim", "BERTscore", "BLEU", "BLEURT-20", "chrF", "COMET",
    "CometKiwi", "docWMT22CometDA", "docWMT22CometKiwiDA", "f200spBLEU", "MS-COMET-QE-22",
    "prismRef", "prismSrc", "Random-sysname", "YiSi-1"})

WMT23_BASELINES = frozenset({
    "BERTscore", "BLEU", "BLEURT-20", "chrF", "COMET", "CometKiwi", "docWMT22CometDA",
    "docWMT22CometKiwiDA", "f200spBLEU", "MS-COMET-QE-22", "prismRef", "prismSrc",
    "Random-sysname", "YiSi-1"})

_MQM = {"sys": "mqm", "domain": "mqm", "seg": "mqm"}
_WMT22 = LpInfo("refA", _MQM, primary_metrics=WMT22_PRIMARIES)
_WMT22_DA = LpInfo("refA", {"sys": "wmt", "domain": "wmt", "seg": "wmt"},
                   primary_metrics=WMT22_PRIMARIES)
_WMT22_APPRAISE = LpInfo("refA", {"sys": "wmt-appraise", "domain": "wmt-appraise",
                                  "seg": "wmt-appraise"}, primary_metrics=WMT22_PRIMARIES)
_WMT23 = LpInfo("refA", _MQM, primary_metrics=WMT23_PRIMARIES, baseline_metrics=WMT23_BASELINES)
_WMT23_DA = replace(_WMT23, std_gold={"sys": "da-sqm", "domain": "da-sqm", "seg": "da-sqm"})

TESTSETS: Dict[str, Dict[str, LpInfo]] = {
    "wmt23": {
        # WMT23 scores human translations as systems only where a second reference exists
        # (tasks.WMT23: lps_with_multiple_refs = {en-he, he-en}).
        "en-de": replace(_WMT23, outlier_systems=frozenset({"synthetic_ref"})),
        "he-en": replace(_WMT23, std_ref="refB", include_human=True),
        "zh-en": replace(_WMT23, outlier_systems=frozenset({"synthetic_ref"})),
        "cs-uk": _WMT23_DA, "de-en": _WMT23_DA, "en-cs": _WMT23_DA, "en-ja": _WMT23_DA,
        "en-zh": _WMT23_DA, "ja-en": _WMT23_DA,
        "en-he": replace(_WMT23_DA, std_gold={}, std_ref="refB", include_human=True),
        "en-ru": replace(_WMT23_DA, std_gold={}), "en-uk": replace(_WMT23_DA, std_gold={}),
        "ru-en": replace(_WMT23_DA, std_gold={}), "uk-en": replace(_WMT23_DA, std_gold={}),
    },
    "wmt22": {
        "en-de": replace(_WMT22, outlier_systems=frozenset({"M2M100_1.2B-B4"})),
        "en-ru": _WMT22, "zh-en": _WMT22,
        "cs-en": replace(_WMT22_DA, std_ref="refB"), "de-en": _WMT22_DA, "ja-en": _WMT22_DA,
        "ru-en": _WMT22_DA, "uk-en": replace(_WMT22_DA, std_gold={"sys": "wmt", "seg": "wmt"}),
        "en-cs": replace(_WMT22_APPRAISE, std_ref="refB"), "en-hr": _WMT22_APPRAISE,
        "en-ja": _WMT22_APPRAISE, "en-uk": _WMT22_APPRAISE, "en-zh": _WMT22_APPRAISE,
    },
    # WMT24 MQM pairs as the WMT24 metrics task used them (standard reference refB for en-de);
    # not checked against data in this repository.
    "wmt24": {
        "en-de": LpInfo("refB", {"sys": "mqm", "seg": "mqm"}, include_human=True),
        "en-es": LpInfo("refA", {"sys": "mqm", "seg": "mqm"}, include_human=True),
        "ja-zh": LpInfo("refA", {"sys": "mqm", "seg": "mqm"}, include_human=True),
    },
}

def register(test_set: str, lp: str, info: LpInfo) -> None:
    """Add or replace the conventions of one lp (for test sets this table lacks)."""
    TESTSETS.setdefault(test_set, {})[lp] = info


def lp_info(test_set: str, lp: str) -> LpInfo:
    """The conventions of ``test_set``/``lp``; a generic default for unknown pairs.

    Unknown test sets or pairs get ``refA``/``mqm`` with every system scored, which is what a
    user-made test set in the mt-metrics-eval layout usually means.
    """
    known = TESTSETS.get(test_set, {})
    if lp in known:
        return known[lp]
    return LpInfo("refA", _MQM)


def select_systems(systems: Iterable[str], references: Iterable[str], info: LpInfo,
                   gold_systems: Optional[Iterable[str]] = None,
                   include_outliers: bool = False,
                   std_ref: Optional[str] = None) -> List[str]:
    """The systems that count, in sorted order (mt-metrics-eval's ``GetCorrelations``).

    All outputs, less the standard reference and references close to it, less other human
    translations unless ``include_human``, less outliers, and only those with a human score.
    """
    std_ref = std_ref or info.std_ref
    chosen = set(systems) - {std_ref} - set(info.close_refs)
    if not info.include_human:
        chosen -= set(references)
    if not include_outliers:
        chosen -= set(info.outlier_systems)
    if gold_systems is not None:
        chosen &= set(gold_systems)
    return sorted(chosen)


def resolve_gold(info: LpInfo, gold: Optional[str], level: str) -> str:
    """The human-score name to use at ``level`` (``None``/``std`` means the standard one)."""
    if gold in (None, "std"):
        if level not in info.std_gold:
            raise InputError(f"no standard {level}-level human scores for this language pair; "
                             "name one with --gold")
        return info.std_gold[level]
    return gold
