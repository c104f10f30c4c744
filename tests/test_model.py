"""load_model and QEModel: the head it loads (another model's only when allowed, the untrained
copy, a state-dict file), the head's method and aggregate, and the Python API's traps."""
from __future__ import annotations

import warnings

import pytest
import torch

from sigmoid_qe import ModelLoadError, SigmoidHead, SigmoidQE, load_model, score
from sigmoid_qe.cli import score as score_cli
from sigmoid_qe.errors import InputError, OptionError

from cli_helpers import pair_files, run


@pytest.fixture()
def files(tmp_path):
    return pair_files(tmp_path)


# -- 3. wrong direction, wrong or broken heads ------------------------------------------------------
def _save_head(directory, matrix, base_model="other-model"):
    head = SigmoidHead.from_output_embedding(matrix.float(), base_model=base_model)
    head.save_pretrained(directory)
    return directory


def test_head_for_another_model_is_refused_unless_allowed(tmp_path, marian_qe, tiny_marian_dir):
    emb = marian_qe.backend.output_embedding()
    head_dir = _save_head(tmp_path / "h", emb)
    with pytest.raises(ModelLoadError, match="trained for other-model"):
        load_model(tiny_marian_dir, head=str(head_dir), device="cpu")
    qe = load_model(tiny_marian_dir, head=str(head_dir), device="cpu", allow_other_model=True)
    assert torch.equal(qe.head.weight, emb)


def test_load_model_options_object_and_old_keywords_agree(tiny_marian_dir):
    from sigmoid_qe.loading import LoadOptions
    old = load_model(tiny_marian_dir, head="untrained", device="cpu", batch_size=3,
                     include_eos=False, softmax_over="full")
    new = load_model(tiny_marian_dir, head="untrained", device="cpu",
                     options=LoadOptions(batch_size=3, include_eos=False, softmax_over="full"))
    assert (old.batch_size, old.include_eos, old.softmax_over) == (3, False, "full")
    assert (new.batch_size, new.include_eos, new.softmax_over) == (3, False, "full")
    # keywords fill in a given options object
    mixed = load_model(tiny_marian_dir, head="untrained", device="cpu",
                       options=LoadOptions(batch_size=3), include_eos=False)
    assert (mixed.batch_size, mixed.include_eos) == (3, False)
    with pytest.raises(TypeError, match="unexpected keyword argument 'batchsize'"):
        load_model(tiny_marian_dir, head="untrained", device="cpu", batchsize=3)


def test_qemodel_takes_an_attached_head_only(marian_qe):
    from sigmoid_qe.model import QEModel
    with pytest.raises(TypeError, match="attached head"):
        QEModel(marian_qe.backend, "some/head/dir")
    again = QEModel(marian_qe.backend, marian_qe.head)
    assert again.head is marian_qe.head


def test_untrained_head_equals_the_output_embedding(marian_qe, tiny_marian_dir):
    qe = load_model(tiny_marian_dir, head="untrained", device="cpu")
    assert torch.equal(qe.head.weight, marian_qe.backend.output_embedding())


def test_state_dict_head_file_works_with_sigmoid_qe(tmp_path, files, capsys, marian_qe,
                                                    tiny_marian_dir):
    from safetensors.torch import save_file
    save_file({"weight": marian_qe.backend.output_embedding().clone()}, str(tmp_path / "r.safetensors"))
    src, hyp = files
    code, out, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--head",
                                          tmp_path / "r.safetensors", "--quiet"], capsys)
    assert code == 0, err
    untrained = run(score_cli.main, ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--head",
                                     "untrained", "--quiet"], capsys)[1]
    assert out == untrained  # the same matrix, so the same scores


def test_the_heads_aggregate_goes_with_its_own_method(tiny_marian_dir, tmp_path, capsys):
    """A head that sums logs (pt-en's choice) must not make ``--method entropy`` fail with
    "aggregate 'prod' needs a probability method": another method gets mean unless asked."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        head = load_model(tiny_marian_dir, device="cpu").head  # its own copy, not marian_qe's
    head.config.method, head.config.aggregate = "sigmoid", "prod"
    head.save_pretrained(tmp_path / "head")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qe = load_model(tiny_marian_dir, head=str(tmp_path / "head"), device="cpu")
    srcs, hyps = ["the cat", "a blue dog"], ["o gato", "um cao azul"]
    assert qe.scoring() == ("sigmoid", "prod") and qe.scoring("entropy") == ("entropy", "mean")
    assert qe.scoring("softmax", "min") == ("softmax", "min")
    default = qe.score(srcs, hyps, progress=False)
    assert default.aggregate == "prod" and max(default.scores) < 0  # a sum of logs
    entropy = qe.score(srcs, hyps, method="entropy", progress=False)
    assert entropy.aggregate == "mean" and "agg:mean|" in str(qe.signature("entropy"))
    src, hyp = tmp_path / "s.txt", tmp_path / "h.txt"
    src.write_text("\n".join(srcs) + "\n")
    hyp.write_text("\n".join(hyps) + "\n")
    code, out, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--head",
                                          tmp_path / "head", "--method", "entropy", "--quiet"], capsys)
    assert code == 0, err
    assert [float(line.rsplit(" ", 1)[1]) for line in out.splitlines()[:2]] == \
        pytest.approx(entropy.scores, abs=1e-4)


# -- 6. Python API traps --------------------------------------------------------------------------------
def test_api_traps(marian_qe, tiny_marian_dir):
    with pytest.raises(TypeError, match="not a single str"):
        marian_qe.score("the cat", "o gato")
    generator = marian_qe.score((s for s in ["the cat", "a dog"]), (h for h in ["o gato", "um cao"]),
                                progress=False)
    assert len(generator.scores) == 2
    with pytest.raises(OptionError, match="batch size"):
        marian_qe.score(["a"], ["b"], batch_size=0)
    with pytest.raises(ValueError):  # OptionError is a ValueError for library callers
        score(["a"], ["b"], model=marian_qe, batch_size=0)
    qe = load_model(tiny_marian_dir, device="cpu", include_eos=False, batch_size=1)
    via_score = score(["the cat"], ["o gato"], model=qe)
    assert via_score.signature.endswith(f"eos:no|dir:forward|version:{__import__('sigmoid_qe').__version__}")
    assert via_score.scores == qe.score(["the cat"], ["o gato"]).scores
    if not torch.cuda.is_available():
        with pytest.raises(OptionError, match="no CUDA device"):
            load_model(tiny_marian_dir, device="cuda")


def test_api_mistakes_are_clear(marian_qe):
    """Library callers get the package's errors with the position and the reason (a lone
    surrogate, a zero batch size, no segments, a malformed pair, a threshold given as a string);
    an empty batch is an empty result, not an error."""
    with pytest.raises(InputError, match=r"sources\[0\]: lone surrogate U\+D800"):
        marian_qe.score(["O gato \ud800 dormiu."], ["The cat slept."])
    with pytest.raises(OptionError, match="batch size"):
        SigmoidQE(model=marian_qe, batch_size=0)
    metric = SigmoidQE(model=marian_qe)
    with pytest.raises(InputError, match="no segments"):
        metric.corpus_score([], [])
    with pytest.raises(TypeError, match=r"pair 0 is not \(source, hypothesis\)"):
        list(marian_qe.iter_score([("a",)], chunk_size=2))
    with pytest.raises(OptionError, match="span_threshold must be a number"):
        marian_qe.score(["a"], ["b"], spans=True, span_threshold="0.3")
    empty = marian_qe.score([], [])  # an empty batch is an empty result
    assert empty.segments == [] and empty.system_score != empty.system_score


def test_iter_score_streams_in_input_order(marian_qe):
    sources = ["the cat", "a dog eats fish", "the big house", "o gato"] * 3
    hyps = ["o gato", "um cao come peixe", "a casa grande", "the cat"] * 3
    whole = marian_qe.score(sources, hyps).scores
    streamed = [s.score for s in marian_qe.iter_score(zip(sources, hyps), chunk_size=5)]
    assert streamed == pytest.approx(whole, abs=1e-6)
