"""The reproducibility signature of a QE score, as a sacrebleu ``Signature``.

``model:bergamot-pt-en|head:23a6c298|method:sigmoid|agg:prod|eos:yes|version:0.1.0``: what
produced a score, so that two numbers are only compared when they came from the same model,
head and method. Being a sacrebleu ``Signature``, it gets sacrebleu's formatting (version last,
``None`` skipped, booleans as yes/no, ``short`` abbreviations) and sacrebleu's significance
tests add their ``bs``/``ar``/``seed`` fields to it.
"""
from __future__ import annotations

from typing import Optional

from sacrebleu.metrics.base import Signature

from .version import __version__


class QESignature(Signature):
    """Signature fields: model, head (fingerprint), method, agg, eos, dir (forward, reverse,
    both), then ``rev`` (the opposite model + its head's fingerprint), ``norm`` (a softmax
    normalised over the model's shortlist), ``weight`` (the combined method's a) and ``prec``
    where they apply, sacrebleu's test fields when a test added them, version last."""

    def __init__(self, model: str, head: str, method: str, agg: str, eos: bool,
                 **extra: Optional[object]):
        super().__init__({"num_refs": 1})
        self._abbr.update({"model": "m", "head": "h", "method": "q", "agg": "a", "eos": "e",
                           "prec": "p", "weight": "w", "dir": "d", "rev": "r",
                           "norm": "n"})
        self.info = {"model": model, "head": head, "method": method, "agg": agg, "eos": eos,
                     "bs": None, "ar": None, "seed": None, **extra, "version": __version__}

    def format(self, short: bool = False) -> str:
        """sacrebleu's format; the test seed is ``rs`` in both forms (its short name)."""
        return super().format(short).replace("|seed:", "|rs:")
