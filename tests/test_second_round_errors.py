"""One line, exit 2, where the second adversary round found tracebacks or silent mistakes
(issue 18, sections 4, 6 and 7): head configs, damaged checkpoints, span gold, meta-evaluation
of undefined correlations and duplicated rows, the Python API, Ctrl-C while starting, progress
bars off a terminal, and sacrebleu's reference-stream convention.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings

import pytest
import torch

from sigmoid_qe import SigmoidQE
from sigmoid_qe.cli import compare as compare_cli
from sigmoid_qe.cli import eval as eval_cli
from sigmoid_qe.cli import score as score_cli
from sigmoid_qe.errors import InputError, ModelLoadError, OptionError
from sigmoid_qe.head import SigmoidHead
from sigmoid_qe.training import TrainOptions, load_parallel, train_head

from cli_helpers import run, subprocess_env
from training_helpers import single_thread, toy_files


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from single_thread()


def _one_error_line(code, err, *words):
    assert code == 2, err
    assert "Traceback" not in err and err.count("error:") == 1, err
    line = next(x for x in err.splitlines() if "error:" in x)
    for word in words:
        assert word in line, err


# -- head configs (H_thrstr, H_thrlist, H_badmethod, H_trav3) ------------------------------
@pytest.fixture()
def pair(tmp_path):
    (tmp_path / "s").write_text("the cat\na dog\n")
    (tmp_path / "t").write_text("o gato\num cao\n")
    return tmp_path / "s", tmp_path / "t"


def _head_with(marian_qe, folder, **config):
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
def test_bad_head_config_is_one_line_naming_config_json(marian_qe, tiny_marian_dir, pair,
                                                        tmp_path, capsys, config, words):
    head = _head_with(marian_qe, tmp_path / "head", **config)
    code, out, err = run(score_cli.main, ["-s", pair[0], "-t", pair[1], "--model", tiny_marian_dir,
                                      "--head", head, "--spans", "--to-json", tmp_path / "h.json",
                                      "--device", "cpu", "--quiet"], capsys)
    _one_error_line(code, err, f"{head / 'config.json'}:", *words)
    assert out == "" and not (tmp_path / "h.json").exists()


def test_same_folder_name_other_revision_is_refused(marian_qe, tmp_path):
    """H_trav3: base_model /etc/NAME with revision deadbeef was accepted for model NAME."""
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


# -- damaged checkpoints (T05a-g, T05e) -------------------------------------------------------
@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    train_path, dev_path = toy_files(tmp_path_factory.mktemp("toy"), n_train=32, n_dev=8)
    return load_parallel(train_path, "en-pt"), load_parallel(dev_path, "en-pt")


def _options(**extra):
    return TrainOptions(**dict(dict(batch_size=8, epochs=1, lr=1e-2, eval_every=100, seed=0,
                                    save_every=1, max_steps=3), **extra))


@pytest.fixture(scope="module")
def finished_run(marian_qe, toy, tmp_path_factory):
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


@pytest.mark.parametrize("name,how", [("state.json", "garbage-json"),       # T05a
                                      ("head.safetensors", "truncate"),     # T05b
                                      ("optimizer.pt", "random"),           # T05c
                                      ("optimizer.pt", "pickle"),           # T05d
                                      ("rng.pt", "random")])                # T05g
def test_damaged_checkpoint_falls_back_to_the_older_one(marian_qe, toy, finished_run, tmp_path,
                                                        name, how):
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
    """T05e: `latest` naming ../../outside/step-0000003 was followed."""
    from sigmoid_qe.training.checkpoint import latest_checkpoint, resume_candidates
    run = tmp_path / "ck"
    shutil.copytree(finished_run, run)
    outside = tmp_path / "outside" / "step-0000003"
    shutil.copytree(run / "checkpoints" / "step-0000003", outside)
    (run / "checkpoints" / "latest").write_text("../../outside/step-0000003\n")
    assert latest_checkpoint(run) is None
    assert all(p.parent == run / "checkpoints" for p in resume_candidates(run))


# -- span gold and meta-evaluation (G01, G06, E05, E06, E11) ---------------------------------
def test_span_gold_with_a_non_string_mt_is_one_line(tmp_path, capsys):
    gold = tmp_path / "g.json"
    gold.write_text(json.dumps([{"src": "a", "mt": 5, "errors": []}]))
    pred = tmp_path / "p.json"
    pred.write_text(json.dumps([{"src": "a", "mt": "5", "errors": []}]))
    code, out, err = run(eval_cli.main, ["--span-gold", gold, "--span-predictions", pred], capsys)
    _one_error_line(code, err, "g.json", "'mt' must be a string")


def test_span_predictions_of_two_systems_are_refused(tmp_path, capsys):
    record = {"src": "a", "mt": "b c", "errors": []}
    gold = tmp_path / "g.json"
    gold.write_text(json.dumps([record]))
    pred = tmp_path / "p.json"
    pred.write_text(json.dumps({"sysA": [record], "sysB": [record]}))
    code, out, err = run(eval_cli.main, ["--span-gold", gold, "--span-predictions", pred], capsys)
    _one_error_line(code, err, "holds 2 systems", "sysA")


@pytest.mark.parametrize("rows", [
    ["a\tb\t0.5\t0.3"],                                            # E05: one row
    ["a\tb\t0.5\t0.3", "c\td\t0.7\t0.3", "e\tf\t0.1\t0.3"],        # E06: constant metric
    ["a\tb\t0.5\t0.3", "c\td\t0.5\t0.1", "e\tf\t0.5\t0.9"],        # E06: constant human
])
def test_undefined_correlations_are_na_not_zero(tmp_path, capsys, rows):
    tsv = tmp_path / "e.tsv"
    tsv.write_text("\n".join(["src\tmt\tscore\tm"] + rows) + "\n")
    code, out, err = run(eval_cli.main, ["--tsv", tsv, "--format", "json",
                                     "--measures", "pearson", "spearman", "kendall"], capsys)
    assert code == 0, err
    records = json.loads(out)
    assert records and all(r["value"] is None for r in records), records
    assert "undefined" in err and "reported as n/a" in err
    code, out, err = run(eval_cli.main, ["--tsv", tsv, "--measures", "pearson"], capsys)
    assert "0.000" not in out


def test_duplicated_segment_in_wmt_da_is_an_error_naming_the_line(tmp_path, capsys):
    da = tmp_path / "da-dup.en-de.csv"
    da.write_text("SYS SID RAW.SCR Z.SCR N\nA 1 50 0.1 1\nA 2 60 0.2 1\nB 1 70 0.3 1\n"
                  "A 2 90 0.9 1\nB 2 40 -0.1 1\n")
    metric = tmp_path / "m.txt"
    metric.write_text("A 0.1\nA 0.2\nB 0.3\nB 0.4\n")
    code, out, err = run(eval_cli.main, ["--wmt-da", da, "--add-metric", f"m={metric}", "--level",
                                     "seg", "--measures", "pearson"], capsys)
    _one_error_line(code, err, f"{da}:5:", "duplicate segment A/2 (first at line 3)")
    assert out == ""


# -- the Python API (A11, A12, A21, A24, A29, A31; sacrebleu's [refs]) --------------------------
def test_api_mistakes_are_clear(marian_qe):
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
    empty = marian_qe.score([], [])  # kept: an empty batch is an empty result (A11)
    assert empty.segments == [] and empty.system_score != empty.system_score


def test_sigmoidqe_takes_sacrebleus_reference_streams(marian_qe):
    metric = SigmoidQE(model=marian_qe)
    hyps, srcs = ["o gato", "um cao"], ["the cat", "a dog"]
    plain = metric.corpus_score(hyps, srcs).score
    assert metric.corpus_score(hyps, [srcs]).score == plain       # sacrebleu: [refs]
    assert metric.sentence_score(hyps[0], [srcs[0]]).score == metric.sentence_score(
        hyps[0], srcs[0]).score
    with pytest.raises(TypeError, match="2 reference streams"):
        metric.corpus_score(hyps, [srcs, srcs])


def test_readme_exports():
    import sigmoid_qe
    from sigmoid_qe import Decoding
    assert Decoding("beam", 2).n == 2 and "Decoding" in dir(sigmoid_qe)


def test_python_m_eval_runs():
    proc = subprocess.run([sys.executable, "-m", "sigmoid_qe.cli.eval", "--version"],
                          env=subprocess_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("sigmoid-qe-eval ")


# -- compare: the same file twice, bars off a terminal (C02) ---------------------------------
def test_compare_same_file_two_ways_is_refused(tiny_marian_dir, pair, capsys, monkeypatch):
    monkeypatch.chdir(pair[0].parent)
    code, out, err = run(compare_cli.main, ["-s", "s", "-t", "t", "./t", "--model", tiny_marian_dir,
                                        "--device", "cpu"], capsys)
    _one_error_line(code, err, "given twice with -t")


def test_progress_bars_only_on_a_terminal(tiny_marian_dir, pair, tmp_path):
    """C02 / the new user's T1: -compare and -train wrote tqdm bars into a redirected stderr."""
    (tmp_path / "u").write_text("o cao\num gato\n")
    compare = subprocess.run([sys.executable, "-m", "sigmoid_qe.cli.compare", "-s", str(pair[0]),
                              "-t", str(pair[1]), str(tmp_path / "u"), "--model", tiny_marian_dir,
                              "--device", "cpu", "--n-samples", "50"],
                             env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert compare.returncode == 0, compare.stderr
    train_path, _ = toy_files(tmp_path / "data", n_train=16, n_dev=4)
    train = subprocess.run([sys.executable, "-m", "sigmoid_qe.cli.train", "--model",
                            tiny_marian_dir, "--lp", "en-pt", "--train", str(train_path),
                            "--output-dir", str(tmp_path / "run"), "--max-steps", "2",
                            "--batch-size", "8", "--device", "cpu"],
                           env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert train.returncode == 0, train.stderr
    for proc in (compare, train):
        assert "it/s" not in proc.stderr and "%|" not in proc.stderr, proc.stderr


def test_ctrl_c_while_importing_exits_130_quietly(tmp_path):
    """The new user: Ctrl-C in the first seconds printed a 30-line traceback from torch's
    import."""
    proc = subprocess.Popen([sys.executable, "-m", "sigmoid_qe.cli.score", "-s", "x", "-t", "y"],
                            env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.4)  # python is up, torch is being imported
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    if proc.returncode == 2 and "error:" in err:
        pytest.skip("the command started before the signal (a fast machine)")
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip() == "sigmoid-qe: interrupted", err
    assert torch is not None


def test_duplicated_domain_score_is_an_error(tmp_path):
    from sigmoid_qe.metaeval.mtme import read_domain_score_file
    path = tmp_path / "m.domain.score"
    path.write_text("news A 0.1\nnews B 0.2\nnews A 0.3\n")
    with pytest.raises(InputError, match=r"m.domain.score:3: duplicate score for system A in "
                                         r"domain news \(first at line 1\)"):
        read_domain_score_file(path, ["news"])
