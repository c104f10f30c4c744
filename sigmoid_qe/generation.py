"""Translating with the scoring model: candidates per source, for reranking and for
``QEModel.translate``. Beside :mod:`sigmoid_qe.decoding`, which says *how* to search; this
module runs the search on a backend that can decode (Bergamot, Hugging Face).

Sampling seeds follow each source's position in the whole input (``indices``), so a rank's
share of a sharded run draws what it would draw in one run.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import List, Optional, Sequence, Union

from .backends.frozen import length_sorted_batches
from .decoding import Candidate, Decoding
from .errors import OptionError


def resolve_decoding(decoding: Union[str, Decoding, None], n: Optional[int],
                     **options) -> Decoding:
    """A :class:`Decoding` from a strategy name with keywords, or a given Decoding (``n`` may
    widen a one-candidate one: ``Decoding("beam")`` with ``n=8``)."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise OptionError(f"n (candidates per source) must be an integer >= 1, got {n!r}")
    if not isinstance(decoding, Decoding):
        strategy = decoding or ("beam" if (n or 1) > 1 else "greedy")
        return Decoding(strategy, n or 1, **options)
    if options:
        raise OptionError("give the decoding options in the Decoding, or a strategy name "
                          "with keywords")
    if n is not None and n != decoding.n:
        if decoding.n != 1:
            raise OptionError(f"n={n} but the Decoding asks for {decoding.n} candidates")
        return dataclasses.replace(decoding, n=n)
    return decoding


def generate(model, sources: List[str], decoding: Union[str, Decoding, None] = None,
             n: Optional[int] = None, batch_size: int = 32, first_index: int = 0,
             indices: Optional[Sequence[int]] = None, **options) -> List[List[Candidate]]:
    """Candidates per source from ``model``'s backend (see :meth:`QEModel.generate
    <sigmoid_qe.model.QEModel.generate>`, which checks the sources and batch size first)."""
    decoding = resolve_decoding(decoding, n, **options)
    if not model.backend.can_generate():
        raise NotImplementedError(f"{model.backend.name}: this backend cannot translate")
    if indices is None:
        indices = range(first_index, first_index + len(sources))
    elif len(indices) != len(sources):
        raise OptionError(f"{len(indices)} indices for {len(sources)} sources")
    return model.backend.generate(sources, decoding, batch_size=batch_size,
                                  indices=list(indices))


def texts(found: List[List[Candidate]], one_each: bool) -> Union[List[str], List[List[str]]]:
    """What ``translate`` returns: one string per source (``one_each``), else the candidates'
    texts per source."""
    if one_each:
        return [c[0].text for c in found]
    return [[c.text for c in per] for per in found]


def generation_plan(backend, sources: List[str], decoding: Decoding,
                    batch_size: int) -> Optional[List[List[int]]]:
    """The length-sorted batches (source indices) generation builds for ``sources`` (checked
    texts) with ``batch_size`` rows, for data-parallel generation to share out whole (as
    ``QEModel.batch_plan`` does for scoring); None where the backend does not say how it
    batches."""
    lengths = getattr(backend, "generation_lengths", None)
    if lengths is None:
        return None
    with warnings.catch_warnings():  # what encoding warns about, generate() says once
        warnings.simplefilter("ignore")
        sizes = lengths(sources)
    rows = decoding.n if decoding.strategy == "sample" else decoding.beam
    return length_sorted_batches(sizes, max(1, batch_size // rows))
