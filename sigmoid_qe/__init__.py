"""sigmoid-qe: reference-free MT quality estimation with a Sigmoid Head (Dinh & Niehues 2026).

>>> from sigmoid_qe import score
>>> result = score(sources, translations, model="bergamot-en-pt")
>>> result.scores, result.system_score
"""
from .errors import InputError, ModelLoadError, SigmoidQEError
from .head import SigmoidHead, SigmoidHeadConfig
from .metric import SigmoidQE
from .model import QEModel, load_model, score
from .results import QEResult, SegmentScore, TokenScore
from .version import __version__

__all__ = ["score", "load_model", "SigmoidQE", "QEModel", "QEResult", "SegmentScore", "TokenScore",
           "SigmoidHead", "SigmoidHeadConfig", "SigmoidQEError", "InputError", "ModelLoadError",
           "__version__"]
