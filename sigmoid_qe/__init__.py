"""sigmoid-qe: reference-free MT quality estimation with a Sigmoid Head (Dinh & Niehues 2026).

>>> from sigmoid_qe import score
>>> result = score(sources, translations, model="bergamot-en-pt")
>>> result.scores, result.system_score

Names are imported lazily, so that tools that need no model (``sigmoid-qe-eval``, the
meta-evaluation statistics) start without importing torch.
"""
from importlib import import_module

from .threads import prefer_passive_threads
from .version import __version__

prefer_passive_threads()  # before torch loads: idle threads sleep (see .threads)

_EXPORTS = {
    "score": "model", "load_model": "model", "QEModel": "model",
    "SigmoidQE": "metric",
    "QEResult": "results", "SegmentScore": "results", "TokenScore": "results",
    "SigmoidHead": "head", "SigmoidHeadConfig": "head",
    "SigmoidQEError": "errors", "InputError": "errors", "ModelLoadError": "errors",
    "OptionError": "errors", "Decoding": "decoding",
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sigmoid_qe' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
