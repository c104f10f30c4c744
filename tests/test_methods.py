"""sigmoid_qe.methods: the errors aggregation (minus the expected number of bad tokens)."""
import math

import pytest

from sigmoid_qe.errors import OptionError
from sigmoid_qe.methods import aggregate_scores, check_method


def test_errors_is_minus_the_expected_number_of_bad_tokens():
    assert aggregate_scores([1.0, 1.0, 1.0], "errors") == 0.0  # nothing expected to be wrong
    assert aggregate_scores([0.9, 0.5, 0.0], "errors") == pytest.approx(-1.6)
    # it counts: one more bad token in a longer sentence costs the same as in a short one
    short, long_ = [0.99, 0.0], [0.99] * 20 + [0.0]
    assert aggregate_scores(short, "errors") - aggregate_scores(short + [0.0], "errors") == \
        pytest.approx(aggregate_scores(long_, "errors") - aggregate_scores(long_ + [0.0], "errors"))
    assert math.isnan(aggregate_scores([], "errors"))


def test_errors_needs_probabilities():
    for method in ("sigmoid", "softmax", "boosted", "combined"):
        check_method(method, "errors")
    with pytest.raises(OptionError, match="probability"):
        check_method("entropy", "errors")


def test_errors_from_the_command_line(tmp_path):
    from sigmoid_qe.cli.score import main
    src, hyp = tmp_path / "s.pt", tmp_path / "h.en"
    src.write_text("O gato dorme no sofá.\n", encoding="utf-8")
    hyp.write_text("The cat sleeps on the sofa.\n", encoding="utf-8")
    main(["-s", str(src), "-t", str(hyp), "--lp", "pt-en", "--method", "sigmoid",
          "--aggregate", "errors", "--quiet", "--to-json", str(tmp_path / "o.json")])
    import json
    records = json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))
    records = next(v for v in records.values() if isinstance(v, list))
    tokens = [t["sigmoid"] for t in records[0]["tokens"]]
    assert records[0]["score"] == pytest.approx(-sum(1 - v for v in tokens), abs=1e-9)
    from sigmoid_qe import load_model
    signature = load_model("bergamot-pt-en", device="cpu").signature("sigmoid", "errors")
    assert "|agg:errors|" in str(signature)  # the signature names the scale


def test_token_result_fields_cover_every_statistic():
    """TokenScore and TokenStats spell their statistic fields out (readable, checkable); they
    must stay in step with STATISTICS, in its order."""
    from dataclasses import fields

    from sigmoid_qe.methods import STATISTICS
    from sigmoid_qe.results import TokenScore
    from sigmoid_qe.scoring import TokenStats
    assert [f.name for f in fields(TokenScore)] == ["token", "token_id", "start", "end",
                                                     *STATISTICS]
    assert [f.name for f in fields(TokenStats)] == ["token_ids", *STATISTICS]
    token = TokenScore("▁gato", 7, 0, 4, sigmoid=0.5)
    assert token.to_dict() == {"token": "▁gato", "token_id": 7, "start": 0, "end": 4,
                               "sigmoid": 0.5}


def test_tensors_and_arrays_share_one_log_floor():
    """combined gives the same token scores from torch tensors (scoring) and numpy arrays (the
    benchmarks), down to statistics under float32's smallest normal."""
    import numpy as np
    import torch

    from sigmoid_qe.methods import LOG_FLOOR, token_scores
    sigmoid = [0.9, 1e-40, 0.0, 0.5]
    softmax = [0.2, 0.3, 1e-42, 0.0]
    from_tensors = token_scores("combined", {"sigmoid": torch.tensor(sigmoid),
                                             "softmax": torch.tensor(softmax)}, 0.25)
    from_arrays = token_scores("combined", {"sigmoid": np.array(sigmoid),
                                            "softmax": np.array(softmax)}, 0.25)
    np.testing.assert_allclose(from_tensors.numpy(), from_arrays, rtol=1e-5)
    assert from_arrays[1] == pytest.approx(LOG_FLOOR ** 0.25 * 0.3 ** 0.75, rel=1e-9)
