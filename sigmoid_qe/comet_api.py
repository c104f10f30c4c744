"""COMET's call, for code written against COMET: ``model.predict(samples, batch_size=...,
gpus=...)`` with ``samples = [{"src": ..., "mt": ...}, ...]``, returning an object with
``.scores``, ``.system_score`` and (with ``spans=True``, as XCOMET) ``.metadata.error_spans``.

It is :meth:`~sigmoid_qe.model.QEModel.score` underneath, so the numbers are the same; the
translation of COMET's arguments lives here, not in the model class. The model is
reference-free: a ``ref`` in the samples is ignored, with one warning saying so.
"""
from __future__ import annotations

import warnings
from typing import Any, Dict, Iterable, List, Mapping, Optional

from .errors import InputError, OptionError, SigmoidQEWarning


class Prediction(dict):
    """COMET's ``Prediction``: a dict whose keys are also attributes (``.scores``,
    ``.system_score``, ``.metadata``), plus ``.result``, the full :class:`~.results.QEResult`
    (tokens, signature)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def samples_to_lists(samples: Iterable[Mapping[str, str]]):
    """(sources, translations) from COMET's list of ``{"src", "mt"[, "ref"]}`` dicts."""
    if isinstance(samples, Mapping):
        raise TypeError("samples must be a list of {'src': ..., 'mt': ...} dicts, not one dict: "
                        "wrap it as [sample]")
    sources: List[str] = []
    translations: List[str] = []
    with_ref = False
    for k, sample in enumerate(samples):
        if not isinstance(sample, Mapping):
            raise TypeError(f"samples[{k}] is {type(sample).__name__}, not a dict with 'src' "
                            "and 'mt'")
        missing = [key for key in ("src", "mt") if key not in sample]
        if missing:
            raise InputError(f"samples[{k}] has no {' or '.join(repr(m) for m in missing)} "
                             "(each sample needs 'src' and 'mt')")
        sources.append(sample["src"])
        translations.append(sample["mt"])
        with_ref = with_ref or "ref" in sample
    if with_ref:
        warnings.warn(SigmoidQEWarning("the samples' 'ref' is ignored: sigmoid-qe scores "
                                       "without references"), stacklevel=3)
    return sources, translations


def check_gpus(gpus: Optional[int], device) -> None:
    """COMET's ``gpus``: 0 is the CPU, 1 one GPU; the model stays where it was loaded, so a
    request it cannot meet is an error rather than a silent change."""
    if gpus is None:
        return
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
        raise OptionError(f"gpus must be 0 (CPU) or 1, got {gpus!r}")
    if gpus > 1:
        raise OptionError(f"gpus={gpus}: one process scores on one device; for several GPUs run "
                          "the command under torchrun (see the README's 'Large jobs')")
    on_gpu = getattr(device, "type", str(device)) == "cuda"
    if gpus == 0 and on_gpu:
        raise OptionError("gpus=0 asks for the CPU but this model was loaded on a GPU: "
                          "load_model(..., device='cpu')")


def predict(model, samples: Iterable[Mapping[str, str]], batch_size: Optional[int] = None,
            gpus: Optional[int] = None, progress_bar: bool = True, spans: bool = False,
            **score_options) -> Prediction:
    """COMET's ``predict`` on a :class:`~sigmoid_qe.model.QEModel` (see the module)."""
    sources, translations = samples_to_lists(samples)
    check_gpus(gpus, getattr(model.backend, "device", "cpu"))
    result = model.score(sources, translations, batch_size=batch_size,
                         progress=None if progress_bar else False, spans=spans,
                         **score_options)
    metadata: Dict[str, Any] = {"signature": result.signature}
    if spans:
        metadata["error_spans"] = [[e.to_dict() for e in seg.errors or []]
                                   for seg in result.segments]
    return Prediction(scores=result.scores, system_score=result.system_score,
                      metadata=Prediction(metadata), result=result)
