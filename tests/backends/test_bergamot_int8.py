"""--precision int8: the Bergamot students' stored int8 weights through int8 GEMMs."""
from __future__ import annotations

import numpy as np
import pytest

from sigmoid_qe import load_model
from sigmoid_qe.backends.bergamot import find_model_files
from sigmoid_qe.backends.bergamot_int8 import row_scales
from sigmoid_qe.backends.marian_reader import read_marian_model
from sigmoid_qe.errors import OptionError

SOURCES = ["The cat sat on the mat.", "We now have four-month-old mice that are non-diabetic.",
           "The weather is nice today.", "Where is the train station?", "I like green apples."]
GOOD = ["O gato sentou no tapete.", "Agora temos camundongos de quatro meses que não são diabéticos.",
        "O tempo está bom hoje.", "Onde fica a estação de trem?", "Eu gosto de maçãs verdes."]
BAD = ["O cão comeu o tapete.", "Agora temos ratos.", "Hoje.", "Where is the train station?",
       "Eu não gosto de maçãs verdes."]


def test_row_scales_recover_the_stored_integers():
    model = read_marian_model(str(find_model_files("bergamot-en-pt").model))
    multipliers = list(model.multipliers.values())
    for name in ("encoder_l1_ffn_W1", "decoder_l2_context_Wq"):
        weight = np.ascontiguousarray(model.tensors[name].T)  # [out, in]
        scales = row_scales(weight, multipliers)
        assert np.allclose(scales, 1.0 / model.multipliers[name])
        ints = weight / scales[:, None]
        assert np.abs(ints - np.round(ints)).max() < 1e-3 and np.abs(ints).max() <= 127
    fused = np.concatenate([model.tensors[f"encoder_l1_self_W{k}"].T for k in "qkv"])
    scales = row_scales(fused, multipliers)
    for part, k in enumerate("qkv"):  # each part of a fused projection keeps its own scale
        assert np.allclose(scales[part * 256:(part + 1) * 256],
                           1.0 / model.multipliers[f"encoder_l1_self_W{k}"])


def test_int8_scores_agree_with_fp32_and_are_marked():
    fp32 = load_model("bergamot-en-pt", device="cpu")
    int8 = load_model("bergamot-en-pt", device="cpu", precision="int8")
    # on the [0, 1] scale of mean token probabilities, where 0.03 means something
    a = np.array(fp32.score(SOURCES * 2, GOOD + BAD, method="sigmoid", aggregate="mean",
                            progress=False).scores)
    b = np.array(int8.score(SOURCES * 2, GOOD + BAD, method="sigmoid", aggregate="mean",
                            progress=False).scores)
    assert np.abs(a - b).max() < 0.03 and not np.array_equal(a, b)
    assert np.argsort(a[:5] - a[5:]).tolist() == np.argsort(b[:5] - b[5:]).tolist()
    # the shipped default scoring ranks the good translations above the bad ones under both
    a, b = (np.array(m.score(SOURCES * 2, GOOD + BAD, progress=False).scores) for m in (fp32, int8))
    assert (a[:5] > a[5:]).tolist() == (b[:5] > b[5:]).tolist()
    assert "prec:int8" in str(int8.signature()) and "prec:" not in str(fp32.signature())
    assert int8.translate(SOURCES[:2])  # decoding runs through the int8 layers too


def test_int8_is_refused_where_it_does_not_apply(tiny_marian_dir):
    with pytest.raises(OptionError, match="implemented for the Bergamot models"):
        load_model(tiny_marian_dir, device="cpu", precision="int8")
