"""No command deletes or overwrites what it did not make.

Every folder option of every command (sigmoid-qe-train --output-dir and --cache-dir,
sigmoid-qe-eval --plot and --output-dir) is given a folder holding the user's files: the command
refuses it in one line (exit 2) before any work, and every file survives byte for byte.
The folders a command makes carry a mark; only a marked folder is written again (with
--resume or --overwrite) or deleted (the feature cache, its own files only).
"""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from sigmoid_qe.cli import eval as eval_cli
from sigmoid_qe.cli import train as train_cli
from sigmoid_qe.errors import InputError
from sigmoid_qe.folders import FOLDER_MARK, claim_folder, folder_kind

from cli_helpers import one_line
from training_helpers import single_thread, toy_files


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from single_thread()


def _user_folder(folder: Path) -> dict:
    """A folder of the user's: files at the top, in a subfolder, and ones named like ours."""
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    files = {folder / "thesis.txt": b"my thesis\n", folder / "sub" / "data.csv": b"a,b\n1,2\n",
             folder / "config.json": b'{"my": "important project config"}\n',
             folder / "head.safetensors": b"not a head", folder / "meta.json": b"{}",
             folder / "hidden.npy": b"mine"}
    for path, data in files.items():
        path.write_bytes(data)
    return files


def _survived(files: dict) -> None:
    for path, data in files.items():
        assert path.read_bytes() == data, path


def _snapshot(folder: Path) -> dict:
    return {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return toy_files(tmp_path_factory.mktemp("toy"), n_train=24, n_dev=8)


def _train(tiny_marian_dir, data, *extra):
    return ["--model", tiny_marian_dir, "--lp", "en-pt", "--train", str(data[0]), "--max-steps",
            "2", "--batch-size", "8", "--quiet", "--device", "cpu", *map(str, extra)]


def test_train_refuses_a_users_output_folder(tiny_marian_dir, data, tmp_path, capsys):
    files = _user_folder(tmp_path / "proj")
    for extra in ([], ["--resume"], ["--overwrite"]):
        code = train_cli.main(_train(tiny_marian_dir, data, "--output-dir", tmp_path / "proj",
                                     *extra))
        one_line(code, None, capsys.readouterr().err, "proj", "not made by sigmoid-qe", prog="sigmoid-qe-train")
        _survived(files)
    assert not (tmp_path / "proj" / FOLDER_MARK).exists()


def test_train_refuses_the_working_folder(tiny_marian_dir, data, tmp_path, capsys, monkeypatch):
    files = _user_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    code = train_cli.main(_train(tiny_marian_dir, data, "--output-dir", "."))
    one_line(code, None, capsys.readouterr().err, "not made by sigmoid-qe", prog="sigmoid-qe-train")
    code = train_cli.main(_train(tiny_marian_dir, data, "--output-dir", "run",
                                 "--cache-features", "--cache-dir", "."))
    one_line(code, None, capsys.readouterr().err, "--cache-dir", prog="sigmoid-qe-train")
    _survived(files)
    assert not (tmp_path / "run").exists()  # refused before anything was made


def test_train_never_deletes_a_users_cache_folder(tiny_marian_dir, data, tmp_path, capsys):
    """A --cache-dir that already holds the user's files is refused, never deleted with the cache."""
    files = _user_folder(tmp_path / "victim")
    code = train_cli.main(_train(tiny_marian_dir, data, "--output-dir", tmp_path / "run",
                                 "--cache-features", "--cache-dir", tmp_path / "victim"))
    one_line(code, None, capsys.readouterr().err, "victim", "not made by sigmoid-qe", prog="sigmoid-qe-train")
    _survived(files)
    # --keep-cache changes nothing
    code = train_cli.main(_train(tiny_marian_dir, data, "--output-dir", tmp_path / "run2",
                                 "--cache-features", "--keep-cache", "--cache-dir",
                                 tmp_path / "victim"))
    assert code == 2
    _survived(files)


def test_cache_dir_equal_to_or_holding_the_output_dir_is_refused(tiny_marian_dir, data,
                                                                  tmp_path, capsys):
    """A cache folder that is, or holds, the output folder is refused: deleting the cache would
    delete the trained head after success was reported."""
    for cache, out in ((tmp_path / "same", tmp_path / "same"),
                       (tmp_path / "outer", tmp_path / "outer" / "run")):
        code = train_cli.main(_train(tiny_marian_dir, data, "--output-dir", out,
                                     "--cache-features", "--cache-dir", cache))
        one_line(code, None, capsys.readouterr().err, "--cache-dir must not be the --output-dir", prog="sigmoid-qe-train")


def test_a_new_cache_folder_is_removed_and_only_it(tiny_marian_dir, data, tmp_path, capsys):
    empty = tmp_path / "empty-cache"
    empty.mkdir()  # an empty folder the user made: taken, marked, and emptied at the end
    code = train_cli.main(_train(tiny_marian_dir, data, "--output-dir", tmp_path / "run",
                                 "--cache-features", "--cache-dir", tmp_path / "new" / "cache"))
    assert code == 0, capsys.readouterr().err
    assert not (tmp_path / "new" / "cache").exists() and (tmp_path / "new").is_dir()
    assert (tmp_path / "run" / "head.safetensors").is_file()
    assert folder_kind(tmp_path / "run") == "train-output"
    code = train_cli.main(_train(tiny_marian_dir, data, "--output-dir", tmp_path / "run3",
                                 "--cache-features", "--cache-dir", empty, "--keep-cache"))
    assert code == 0, capsys.readouterr().err
    assert folder_kind(empty) == "feature-cache" and (empty / "meta.json").is_file()


def test_an_earlier_run_needs_resume_or_overwrite(tiny_marian_dir, data, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_cli.main(_train(tiny_marian_dir, data, "--output-dir", out, "--save-every", "1")) == 0
    head = (out / "head.safetensors").read_bytes()
    code = train_cli.main(_train(tiny_marian_dir, data, "--output-dir", out, "--lr", "0.5"))
    one_line(code, None, capsys.readouterr().err, "holds an earlier run", "--overwrite", prog="sigmoid-qe-train")
    assert (out / "head.safetensors").read_bytes() == head
    # a user's file dropped into the run folder survives an --overwrite run, and so do a file
    # and a link (to a folder of theirs, named like a checkpoint) inside checkpoints/
    (out / "notes.txt").write_text("mine")
    theirs = _user_folder(tmp_path / "theirs")
    (out / "checkpoints" / "notes.txt").write_text("mine too")
    (out / "checkpoints" / "step-9999999").symlink_to(tmp_path / "theirs", target_is_directory=True)
    old_steps = [p.name for p in (out / "checkpoints").glob("step-000*")]
    assert old_steps
    code = train_cli.main(_train(tiny_marian_dir, data, "--output-dir", out, "--lr", "0.5",
                                 "--overwrite"))
    assert code == 0, capsys.readouterr().err
    assert (out / "head.safetensors").read_bytes() != head
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "checkpoints" / "notes.txt").read_text() == "mine too"
    assert (out / "checkpoints" / "step-9999999").is_symlink()
    for path, content in theirs.items():
        assert path.read_bytes() == content
    assert not [n for n in old_steps if (out / "checkpoints" / n).exists()]  # ours are gone


def test_claim_folder_rules(tmp_path):
    assert claim_folder(tmp_path / "a" / "b", "kind-x", "--x") is False  # created, marked
    assert folder_kind(tmp_path / "a" / "b") == "kind-x"
    with pytest.raises(InputError, match="holds an earlier run"):
        claim_folder(tmp_path / "a" / "b", "kind-x", "--x")
    assert claim_folder(tmp_path / "a" / "b", "kind-x", "--x", reuse=True) is True
    with pytest.raises(InputError, match="not a kind-y folder"):
        claim_folder(tmp_path / "a" / "b", "kind-y", "--y", reuse=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="must be a folder"):
        claim_folder(tmp_path / "file", "kind-x", "--x")
    users = _user_folder(tmp_path / "u")
    with pytest.raises(InputError, match="not made by sigmoid-qe"):
        claim_folder(tmp_path / "u", "kind-x", "--x", reuse=True)
    _survived(users)


def _eval_tsv(path: Path) -> Path:
    rows = ["src\tmt\tscore\tsystem\tm1"]
    for k in range(12):
        rows.append(f"s{k}\tt{k}\t{(k * 7) % 5}\t{'AB'[k % 2]}\t{(k * 3) % 7}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_eval_out_and_plot_folders(tmp_path, capsys):
    tsv = _eval_tsv(tmp_path / "e.tsv")
    flags = [("--output-dir", [])]
    if importlib.util.find_spec("matplotlib") is not None:
        flags.append(("--plot", []))
    for flag, extra in flags:
        files = _user_folder(tmp_path / f"user{flag}")
        if flag == "--output-dir":  # --output-dir goes with --score-testset; the folder is checked first
            argv = ["--mtme-root", str(tmp_path), "--score-testset", "--model", "x",
                    "--output-dir", str(tmp_path / f"user{flag}")]
        else:
            argv = ["--tsv", str(tsv), flag, str(tmp_path / f"user{flag}"), *extra]
        code = eval_cli.main(argv)
        one_line(code, None, capsys.readouterr().err, "not made by sigmoid-qe", prog="sigmoid-qe-eval")
        _survived(files)
        assert not (tmp_path / f"user{flag}" / FOLDER_MARK).exists()


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_eval_plot_writes_a_marked_folder_and_reuses_it_with_overwrite(tmp_path, capsys):
    tsv = _eval_tsv(tmp_path / "e.tsv")
    plots = tmp_path / "plots"
    assert eval_cli.main(["--tsv", str(tsv), "--plot", str(plots)]) == 0, capsys.readouterr().err
    assert folder_kind(plots) == "eval-plots" and any(plots.glob("*.png"))
    before = _snapshot(plots)
    code = eval_cli.main(["--tsv", str(tsv), "--plot", str(plots)])
    one_line(code, None, capsys.readouterr().err, "--overwrite", prog="sigmoid-qe-eval")
    assert _snapshot(plots) == before
    assert eval_cli.main(["--tsv", str(tsv), "--plot", str(plots), "--overwrite"]) == 0


def test_the_mark_is_json_naming_the_kind(tmp_path):
    claim_folder(tmp_path / "x", "train-output", "--output-dir")
    data = json.loads((tmp_path / "x" / FOLDER_MARK).read_text())
    assert data["kind"] == "train-output" and data["made_by"].startswith("sigmoid-qe")
    assert os.listdir(tmp_path / "x") == [FOLDER_MARK]


def test_file_outputs_touch_only_the_named_files(tiny_marian_dir, tmp_path, capsys):
    """Every command writing files into a folder of the user's: afterwards every other file
    there is byte for byte what it was, and nothing else (no temporary file) is left."""
    from sigmoid_qe.cli import compare as compare_cli
    from sigmoid_qe.cli import filter as filter_cli
    from sigmoid_qe.cli import rerank as rerank_cli
    from sigmoid_qe.cli import score as score_cli
    work = tmp_path / "work"
    files = _user_folder(work)
    (work / "s").write_text("the cat\na dog\n")
    (work / "t").write_text("o gato\num cao\n")
    (work / "u").write_text("o cao\num gato\n")
    (work / "c").write_text("o gato\no cao\num cao\num gato\n")
    files.update({work / n: (work / n).read_bytes() for n in ("s", "t", "u", "c")})
    model = ["--model", tiny_marian_dir, "--device", "cpu", "--quiet"]
    runs = [
        (score_cli, ["-s", work / "s", "-t", work / "t", "-o", work / "o1", "--to-json",
                     work / "o2", "--to-jsonl", work / "o3", "--html", work / "o4",
                     "--spans-wmt", work / "o5", "--word-tags", work / "o6"], 6),
        (score_cli, ["-s", work / "s", "-t", work / "t", "-o", work / "r1", "--resume"], 1),
        (filter_cli, ["-s", work / "s", "-t", work / "t", "--keep-top", "50%", "-o", work / "f1",
                      "--dropped", work / "f2"], 2),
        (filter_cli, ["-s", work / "s", "-t", work / "t", "--keep-top", "50%", "-o", work / "f3",
                      "--resume"], 1),
        (rerank_cli, ["-s", work / "s", "-t", work / "c", "--num-candidates", "2", "-o",
                      work / "k1", "--to-json", work / "k2"], 2),
        (compare_cli, ["-s", work / "s", "-t", work / "t", work / "u", "--resamples", "20"], 0),
        (eval_cli, ["--tsv", _eval_tsv(tmp_path / "e.tsv"), "--output", work / "v1"], 1),
    ]
    made = set()
    for module, argv, outputs in runs:
        before = set(work.iterdir())
        code = module.main([str(a) for a in argv + (model if module is not eval_cli else [])])
        err = capsys.readouterr().err
        assert code == 0, err
        new = set(work.iterdir()) - before
        assert len(new) == outputs, sorted(p.name for p in new)
        made |= new
        _survived(files)
    assert not [p for p in work.iterdir() if p.name.endswith((".tmp", ".partial", ".json"))
                and p not in made and p not in files]


# -- a command that fails before its work starts leaves nothing it made ------------------------
def _contents(folder: Path) -> list:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_train_with_a_wrong_train_path_leaves_no_output_dir(tiny_marian_dir, data, tmp_path,
                                                            capsys):
    """The corrected rerun is not refused as "an earlier run": none happened."""
    before = _contents(tmp_path)
    argv = _train(tiny_marian_dir, data, "--output-dir", tmp_path / "runs" / "en-pt",
                  "--cache-features", "--cache-dir", tmp_path / "caches" / "c")
    wrong = [str(tmp_path / "missing.tsv") if a == str(data[0]) else a for a in argv]
    code = train_cli.main(wrong)
    one_line(code, None, capsys.readouterr().err, "missing.tsv", prog="sigmoid-qe-train", alone=False)
    assert _contents(tmp_path) == before  # not runs/, runs/en-pt/, caches/ nor its mark
    code = train_cli.main(argv)
    assert code == 0, capsys.readouterr().err
    assert (tmp_path / "runs" / "en-pt" / "head.safetensors").is_file()


def test_train_with_a_wrong_model_leaves_a_users_empty_folder_unmarked(data, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    code = train_cli.main(_train("/nonexistent/model", data, "--output-dir", out))
    one_line(code, None, capsys.readouterr().err, "/nonexistent/model", prog="sigmoid-qe-train", alone=False)
    assert out.is_dir() and not any(out.iterdir())


def test_a_failed_run_keeps_what_an_earlier_run_wrote(tiny_marian_dir, data, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_cli.main(_train(tiny_marian_dir, data, "--output-dir", out)) == 0
    kept = _snapshot(out)
    code = train_cli.main(_train("/nonexistent/model", data, "--output-dir", out, "--overwrite"))
    assert code == 2
    assert _snapshot(out) == kept
    capsys.readouterr()


def _pairs(folder: Path):
    (folder / "s.en").write_text("the cat\na dog\n", encoding="utf-8")
    (folder / "t.pt").write_text("o gato\num cao\n", encoding="utf-8")
    (folder / "u.pt").write_text("o gato\num gato\n", encoding="utf-8")
    return folder / "s.en", folder / "t.pt", folder / "u.pt"


def _commands(work: Path):
    """Each scoring command with every output it can write, and a model that fails to load
    after the inputs and outputs were checked."""
    from sigmoid_qe.cli import compare as compare_cli
    from sigmoid_qe.cli import filter as filter_cli
    from sigmoid_qe.cli import rerank as rerank_cli
    from sigmoid_qe.cli import score as score_cli
    s, t, u = _pairs(work)
    model = ["--model", "/nonexistent/model", "--device", "cpu"]
    out = work / "out"
    return {
        "score": (score_cli, ["-s", s, "-t", t, "-o", out / "x.txt", "--to-json",
                              out / "x.json", "--to-jsonl", out / "x.jsonl", "--html",
                              out / "x.html", "--spans-wmt", out / "x.wmt", *model]),
        "compare": (compare_cli, ["-s", s, "-t", t, u, *model]),
        "filter": (filter_cli, ["-s", s, "-t", t, "--threshold", "0", "-o", out / "k.tsv",
                                "--dropped", out / "d.tsv", "--resume", *model]),
        "rerank": (rerank_cli, ["-s", s, "-t", t, "--num-candidates", "1", "-o", out / "b.txt",
                                "--to-json", out / "b.json", *model]),
    }


@pytest.mark.parametrize("name", ["score", "compare", "filter", "rerank"])
def test_a_failed_scoring_command_leaves_no_file(name, tmp_path, capsys):
    work = tmp_path / "work"
    work.mkdir()
    (work / "out").mkdir()
    module, argv = _commands(work)[name]
    before = _contents(work)
    code = module.main([str(a) for a in argv])
    one_line(code, None, capsys.readouterr().err, "/nonexistent/model", prog=("sigmoid-qe" if name == "score" else f"sigmoid-qe-{name}"), alone=False)
    assert _contents(work) == before


def test_a_failed_eval_leaves_no_folder_or_file(tmp_path, capsys, monkeypatch):
    """--score-testset with a model that fails: no --out, --plot or --output is left."""
    import sigmoid_qe.model
    from sigmoid_qe.errors import ModelLoadError

    from metaeval_data import make_tiny_mtme
    root = make_tiny_mtme(tmp_path / "mtme", "tiny23")

    def failing(name, **_):
        raise ModelLoadError(f"{name}: no such model directory")
    monkeypatch.setattr(sigmoid_qe.model, "load_model", failing)
    work = tmp_path / "work"
    work.mkdir()
    code = eval_cli.main([str(a) for a in [
        "--mtme-root", root, "--test-set", "tiny23", "--score-testset", "--model", "nope",
        "--name", "X", "--out", work / "a" / "scores", "--output", work / "r.json",
        "--format", "json"]])
    one_line(code, None, capsys.readouterr().err, "nope", prog="sigmoid-qe-eval", alone=False)
    assert _contents(work) == []


@pytest.mark.parametrize("kind", ["file", "link"])
def test_a_checkpoints_entry_that_is_not_a_folder_is_refused_before_training(
        kind, tiny_marian_dir, data, tmp_path, capsys):
    """A marked run folder whose checkpoints is a user's file (training used to fail at the
    first save, with a traceback) or a link to a user's folder (checkpoints and 'latest' were
    written into it): refused in one line before any work, and left as it was."""
    out = tmp_path / "run"
    out.mkdir()
    claim_folder(out, "train-output", "--output-dir")
    theirs = _user_folder(tmp_path / "theirs")
    if kind == "file":
        (out / "checkpoints").write_text("mine")
    else:
        (out / "checkpoints").symlink_to(tmp_path / "theirs", target_is_directory=True)
    before = _snapshot(out)
    code = train_cli.main(_train(tiny_marian_dir, data, "--output-dir", out, "--save-every", "1",
                                 "--overwrite"))
    one_line(code, None, capsys.readouterr().err, "checkpoints is a " + kind,
             prog="sigmoid-qe-train", alone=False)
    assert _snapshot(out) == before and not (out / "head.safetensors").exists()
    _survived(theirs)
    assert sorted(p.name for p in (tmp_path / "theirs").iterdir()) == sorted(
        ["sub", "thesis.txt", "config.json", "head.safetensors", "meta.json", "hidden.npy"])
