"""Meta-evaluation: how well metric scores agree with human judgements, the WMT way.

The numbers are those of Google's mt-metrics-eval (the WMT metrics task's own tool), to the
last digit, computed with vectorised numpy so a full WMT23 table takes seconds:

>>> from sigmoid_qe.metaeval import MtmeLp, lp_info, lp_data_from_mtme, evaluate
>>> data = MtmeLp("mt-metrics-eval-v2/wmt23", "en-de")
>>> table = evaluate([lp_data_from_mtme(data, lp_info("wmt23", "en-de"), metrics=["CometKiwi"])])

Modules, as in mt-metrics-eval: :mod:`.mtme` (the mt-metrics-eval layout) and
:mod:`.loaders` (MLQE-PE, BioMQM, WMT DA, TSV, submissions) turn files into tables;
:mod:`.testsets` says which systems and references count; the statistics are plain functions
over arrays in :mod:`.stats` (correlations), :mod:`.tie_calibrated` (acc_eq),
:mod:`.pairwise` (pairwise accuracy, SPA) and :mod:`.resampling` (bootstrap, PERM-BOTH,
clusters); :mod:`.inputs` turns command-line paths into data; :mod:`.evaluation` computes the
WMT table, :mod:`.report` prints it (text/TSV/JSON/LaTeX, plots); :mod:`.submission` writes
score files and WMT submissions and :mod:`.score_testset` scores a test set with a model.
"""
from .evaluation import LpData, Options, evaluate, lp_data_from_frame, lp_data_from_mtme
from .loaders import (
                      load_biomqm,
                      load_mlqe,
                      load_tsv,
                      load_wmt_da,
                      load_wmt_submission,
                      metric_columns,
)
from .mtme import MtmeLp, find_test_set, load_mtme, read_score_file
from .pairwise import pairwise_accuracy, soft_pairwise_accuracy
from .resampling import bootstrap_ci, perm_both
from .stats import correlation, kendall, pearson, prepare_gold, spearman
from .submission import write_mtme_scores, write_wmt_submission
from .testsets import LpInfo, lp_info, register
from .tie_calibrated import acc_eq

__all__ = [
                      "LpData",
                      "LpInfo",
                      "MtmeLp",
                      "Options",
                      "acc_eq",
                      "bootstrap_ci",
                      "correlation",
                      "evaluate",
                      "find_test_set",
                      "kendall",
                      "load_biomqm",
                      "load_mlqe",
                      "load_mtme",
                      "load_tsv",
                      "load_wmt_da",
                      "load_wmt_submission",
                      "lp_data_from_frame",
                      "lp_data_from_mtme",
                      "lp_info",
                      "metric_columns",
                      "pairwise_accuracy",
                      "pearson",
                      "perm_both",
                      "prepare_gold",
                      "read_score_file",
                      "register",
                      "soft_pairwise_accuracy",
                      "spearman",
                      "write_mtme_scores",
                      "write_wmt_submission",
]
