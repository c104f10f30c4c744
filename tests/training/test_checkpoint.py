"""Checkpoints: --keep-checkpoints keeps the newest, --resume clears what a killed run left, and a
damaged checkpoint (bad JSON, truncated or random tensors, a pickle, a `latest` pointing outside
the run) is passed over for the older intact one, never followed or unpickled."""
from __future__ import annotations

import os
import shutil
import warnings

import pytest

from sigmoid_qe.cli import train as train_cli
from sigmoid_qe.errors import InputError
from sigmoid_qe.training import TrainOptions, load_parallel, train_head
from sigmoid_qe.training.checkpoint import latest_checkpoint, resume_candidates

from cli_helpers import run
from training_helpers import single_thread, toy_files, write_toy_tsv


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from single_thread()


def test_resume_removes_a_killed_checkpoint_and_keep_checkpoints(tmp_path, capsys, tiny_marian_dir):
    data = write_toy_tsv(tmp_path / "toy.tsv", 40)
    out = tmp_path / "run"
    common = ["--model", tiny_marian_dir, "--lp", "en-pt", "--train", data, "--output-dir", out,
              "--batch-size", "4", "--max-steps", "6", "--save-every", "2", "--device", "cpu",
              "--quiet", "--keep-checkpoints", "1"]
    assert run(train_cli.main, common, capsys)[0] == 0
    assert [p.name for p in (out / "checkpoints").glob("step-*")] == ["step-0000006"]
    stale = out / "checkpoints" / ".step-0000008.tmp-999"
    stale.mkdir()
    assert run(train_cli.main, common + ["--resume"], capsys)[0] == 0
    assert not stale.exists()


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    train_path, dev_path = toy_files(tmp_path_factory.mktemp("toy"), n_train=32, n_dev=8)
    return load_parallel(train_path, "en-pt"), load_parallel(dev_path, "en-pt")


def _options(**extra):
    return TrainOptions(**dict(dict(batch_size=8, epochs=1, lr=1e-2, eval_every=100, seed=0,
                                    save_every=1, max_steps=3), **extra))


@pytest.fixture(scope="module")
def finished_run(marian_qe, toy, tmp_path_factory):
    """A three-step run with a checkpoint after each step."""
    out = tmp_path_factory.mktemp("runs") / "run_ok"
    train_head(marian_qe.backend, toy[0], out, options=_options(keep_checkpoints=2),
               progress=False)  # an older checkpoint to fall back on
    assert (out / "checkpoints" / "step-0000003").is_dir()
    assert (out / "checkpoints" / "step-0000002").is_dir()
    return out


def _damage(folder, name, how):
    path = folder / "checkpoints" / "step-0000003" / name
    if how == "garbage-json":
        path.write_text('{"state": garbage')
    elif how == "truncate":
        with open(path, "r+b") as handle:
            handle.truncate(1000)
    elif how == "random":
        path.write_bytes(os.urandom(500))
    elif how == "pickle":
        import pickle

        class Evil:
            def __reduce__(self):
                return (os.system, (f"touch {folder}/pwned",))
        path.write_bytes(pickle.dumps(Evil()))


@pytest.mark.parametrize("name,how", [("state.json", "garbage-json"),
                                      ("head.safetensors", "truncate"),
                                      ("optimizer.pt", "random"),
                                      ("optimizer.pt", "pickle"),
                                      ("rng.pt", "random")])
def test_damaged_checkpoint_falls_back_to_the_older_one(marian_qe, toy, finished_run, tmp_path,
                                                        name, how):
    """Any damaged file of the newest checkpoint sends --resume to the one before, with a warning
    naming it; a pickled optimizer state is never executed."""
    run = tmp_path / "ck"
    shutil.copytree(finished_run, run)
    _damage(run, name, how)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = train_head(marian_qe.backend, toy[0], run, options=_options(resume=True),
                            progress=False)
    assert result.steps == 3  # step 3 redone from the intact step-2 checkpoint
    assert any("damaged checkpoint" in str(w.message) and "step-0000002" in str(w.message)
               for w in caught)
    assert not (run / "pwned").exists()  # the pickle never ran


def test_every_checkpoint_damaged_is_one_line(marian_qe, toy, finished_run, tmp_path):
    run = tmp_path / "ck"
    shutil.copytree(finished_run, run)
    for step in ("step-0000002", "step-0000003"):
        (run / "checkpoints" / step / "state.json").write_text("{")
    with pytest.raises(InputError, match="every checkpoint is damaged"):
        train_head(marian_qe.backend, toy[0], run, options=_options(resume=True), progress=False)


def test_latest_pointing_outside_is_not_followed(marian_qe, toy, finished_run, tmp_path):
    """A `latest` pointer naming a folder outside the run's checkpoints/ is ignored, and resume
    only ever considers checkpoints inside the run."""
    run = tmp_path / "ck"
    shutil.copytree(finished_run, run)
    outside = tmp_path / "outside" / "step-0000003"
    shutil.copytree(run / "checkpoints" / "step-0000003", outside)
    (run / "checkpoints" / "latest").write_text("../../outside/step-0000003\n")
    assert latest_checkpoint(run) is None
    assert all(p.parent == run / "checkpoints" for p in resume_candidates(run))


def test_a_toy_run_leaves_the_head_and_one_checkpoint(tmp_path, capsys, tiny_marian_dir):
    """By default only the last checkpoint stays next to the head (--keep-checkpoints 1)."""
    data = write_toy_tsv(tmp_path / "toy.tsv", 40)
    out = tmp_path / "run"
    argv = ["--model", tiny_marian_dir, "--lp", "en-pt", "--train", data, "--output-dir", out,
            "--batch-size", "4", "--max-steps", "6", "--save-every", "2", "--device", "cpu",
            "--quiet", "--cache-features"]
    assert run(train_cli.main, argv, capsys)[0] == 0
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == [".sigmoid-qe-folder", "checkpoints/latest",
                     "checkpoints/step-0000006/head.safetensors",
                     "checkpoints/step-0000006/optimizer.pt", "checkpoints/step-0000006/rng.pt",
                     "checkpoints/step-0000006/scheduler.pt",
                     "checkpoints/step-0000006/state.json", "config.json", "head.safetensors"]
    again = tmp_path / "two"
    argv[argv.index(out)] = again
    assert run(train_cli.main, argv + ["--keep-checkpoints", "2"], capsys)[0] == 0
    assert sorted(p.name for p in (again / "checkpoints").glob("step-*")) == [
        "step-0000004", "step-0000006"]
