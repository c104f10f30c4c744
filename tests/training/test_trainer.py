"""train_head on tiny random models: it learns, it resumes exactly, the cache is faithful."""
import json

import pytest
import torch

from sigmoid_qe.cli import train as train_cli
from sigmoid_qe.errors import InputError
from sigmoid_qe.head import SigmoidHead
from sigmoid_qe.training import TrainOptions, load_parallel, train_head
from sigmoid_qe.training.loss import bce_sum

from training_helpers import single_thread, toy_files


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from single_thread()


@pytest.fixture(scope="module")
def marian(marian_qe):
    return marian_qe.backend


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    train_path, dev_path = toy_files(tmp_path_factory.mktemp("toy"))
    return load_parallel(train_path, "en-pt"), load_parallel(dev_path, "en-pt")


def options(**overrides) -> TrainOptions:
    base = dict(batch_size=8, epochs=2, lr=1e-2, eval_every=4, seed=0)
    base.update(overrides)
    return TrainOptions(**base)


def train(marian, toy, out, **overrides):
    return train_head(marian, toy[0], out, dev=toy[1], options=options(**overrides), progress=False)


def test_loss_decreases_and_head_is_written(marian, toy, tmp_path):
    result = train(marian, toy, tmp_path / "run", epochs=3)
    history = [loss for _, loss in result.history]
    assert history[0] > 0.5 and result.dev_loss < 0.75 * history[0]
    head = SigmoidHead.from_pretrained(tmp_path / "run")
    assert torch.equal(head.weight, result.head.weight)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    record = config["training"]
    assert config["base_model"] == marian.name
    assert record["data"]["train"][0]["sha256"] and record["data"]["dev"][0]["path"].endswith("dev.tsv")
    assert record["steps"] == result.steps == 3 * record["steps_per_epoch"]
    assert record["dev_loss"] == pytest.approx(min(history))
    assert record["options"]["n_unigram"] == 5 and record["options"]["temperature"] == 2.0
    assert record["package_version"]


def test_gradient_is_sparse(marian):
    weight = torch.nn.Parameter(marian.output_embedding().clone())
    hidden = torch.randn(6, weight.shape[1])
    negatives = torch.tensor([[4, 5]] * 6)
    loss, count = bce_sum(weight, hidden, torch.tensor([7] * 6), negatives, torch.ones(6, 2, dtype=torch.bool))
    loss.backward()
    assert weight.grad.is_sparse and count == 18
    assert set(weight.grad.coalesce().indices()[0].tolist()) == {4, 5, 7}


class Killed(Exception):
    pass


@pytest.mark.parametrize("cache", [False, True])
def test_resume_gives_the_same_head(marian, toy, tmp_path, cache):
    """Killed at step 19 of 24 (in epoch 2, so a cached run has its cache filled), resumed
    from the step-18 checkpoint: the same head as an uninterrupted run."""
    extra = dict(save_every=3, epochs=2, cache_features=cache)
    full = train(marian, toy, tmp_path / "full", **extra)
    assert full.steps == 24

    def kill(step, _loss):
        if step == 19:
            raise Killed()

    with pytest.raises(Killed):
        train_head(marian, toy[0], tmp_path / "part", dev=toy[1], options=options(**extra),
                   progress=False, on_step=kill)
    part = tmp_path / "part"
    assert not (part / "head.safetensors").exists()  # a killed run leaves no head behind
    assert (part / "checkpoints" / "latest").read_text().strip() == "step-0000018"
    with pytest.raises(InputError, match="--resume"):
        train(marian, toy, part, **extra)
    with pytest.raises(InputError, match="lr was"):
        train(marian, toy, part, resume=True, **dict(extra, lr=5e-3))
    resumed = train(marian, toy, part, resume=True, **extra)
    assert resumed.steps == full.steps
    assert (resumed.head.weight - full.head.weight).abs().max().item() <= 1e-6
    assert resumed.history == full.history


def test_cache_reads_instead_of_running_the_model(marian, toy, tmp_path):
    calls = {"n": 0}
    original = marian.forward

    def counting(batch):
        calls["n"] += 1
        return original(batch)

    plain = train(marian, toy, tmp_path / "plain", epochs=3)
    marian.forward = counting
    try:
        cached = train(marian, toy, tmp_path / "cached", epochs=3, cache_features=True,
                       cache_dtype="float32")
        forwards_fp32 = calls["n"]
        calls["n"] = 0
        half = train(marian, toy, tmp_path / "half", epochs=3, cache_features=True)
    finally:
        marian.forward = original
    batches_per_epoch = -(-len(toy[0]) // 8)
    dev_batches = -(-len(toy[1]) // 8)
    assert forwards_fp32 == batches_per_epoch + dev_batches  # epochs 2 and 3 never ran the model
    assert calls["n"] == forwards_fp32
    # float32 cache: exactly the uncached run (same negatives, same hidden states)
    assert (cached.head.weight - plain.head.weight).abs().max().item() <= 1e-6
    # float16 cache: hidden states rounded, the result barely moves
    assert half.dev_loss == pytest.approx(plain.dev_loss, abs=2e-3)
    assert not (tmp_path / "cached" / "feature-cache").exists()  # removed after training


def test_early_stopping_keeps_the_best_head(marian, toy, tmp_path):
    """An absurd learning rate makes every evaluation worse: training stops after `patience`
    evaluations and the kept head is the best one seen, here the initial head."""
    result = train(marian, toy, tmp_path / "es", lr=5.0, eval_every=1, epochs=5, patience=3)
    assert result.stopped == "early stopping" and result.steps == 3
    assert result.history[0][0] == 0 and result.dev_loss == result.history[0][1]
    assert torch.equal(result.head.weight, marian.output_embedding().float())


def test_cli_causal_model_with_options(tiny_llama_dir, toy, tmp_path, capsys):
    train_path = toy[0].files[0]
    code = train_cli.main(["--model", tiny_llama_dir, "--lp", "en-pt", "--train", train_path,
                           "--dev", toy[1].files[0], "--output-dir", str(tmp_path / "llama"),
                           "--max-steps", "5", "--eval-every", "5", "--negatives", "2,3",
                           "--negative-temperature", "1.5", "--no-dominant-exclusion", "--save-dtype",
                           "float16", "--quiet", "--device", "cpu"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith(str(tmp_path / "llama")) and "steps: 5" in out
    head = SigmoidHead.from_pretrained(tmp_path / "llama")
    assert head.config.dtype == "float16"
    options_record = head.config.training["options"]
    assert (options_record["n_unigram"], options_record["n_softmax"]) == (2, 3)
    assert options_record["exclude_dominant"] is False and head.config.training["stopped"] == "max steps"


def test_cli_starts_from_a_released_state_dict(tiny_marian_dir, marian, toy, tmp_path, capsys):
    """A head published as a plain state dict (key confidence_head.weight, as the paper's
    heads) can be loaded as the starting point; an initial head of the wrong size is refused."""
    start = marian.output_embedding().clone() * 0.5
    torch.save({"confidence_head.weight": start}, tmp_path / "released.bin")
    argv = ["--model", tiny_marian_dir, "--lp", "en-pt", "--train", toy[0].files[0], "--max-steps",
            "1", "--quiet", "--device", "cpu", "--lr", "1e-3"]
    assert train_cli.main(argv + ["--head", str(tmp_path / "released.bin"), "--output-dir",
                                  str(tmp_path / "a")]) == 0
    trained = SigmoidHead.from_pretrained(tmp_path / "a").weight
    assert (trained - start).abs().max().item() <= 1e-3 + 1e-6  # one Adam step from `start`
    torch.save({"weight": torch.zeros(3, 4)}, tmp_path / "wrong.bin")
    capsys.readouterr()
    assert train_cli.main(argv + ["--head", str(tmp_path / "wrong.bin"), "--output-dir",
                                  str(tmp_path / "b")]) == 2
    assert "does not match" in capsys.readouterr().err


def test_cli_trains_a_head_of_another_model_only_when_allowed(tiny_marian_dir, marian, toy,
                                                                tmp_path, capsys):
    """--head made for another base model: refused (exit 2) without --allow-other-model, and
    trained from with it (the trainer does not check the base model a second time)."""
    start = SigmoidHead.from_output_embedding(marian.output_embedding().clone() * 0.5,
                                              base_model="other-model")
    start.save_pretrained(tmp_path / "foreign")
    argv = ["--model", tiny_marian_dir, "--lp", "en-pt", "--train", toy[0].files[0], "--max-steps",
            "1", "--quiet", "--device", "cpu", "--lr", "1e-3", "--head", str(tmp_path / "foreign")]
    capsys.readouterr()
    assert train_cli.main(argv + ["--output-dir", str(tmp_path / "refused")]) == 2
    assert "trained for other-model" in capsys.readouterr().err
    assert not (tmp_path / "refused" / "head.safetensors").exists()
    assert train_cli.main(argv + ["--allow-other-model", "--output-dir", str(tmp_path / "a")]) == 0
    trained = SigmoidHead.from_pretrained(tmp_path / "a").weight
    assert (trained - start.weight).abs().max().item() <= 1e-3 + 1e-6  # one Adam step from `start`
