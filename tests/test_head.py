"""SigmoidHead: built from the output embedding, saved and loaded as safetensors, checked against
the model it is attached to, and its config.json refused in one line when it is malformed."""
import json
import os

import pytest
import torch

from sigmoid_qe import ModelLoadError, SigmoidHead, load_model
from sigmoid_qe.backends import load_backend
from sigmoid_qe.cli import score as score_cli

from cli_helpers import one_line, pair_files, run


@pytest.mark.parametrize("fixture", ["tiny_marian_dir", "tiny_llama_dir"])
def test_head_starts_as_copy_of_output_embedding(fixture, request):
    backend = load_backend(request.getfixturevalue(fixture), lp="en-pt", device="cpu")
    with pytest.warns(UserWarning, match="untrained head"):
        model = load_model(request.getfixturevalue(fixture), lp="en-pt", device="cpu")
    lm_head = backend.model.get_output_embeddings().weight
    assert torch.equal(model.head.weight, lm_head)
    assert model.head.untrained
    # a copy, not a view: training the head must never touch the LM
    assert model.head.weight.data_ptr() != model.backend.model.get_output_embeddings().weight.data_ptr()


def test_safetensors_round_trip(tmp_path):
    torch.manual_seed(1)
    head = SigmoidHead.from_output_embedding(torch.randn(11, 5), base_model="m", base_revision="r")
    head.config.training = {"steps": 3}
    head.save_pretrained(tmp_path / "h")
    assert sorted(p.name for p in (tmp_path / "h").iterdir()) == ["config.json", "head.safetensors"]
    loaded = SigmoidHead.from_pretrained(tmp_path / "h")
    assert torch.equal(loaded.weight, head.weight)
    config = json.loads((tmp_path / "h" / "config.json").read_text())
    assert config["vocab_size"] == 11 and config["hidden_size"] == 5 and config["base_model"] == "m"
    assert config["training"] == {"steps": 3}
    assert loaded.fingerprint() == head.fingerprint()


def test_fp16_storage_loads_as_float32(tmp_path):
    head = SigmoidHead.from_output_embedding(torch.randn(7, 3))
    head.save_pretrained(tmp_path, dtype="float16")
    loaded = SigmoidHead.from_pretrained(tmp_path)
    assert loaded.weight.dtype == torch.float32
    assert torch.allclose(loaded.weight, head.weight, atol=1e-2)
    assert json.loads((tmp_path / "config.json").read_text())["dtype"] == "float16"


def test_size_mismatch_is_refused(tiny_marian_dir, tmp_path):
    SigmoidHead.from_output_embedding(torch.randn(9, 16)).save_pretrained(tmp_path)
    with pytest.raises(ModelLoadError, match="does not match"):
        load_model(tiny_marian_dir, head=str(tmp_path), device="cpu")


def test_not_a_head_directory(tmp_path):
    with pytest.raises(ModelLoadError, match="not a head directory"):
        SigmoidHead.from_pretrained(tmp_path)


def test_from_state_dict_keys(tmp_path):
    from safetensors.torch import save_file
    matrix = torch.randn(6, 4)
    save_file({"confidence_head.weight": matrix}, str(tmp_path / "h.safetensors"))
    assert torch.equal(SigmoidHead.from_state_dict(tmp_path / "h.safetensors").weight, matrix)
    torch.save({"weight": matrix}, tmp_path / "h.bin")
    assert torch.equal(SigmoidHead.from_state_dict(tmp_path / "h.bin").weight, matrix)
    with pytest.raises(ModelLoadError, match="none of the keys"):
        SigmoidHead.from_state_dict(tmp_path / "h.bin", key="other")


def test_token_logits_gather_equals_full_projection():
    torch.manual_seed(0)
    head = SigmoidHead.from_output_embedding(torch.randn(50, 8))
    hidden, ids = torch.randn(7, 8), torch.randint(0, 50, (7,))
    full = head.full_logits(hidden).gather(1, ids[:, None]).squeeze(1)
    assert torch.allclose(head.token_logits(hidden, ids), full, atol=1e-6)


def _save_head(directory, matrix, base_model="other-model"):
    head = SigmoidHead.from_output_embedding(matrix.float(), base_model=base_model)
    head.save_pretrained(directory)
    return directory


def test_non_finite_and_non_float_heads_are_refused(tmp_path, marian_qe):
    from safetensors.torch import save_file
    emb = marian_qe.backend.output_embedding()
    bad = emb.clone()
    bad[3, 2] = float("nan")
    _save_head(tmp_path / "nan", emb)
    save_file({"weight": bad}, str(tmp_path / "nan" / "head.safetensors"))
    with pytest.raises(ModelLoadError, match="NaN or infinite"):
        SigmoidHead.from_pretrained(tmp_path / "nan")
    save_file({"weight": torch.zeros(emb.shape, dtype=torch.int32)}, str(tmp_path / "int.safetensors"))
    with pytest.raises(ModelLoadError, match="not floating point"):
        SigmoidHead.load(tmp_path / "int.safetensors")


def _head_with(marian_qe, folder, **config):
    """An untrained head saved in ``folder`` with ``config`` written over its config.json."""
    head = SigmoidHead.from_output_embedding(marian_qe.backend.output_embedding(),
                                             marian_qe.backend.name, marian_qe.backend.revision)
    head.save_pretrained(folder)
    data = json.loads((folder / "config.json").read_text())
    data.update(config)
    (folder / "config.json").write_text(json.dumps(data))
    return folder


@pytest.mark.parametrize("config,words", [
    ({"span_thresholds": {"sigmoid": {"minor": "abc", "major": None}}}, ["span_thresholds"]),
    ({"span_thresholds": {"sigmoid": [1, 2]}}, ["span_thresholds.sigmoid"]),
    ({"span_thresholds": {"sigmoid": {"minor": 0.1, "major": 0.5}}}, ["major"]),
    ({"method": "rm -rf /"}, ["unknown method"]),
    ({"method": "entropy", "aggregate": "prod"}, ["aggregate"]),
    ({"aggregate": 3}, ["aggregate must be a string"]),
])
def test_bad_head_config_is_one_line_naming_config_json(marian_qe, tiny_marian_dir, tmp_path,
                                                        capsys, config, words):
    """A malformed head config.json (span thresholds, method, aggregate) is a one-line error that
    names the file, before any output is written."""
    src, hyp = pair_files(tmp_path)
    head = _head_with(marian_qe, tmp_path / "head", **config)
    code, out, err = run(score_cli, ["-s", src, "-t", hyp, "--model", tiny_marian_dir,
                                     "--head", head, "--spans", "--to-json", tmp_path / "h.json",
                                     "--device", "cpu", "--quiet"], capsys)
    one_line(code, out, err, f"{head / 'config.json'}:", *words, alone=False)
    assert out == "" and not (tmp_path / "h.json").exists()


def test_same_folder_name_other_revision_is_refused(marian_qe):
    """A head is matched to its model by name and revision: a head whose base_model only ends in
    the same folder name, with another revision, is refused unless allowed."""
    backend = marian_qe.backend
    name = os.path.basename(backend.name.rstrip("/"))
    head = SigmoidHead.from_output_embedding(backend.output_embedding(), "/etc/" + name,
                                             "deadbeef")
    with pytest.raises(ModelLoadError, match="revision deadbeef"):
        head.check_compatible(backend.vocab_size, backend.hidden_size, backend.name, "cafe1234")
    head.check_compatible(backend.vocab_size, backend.hidden_size, backend.name, "deadbeef")
    head.check_compatible(backend.vocab_size, backend.hidden_size, backend.name, None)
    head.check_compatible(backend.vocab_size, backend.hidden_size, backend.name, "cafe1234",
                          allow_other_model=True)


def test_a_pickle_head_is_refused_in_plain_words(tmp_path):
    """A .pt head that holds Python objects (here one that would run a command) is never
    unpickled; the error used to quote torch's advice to load it with weights_only=False."""
    import os
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "pwned"),))
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"weight": Evil()}))
    with pytest.raises(ModelLoadError) as caught:
        SigmoidHead.from_state_dict(path)
    assert "not readable as plain tensors" in str(caught.value)
    assert "weights_only" not in str(caught.value)
    assert not (tmp_path / "pwned").exists()
