"""Checkpoints: --keep-checkpoints keeps the newest, and --resume clears what a killed run left."""
from __future__ import annotations

from sigmoid_qe.cli import train as train_cli

from cli_helpers import run
from training_helpers import write_toy_tsv


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
