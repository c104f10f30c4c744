"""Score every system of an mt-metrics-eval test set with a sigmoid-qe model.

This is the bridge from the scorer to the meta-evaluation: the scores it returns go straight
into :mod:`~sigmoid_qe.metaeval.submission` (mt-metrics-eval files and WMT submission files)
and, through ``--add-metric``-like registration, into the WMT table next to the official
metrics. The model is loaded once per language pair by the caller; here it is only called.
"""
from __future__ import annotations

import warnings
from typing import Callable, Dict, List, Optional, Protocol, Sequence

from .mtme import MtmeLp
from .submission import LpScores, domain_means


class Scorer(Protocol):
    """What is needed of a loaded model: ``sigmoid_qe.load_model(...)`` returns one."""

    def score(self, sources: Sequence[str], hypotheses: Sequence[str], method: str = ...,
              aggregate: str = ..., batch_size: Optional[int] = ..., progress: bool = ...): ...


def score_lp(qe: Scorer, data: MtmeLp, systems: Optional[Sequence[str]] = None,
             method: str = "sigmoid", aggregate: str = "mean", batch_size: int = 32,
             progress: bool = True,
             on_warning: Optional[Callable[[str], None]] = None) -> LpScores:
    """Segment and system scores of every system output of one lp (all of them by default,
    human references included, as WMT metrics submissions score them).

    A missing translation (mt-metrics-eval's no-translation marker) is scored as an empty
    string. Warnings from the scorer are counted per system and passed to ``on_warning`` as
    one line each, so a long run does not flood the terminal.
    """
    systems = list(systems) if systems is not None else data.system_names()
    from ..parallel import score_sharded
    sources = [s if s is not None else "" for s in data.src]
    seg: Dict[str, List[float]] = {}
    sys_scores: Dict[str, float] = {}
    for system in systems:
        hypotheses = [h if h is not None else "" for h in data.system_output(system)]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = score_sharded(qe, sources, hypotheses, everyone=True, method=method,
                                   aggregate=aggregate, batch_size=batch_size, progress=progress)
        if caught and on_warning is not None:
            first = str(caught[0].message)
            more = f" (and {len(caught) - 1} more)" if len(caught) > 1 else ""
            on_warning(f"{data.lp} {system}: {first}{more}")
        scores = [float(x) for x in result.scores]
        if len(scores) != len(sources):
            raise RuntimeError(f"the scorer returned {len(scores)} scores for "
                               f"{len(sources)} segments")
        seg[system] = scores
        sys_scores[system] = float(result.system_score)
    domains, docs = data.documents()
    return LpScores(data.lp, seg, sys_scores, docs, domains,
                    domain_means(seg, domains) if any(domains) else {})
