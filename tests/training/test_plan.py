"""The run plan: encoding the training data warns about truncation with file and line."""
from __future__ import annotations

import warnings


def test_training_truncation_warning_names_file_and_line(tmp_path, marian_qe):
    from sigmoid_qe.training import load_parallel
    from sigmoid_qe.training.plan import encode_data
    path = tmp_path / "d.tsv"
    path.write_text("en\tpt\na\tb\n\n" + "the " * 200 + "\tum\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = load_parallel(path, "en-pt")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        encode_data(marian_qe.backend, data, True)
    assert any(str(w.message).startswith(f"{path}:4: source: longer than") for w in caught)
