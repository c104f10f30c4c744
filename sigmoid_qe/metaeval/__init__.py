"""Meta-evaluation: how well metric scores agree with human judgements, the WMT way.

The numbers are those of Google's mt-metrics-eval (the WMT metrics task's own tool), to the
last digit, computed with vectorised numpy so a full WMT23 table takes seconds:

>>> from sigmoid_qe.metaeval import MtmeLp, lp_info, lp_data_from_mtme, evaluate
>>> data = MtmeLp("../shared/data/mt-metrics-eval-v2/wmt23", "en-de")
>>> table = evaluate([lp_data_from_mtme(data, lp_info("wmt23", "en-de"), metrics=["CometKiwi"])])

Modules: :mod:`.loaders` (files to tables), :mod:`.testsets` (which systems and references
count), :mod:`.stats` (the statistics, plain functions over arrays), :mod:`.evaluation` (the WMT
table), :mod:`.report` (text/TSV/JSON/LaTeX and plots), :mod:`.submission` (score files and
WMT submissions) and :mod:`.score_testset` (scoring a test set with a sigmoid-qe model).
"""
from .evaluation import LpData, Options, evaluate, lp_data_from_frame, lp_data_from_mtme
from .loaders import (MtmeLp, find_test_set, load_biomqm, load_mlqe, load_mtme, load_tsv,
                      load_wmt_da, load_wmt_submission, metric_columns, read_score_file)
from .stats import (acc_eq, bootstrap_ci, correlation, kendall, pairwise_accuracy, pearson,
                    perm_both, prepare_gold, soft_pairwise_accuracy, spearman)
from .submission import write_mtme_scores, write_wmt_submission
from .testsets import LpInfo, lp_info, register

__all__ = [
    "LpData", "Options", "evaluate", "lp_data_from_frame", "lp_data_from_mtme",
    "MtmeLp", "find_test_set", "load_biomqm", "load_mlqe", "load_mtme", "load_tsv", "load_wmt_da",
    "load_wmt_submission", "metric_columns", "read_score_file",
    "acc_eq", "bootstrap_ci", "correlation", "kendall", "pairwise_accuracy", "pearson",
    "perm_both", "prepare_gold", "soft_pairwise_accuracy", "spearman",
    "write_mtme_scores", "write_wmt_submission", "LpInfo", "lp_info", "register",
]
