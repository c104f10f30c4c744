"""MQM mode: human error spans become weighted negatives, read and checked before any model
is loaded, and the head says it was trained with human labels."""
import json
from pathlib import Path

import pytest
import torch

from sigmoid_qe.cli import train as train_cli
from sigmoid_qe.distributed import current_context
from sigmoid_qe.errors import InputError
from sigmoid_qe.head import SigmoidHead
from sigmoid_qe.training import TrainOptions, load_parallel
from sigmoid_qe.training.data import sha256_file
from sigmoid_qe.training.loss import pair_targets
from sigmoid_qe.training.mqm import read_mqm, token_errors
from sigmoid_qe.training.plan import plan_run
from sigmoid_qe.training.trainer import TrainingRun

from training_helpers import single_thread, toy_files

HEADER = "lp\tsystem\tdoc_id\tseg_id\tsource\ttarget\tmqm\tn_errors\tannotator\terror_spans"


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    yield from single_thread()


def span(start, end, severity="major"):
    return {"start": start, "end": end, "severity": severity, "category": "accuracy", "term": ""}


def write_biomqm(path: Path, rows) -> Path:
    """A BioMQM-style table: rows of (source, target, [spans])."""
    lines = [HEADER] + [f"en-pt\tsys\tdoc{k % 3}\t{k}\t{src}\t{mt}\t-5\t{len(spans)}\ta1\t"
                        f"{json.dumps(spans)}" for k, (src, mt, spans) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


#: "cao" (dog) for "cat" is the marked error; "gato" elsewhere is right
MQM_ROWS = [("the cat sat", "o cao sentou", [span(2, 5)]),
            ("the cat eats fish", "o cao come peixe", [span(2, 5, "minor"), span(6, 10, "neutral")]),
            ("a big house", "uma casa grande", [])] * 4


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mqm")
    train_path, dev_path = toy_files(folder, n_train=48, n_dev=12)
    return train_path, dev_path, write_biomqm(folder / "mqm.tsv", MQM_ROWS)


def test_token_overlapping_a_span_is_an_error_and_whitespace_does_not_count():
    text = "o  cao sentou"
    offsets = [(0, 1), (1, 6), (6, 13), (13, 13)]  # tokenizers give a word its leading spaces
    assert token_errors(offsets, [(3, 6, "major")], text) == [False, True, False, False]
    # a selection that ends with the space after a word does not mark the next word
    assert token_errors(offsets, [(0, 2, "minor")], text) == [True, False, False, False]
    # an omission (zero-length span) marks no token, nor does the end of sentence
    assert token_errors(offsets, [(6, 6, "major"), (13, 13, "major")], text) == [False] * 4


def test_reader_drops_neutral_spans_and_keeps_rows(toy):
    data = read_mqm(toy[2], error_weight=7.0)
    assert len(data) == len(MQM_ROWS) and data.error_weight == 7.0
    assert data.spans[1] == ((2, 5, "minor"),)  # the neutral span is gone
    assert data.location("target", 4) == f"{toy[2]}: row 5"
    changed = write_biomqm(toy[2].parent / "other.tsv", MQM_ROWS[:-1])
    assert read_mqm(changed).content_sha256() != data.content_sha256()


def test_a_token_in_a_span_is_a_weighted_negative_and_the_others_positives(marian_qe, toy):
    """The run's own target construction: in an MQM row, the token inside the human span gets
    label 0 with weight 10 at its position; every other token keeps label 1, weight 1, and
    the sampled negatives (label 0, weight 1) stay everywhere; parallel pairs are unchanged."""
    backend = marian_qe.backend
    train = load_parallel(toy[0], "en-pt")
    mqm = read_mqm(toy[2])
    options = TrainOptions(batch_size=4, max_steps=1, eval_every=None)
    plan = plan_run(backend, train, None, options, current_context(), mqm)
    assert plan.mqm_start == len(train) and len(plan.pairs) == len(train) + len(MQM_ROWS)
    first = plan.mqm_start  # "o cao sentou </s>"
    assert plan.errors[first].tolist() == [False, True, False, False]
    assert plan.errors[first + 2].tolist() == [False] * 4  # a row without spans
    assert all(e is None for e in plan.errors[:first])
    assert plan.error_positions == 2 * 4  # "cao" in the two rows with a non-neutral span, x4
    assert plan.resume_fingerprint["mqm_sha256"] == mqm.content_sha256()
    assert plan.resume_fingerprint["mqm_weight"] == 10.0

    run = TrainingRun(backend, plan, train, None, Path("unused"), None, False, None,
                      current_context(), mqm)
    _, targets, _, valid, _, extra_valid, errors = run._batch_tensors([0, first], epoch=0)
    n0 = plan.positions[0]
    assert errors.tolist() == [False] * n0 + [False, True, False, False]
    labels, weights = pair_targets(torch.cat([torch.ones_like(valid[:, :1]), extra_valid, valid], 1),
                                   1 + extra_valid.shape[1], errors, mqm.error_weight)
    cao = n0 + 1
    assert targets[cao].item() == backend.encode(["x"], ["cao"])[0].target_ids[0]
    assert labels[cao, 0] == 0 and weights[cao, 0] == 10.0
    for row in [k for k in range(targets.shape[0]) if k != cao]:
        assert labels[row, 0] == 1 and weights[row, 0] == 1.0
    a = 1 + extra_valid.shape[1]  # no other references here: the extra slots weigh nothing
    assert not weights[:, 1:a].any()
    assert (labels[:, a:] == 0).all() and torch.equal(weights[:, a:], valid.float())
    assert valid[cao].any()  # the error position keeps its sampled negatives


def test_cli_mqm_mode_lowers_the_marked_token_and_records_the_human_labels(
        tiny_marian_dir, marian_qe, toy, tmp_path, capsys):
    common = ["--model", tiny_marian_dir, "--lp", "en-pt", "--train", str(toy[0]),
              "--max-steps", "12", "--batch-size", "8", "--lr", "0.05", "--quiet",
              "--device", "cpu"]
    assert train_cli.main(common + ["--output-dir", str(tmp_path / "plain")]) == 0
    assert train_cli.main(common + ["--mqm", str(toy[2]), "--output-dir", str(tmp_path / "mqm")]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "mqm") in out

    plain = SigmoidHead.from_pretrained(tmp_path / "plain")
    human = SigmoidHead.from_pretrained(tmp_path / "mqm")
    record = human.config.training["human_labels"]
    assert record["files"] == [{"path": str(toy[2]), "sha256": sha256_file(toy[2]),
                                "rows": len(MQM_ROWS)}]
    assert record["error_weight"] == 10.0 and record["error_tokens"] == 8
    assert record["rows_sha256"] == read_mqm(toy[2]).content_sha256()
    assert "human_labels" not in plain.config.training

    # the marked token, in the context people marked, is judged worse by the MQM head
    backend = marian_qe.backend
    pair = backend.encode(["the cat sat"], ["o cao sentou"])[0]
    from sigmoid_qe.backends.frozen import scored_positions
    positions = scored_positions(backend, [pair])
    hidden, ids = positions.hidden[1], positions.ids[1]
    p_plain = torch.sigmoid(hidden @ plain.weight[ids].float())
    p_human = torch.sigmoid(hidden @ human.weight[ids].float())
    assert p_human < 0.8 * p_plain


def test_cli_resume_refuses_other_mqm_data(tiny_marian_dir, toy, tmp_path, capsys):
    argv = ["--model", tiny_marian_dir, "--lp", "en-pt", "--train", str(toy[0]), "--max-steps",
            "2", "--save-every", "1", "--quiet", "--device", "cpu", "--output-dir",
            str(tmp_path / "run")]
    assert train_cli.main(argv + ["--mqm", str(toy[2])]) == 0
    other = write_biomqm(tmp_path / "other.tsv", MQM_ROWS[:3])
    capsys.readouterr()
    assert train_cli.main(argv + ["--mqm", str(other), "--resume"]) == 2
    assert "cannot resume: mqm_sha256" in capsys.readouterr().err
    assert train_cli.main(argv + ["--resume"]) == 2  # nor without the human labels
    assert "cannot resume: mqm_sha256" in capsys.readouterr().err
    assert train_cli.main(argv + ["--mqm", str(toy[2]), "--resume"]) == 0


def test_feature_cache_is_keyed_by_the_mqm_rows(tiny_marian_dir, toy, tmp_path):
    argv = ["--model", tiny_marian_dir, "--lp", "en-pt", "--train", str(toy[0]), "--max-steps",
            "1", "--quiet", "--device", "cpu", "--cache-features", "--keep-cache"]
    assert train_cli.main(argv + ["--mqm", str(toy[2]), "--output-dir", str(tmp_path / "a"),
                                  "--cache-dir", str(tmp_path / "ca")]) == 0
    assert train_cli.main(argv + ["--output-dir", str(tmp_path / "b"), "--cache-dir",
                                  str(tmp_path / "cb")]) == 0
    with_mqm = json.loads((tmp_path / "ca" / "meta.json").read_text())
    plain = json.loads((tmp_path / "cb" / "meta.json").read_text())
    assert with_mqm["fingerprint"]["mqm_sha256"] == read_mqm(toy[2]).content_sha256()
    assert "mqm_sha256" not in plain["fingerprint"]
    assert with_mqm["sentences"] == plain["sentences"] + len(MQM_ROWS)


@pytest.mark.parametrize("rows, message", [
    ([("the cat", "o gato", [span(2, 40)])], ":2: error span 2-40 is outside the text"),
    ([("the cat", "o gato", []), ("", "o cao", [])], ": row 2: empty source"),
    ([("the cat", "o gato", [span(0, 1, "fatal")])], "unknown severity 'fatal'"),
])
def test_cli_refuses_a_bad_mqm_file_in_one_line_before_loading(tiny_marian_dir, toy, tmp_path,
                                                               capsys, rows, message):
    bad = write_biomqm(tmp_path / "bad.tsv", rows)
    code = train_cli.main(["--model", str(tmp_path / "no-such-model"), "--lp", "en-pt", "--train",
                           str(toy[0]), "--mqm", str(bad), "--output-dir", str(tmp_path / "out"),
                           "--quiet", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and str(bad) in err and message in err, err
    assert not (tmp_path / "out" / "head.safetensors").exists()


def test_cli_refuses_mqm_rows_of_the_other_direction(tiny_marian_dir, toy, tmp_path, capsys):
    """A BioMQM table of en-pt rows cannot train a pt-en head: one line, before loading."""
    code = train_cli.main(["--model", str(tmp_path / "no-such-model"), "--lp", "pt-en",
                           "--train", str(toy[0]), "--mqm", str(toy[2]), "--output-dir",
                           str(tmp_path / "out"), "--quiet", "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert f"{toy[2]}: its rows are en-pt (lp column), but the head is trained for pt-en" in err


def test_reader_refuses_a_file_without_the_span_column(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("src\tmt\nthe cat\to gato\n", encoding="utf-8")
    with pytest.raises(InputError, match="missing column"):
        read_mqm(bad)
