"""Long jobs: streamed outputs equal whole-input ones whatever the chunking, a job killed with
SIGKILL and rerun with --resume gives byte-identical files, leftovers are refused, and
torchrun with 2 CPU processes (gloo) gives the outputs of 1 process."""
from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sigmoid_qe.cli import filter as filter_cli
from sigmoid_qe.cli import score as score_cli
from sigmoid_qe.outputs import JsonObjectWriter
from sigmoid_qe.results import ExactSum

from cli_helpers import run
from tiny_models import WORDS
from training_helpers import single_thread


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from single_thread()


def _sentences(n: int, seed: int):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 9))) for _ in range(n)]


@pytest.fixture()
def corpus(tmp_path):
    src, hyp, other = tmp_path / "src.txt", tmp_path / "hyp.txt", tmp_path / "other.txt"
    src.write_text("\n".join(_sentences(57, 1)) + "\n")
    hyp.write_text("\n".join(_sentences(57, 2)) + "\n")
    other.write_text("\n".join(_sentences(57, 3)) + "\n")
    return src, hyp, other


def test_exact_sum_equals_fsum():
    import math
    rng = random.Random(0)
    values = [rng.uniform(-1, 1) * 10 ** rng.randint(-8, 8) for _ in range(5000)]
    total = ExactSum()
    for i, v in enumerate(values):
        total.add(v)
        if i == 2500:
            total = ExactSum(total.partials)  # saved and restored mid-way
    assert total.value() == math.fsum(values)


def test_json_writer_resumes_mid_array(tmp_path):
    import io
    first = io.StringIO()
    writer = JsonObjectWriter(first, {"a": 1})
    writer.array("x")
    writer.add({"k": 1})
    state, text = writer.state(), first.getvalue()
    rest = io.StringIO()
    writer = JsonObjectWriter.resumed(rest, state)
    writer.add({"k": 2})
    writer.array("y")
    writer.close()
    assert json.loads(text + rest.getvalue()) == {"a": 1, "x": [{"k": 1}, {"k": 2}], "y": []}


def test_chunking_does_not_change_any_output(tiny_marian_dir, corpus, tmp_path, capsys):
    src, hyp, other = corpus
    outputs = {}
    for chunk in (1000, 4):
        folder = tmp_path / f"c{chunk}"
        folder.mkdir()
        code, out, err = run(score_cli, ["-s", src, "-t", hyp, other, "--model", tiny_marian_dir,
                                         "--quiet", "--chunk-size", chunk, "--to-json",
                                         folder / "j.json", "--to-jsonl", folder / "j.jsonl"],
                             capsys)
        assert code == 0, err
        outputs[chunk] = (out, (folder / "j.json").read_text(), (folder / "j.jsonl").read_text())
    # other chunks batch other sentences together: float rounding (1e-7), nothing more
    for (a, b) in zip(outputs[4], outputs[1000]):
        assert _numbers(a) == pytest.approx(_numbers(b), abs=1e-6)
        assert _words(a) == _words(b)
    out, whole, lines = outputs[4]
    data = json.loads(whole)
    records = [json.loads(line) for line in lines.splitlines()]
    assert list(data) == ["signature", str(hyp), str(other)] and len(data[str(hyp)]) == 57
    assert [(r["system"], r["segment"]) for r in records][:2] == [(str(hyp), 0), (str(hyp), 1)]
    assert [r["score"] for r in records[:57]] == [r["score"] for r in data[str(hyp)]]
    system = float(out.splitlines()[57].split("score: ")[1])
    assert system == pytest.approx(sum(r["score"] for r in records[:57]) / 57, abs=1e-4)


def _numbers(text: str):
    import re
    return [float(x) for x in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", text)]


def _words(text: str):
    import re
    return re.sub(r"-?\d+\.\d+(?:e-?\d+)?", "#", text)


def _kill_when_checkpointed(argv, state: Path, env) -> None:
    """Start a job, SIGKILL it as soon as it has recorded a completed chunk."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if state.exists():
            try:
                done = json.loads(state.read_text())["progress"]
            except (ValueError, OSError):
                continue
            if done.get("done", 0) > 0 or done.get("system", 0) > 0:
                break
        time.sleep(0.005)
    assert proc.poll() is None, "the job ended before it could be killed: " + proc.stderr.read().decode()[-500:]
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _env():
    return dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")


def test_killed_scoring_resumes_byte_identical(tiny_marian_dir, tmp_path, capsys):
    src, hyp, other = tmp_path / "s", tmp_path / "h", tmp_path / "o"
    src.write_text("\n".join(_sentences(3000, 1)) + "\n")
    hyp.write_text("\n".join(_sentences(3000, 2)) + "\n")
    other.write_text("\n".join(_sentences(3000, 3)) + "\n")
    common = ["-s", src, "-t", hyp, other, "--model", tiny_marian_dir, "--quiet", "--device",
              "cpu", "--chunk-size", "10", "--batch-size", "10"]
    ref = tmp_path / "ref"
    ref.mkdir()
    code, _, err = run(score_cli, common + ["-o", ref / "lines", "--to-json", ref / "j.json",
                                            "--to-jsonl", ref / "j.jsonl"], capsys)
    assert code == 0, err
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    argv = common + ["-o", run_dir / "lines", "--to-json", run_dir / "j.json", "--to-jsonl",
                     run_dir / "j.jsonl", "--resume"]
    cmd = [sys.executable, "-m", "sigmoid_qe.cli.score"] + [str(a) for a in argv]
    state = run_dir / "lines.partial.json"
    _kill_when_checkpointed(cmd, state, _env())
    assert state.exists() and not (run_dir / "lines").exists()  # never taken for finished
    # without --resume: refused in one line, before any work
    code, out, err = run(score_cli, [a for a in argv if a != "--resume"], capsys)
    assert code == 2 and "add --resume to continue it" in err and len(err.strip().splitlines()) == 1
    # other options: refused
    code, _, err = run(score_cli, argv + ["--method", "softmax"], capsys)
    assert code == 2 and "other options or inputs" in err
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("lines", "j.json", "j.jsonl"):
        assert (run_dir / name).read_bytes() == (ref / name).read_bytes(), name
    assert sorted(p.name for p in run_dir.iterdir()) == ["j.json", "j.jsonl", "lines"]


def test_killed_keep_top_filter_resumes_byte_identical(tiny_marian_dir, tmp_path, capsys):
    src, tgt = tmp_path / "s", tmp_path / "t"
    src.write_text("\n".join(_sentences(4000, 4)) + "\n")
    tgt.write_text("\n".join(_sentences(4000, 5)) + "\n")
    common = ["-s", src, "-t", tgt, "--model", tiny_marian_dir, "--quiet", "--device", "cpu",
              "--chunk-size", "10", "--batch-size", "10", "--keep-top", "30%"]
    code, _, err = run(filter_cli, common + ["-o", tmp_path / "ref.tsv", "--dropped",
                                             tmp_path / "ref.drop"], capsys)
    assert code == 0, err
    argv = common + ["-o", tmp_path / "k.tsv", "--dropped", tmp_path / "k.drop", "--resume"]
    cmd = [sys.executable, "-m", "sigmoid_qe.cli.filter"] + [str(a) for a in argv]
    state = tmp_path / "k.tsv.scores.f64.partial.json"
    _kill_when_checkpointed(cmd, state, _env())
    code, _, err = run(filter_cli, [a for a in argv if a != "--resume"], capsys)
    assert code == 2 and "add --resume" in err
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "k.tsv").read_bytes() == (tmp_path / "ref.tsv").read_bytes()
    assert (tmp_path / "k.drop").read_bytes() == (tmp_path / "ref.drop").read_bytes()
    assert len((tmp_path / "k.tsv").read_text().splitlines()) == 1200
    assert not list(tmp_path.glob("k.tsv.*"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _torchrun(module: str, argv):
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
            "--master_port", str(_free_port()), "-m", module] + [str(a) for a in argv]


def test_torchrun_two_processes_match_one(tiny_marian_dir, corpus, tmp_path, capsys):
    src, hyp, other = corpus
    common = ["-s", src, "-t", hyp, other, "--model", tiny_marian_dir, "--quiet", "--device",
              "cpu", "--chunk-size", "7", "--batch-size", "4"]
    code, one, err = run(score_cli, common + ["--to-jsonl", tmp_path / "one.jsonl"], capsys)
    assert code == 0, err
    proc = subprocess.run(_torchrun("sigmoid_qe.cli.score", common + ["--to-jsonl",
                                                                      tmp_path / "two.jsonl"]),
                          env=_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("Segment") == one.count("Segment") == 114  # rank 0 writes, once
    first = [json.loads(line) for line in (tmp_path / "one.jsonl").read_text().splitlines()]
    second = [json.loads(line) for line in (tmp_path / "two.jsonl").read_text().splitlines()]
    assert [(r["system"], r["segment"], r["mt"]) for r in first] == \
           [(r["system"], r["segment"], r["mt"]) for r in second]
    assert max(abs(a["score"] - b["score"]) for a, b in zip(first, second)) < 1e-6
    # filtering too: the same pairs kept
    argv = ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--quiet", "--device", "cpu",
            "--keep-top", "50%", "--chunk-size", "7"]
    code, kept_one, err = run(filter_cli, argv, capsys)
    assert code == 0, err
    proc = subprocess.run(_torchrun("sigmoid_qe.cli.filter", argv), env=_env(),
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == kept_one


def test_resume_never_replaces_a_partial_file_it_did_not_write(tiny_marian_dir, tmp_path, capsys):
    """--resume with no record of an interrupted run: an existing OUT.partial is the user's (or
    nobody's to claim), so it is refused in one line and left as it was; nothing is made."""
    src, hyp = tmp_path / "s", tmp_path / "h"
    src.write_text("\n".join(_sentences(5, 1)) + "\n")
    hyp.write_text("\n".join(_sentences(5, 2)) + "\n")
    mine = tmp_path / "out.txt.partial"
    mine.write_bytes(b"my notes\n")
    code, out, err = run(score_cli, ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--quiet",
                                     "--device", "cpu", "-o", tmp_path / "out.txt", "--resume",
                                     "--to-jsonl", tmp_path / "j.jsonl"], capsys)
    lines = [line for line in err.splitlines() if "error:" in line]
    assert code == 2 and len(lines) == 1 and "out.txt.partial" in lines[0], err
    assert mine.read_bytes() == b"my notes\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h", "out.txt.partial", "s"]


def test_resume_refuses_a_head_changed_since_the_interruption(tiny_marian_dir, tmp_path, capsys,
                                                              monkeypatch):
    """--resume after the head's config.json changed (its combine weight here) used to carry
    on, mixing scores of two heads under the new signature. Refused in one line; with the head
    as it was, the run resumes."""
    import warnings

    from sigmoid_qe import load_model
    from sigmoid_qe.resume import ResumableOutputs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_model(tiny_marian_dir, device="cpu").head.save_pretrained(tmp_path / "head")
    config = tmp_path / "head" / "config.json"
    src, hyp = tmp_path / "s", tmp_path / "h"
    src.write_text("\n".join(_sentences(40, 1)) + "\n")
    hyp.write_text("\n".join(_sentences(40, 2)) + "\n")
    argv = ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--head", tmp_path / "head",
            "--method", "combined", "--quiet", "--device", "cpu", "--chunk-size", "10",
            "-o", tmp_path / "lines", "--resume"]
    checkpoint = ResumableOutputs.checkpoint

    def interrupted(self, progress):  # killed right after the first chunk is recorded
        checkpoint(self, progress)
        raise KeyboardInterrupt
    monkeypatch.setattr(ResumableOutputs, "checkpoint", interrupted)
    code, _, _ = run(score_cli, argv, capsys)
    assert code != 0 and (tmp_path / "lines.partial.json").exists()
    monkeypatch.setattr(ResumableOutputs, "checkpoint", checkpoint)
    original = config.read_text(encoding="utf-8")
    data = json.loads(original)
    data["combine_weight"] = 0.9
    config.write_text(json.dumps(data), encoding="utf-8")
    code, out, err = run(score_cli, argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and out == "" and len(lines) == 1, err
    assert "the model or its head changed since the interrupted run" in lines[0]
    config.write_text(original, encoding="utf-8")
    code, _, err = run(score_cli, argv, capsys)
    assert code == 0, err
    assert len((tmp_path / "lines").read_text().splitlines()) == 41
