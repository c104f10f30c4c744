"""Scoring in both directions (sigmoid_qe.directions): reverse scores are the opposite model's
own scores of the source given the translation; ``both`` adds them; source-side spans point
into the source."""
import math
import warnings

import pytest

from sigmoid_qe import load_model
from sigmoid_qe.directions import combine
from sigmoid_qe.errors import OptionError

SOURCES = ["the cat sat on the mat", "a dog", "the big red house is small"]
HYPOTHESES = ["o gato sentou no tapete", "um cao", "a casa vermelho grande"]


def _quiet_load(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_model(*args, **kwargs)


@pytest.fixture(scope="module")
def two_marians(tmp_path_factory):
    from tiny_models import make_tiny_marian
    forward = make_tiny_marian(tmp_path_factory.mktemp("fwd"), seed=0)
    backward = make_tiny_marian(tmp_path_factory.mktemp("bwd"), seed=1)
    return forward, backward


@pytest.mark.parametrize("method", ["sigmoid", "softmax", "combined"])
def test_reverse_equals_the_opposite_model_scoring_source_given_translation(two_marians, method):
    forward, backward = two_marians
    qe = _quiet_load(forward, device="cpu", reverse_model=backward)
    other = _quiet_load(backward, device="cpu")
    got = qe.score(SOURCES, HYPOTHESES, method=method, aggregate="errors", direction="reverse")
    want = other.score(HYPOTHESES, SOURCES, method=method, aggregate="errors")
    assert got.scores == pytest.approx(want.scores, abs=1e-6)
    # the reverse token scores are the source's tokens, read by the other model
    for seg, ref in zip(got.segments, want.segments):
        assert [t.token for t in seg.source_tokens] == [t.token for t in ref.tokens]
        assert seg.tokens == []


def test_both_adds_the_two_directions_and_names_them_in_the_signature(two_marians):
    forward, backward = two_marians
    qe = _quiet_load(forward, device="cpu", reverse_model=backward)
    fwd = qe.score(SOURCES, HYPOTHESES, aggregate="errors", direction="forward")
    rev = qe.score(SOURCES, HYPOTHESES, aggregate="errors", direction="reverse")
    both = qe.score(SOURCES, HYPOTHESES, aggregate="errors", direction="both")
    assert both.scores == pytest.approx([f + r for f, r in zip(fwd.scores, rev.scores)], abs=1e-9)
    assert "dir:both" in both.signature and "rev:" in both.signature
    assert "dir:forward" in fwd.signature and "rev:" not in fwd.signature
    mean_both = qe.score(SOURCES, HYPOTHESES, aggregate="mean", direction="both").scores
    mean_f = qe.score(SOURCES, HYPOTHESES, aggregate="mean", direction="forward").scores
    mean_r = qe.score(SOURCES, HYPOTHESES, aggregate="mean", direction="reverse").scores
    assert mean_both == pytest.approx([(f + r) / 2 for f, r in zip(mean_f, mean_r)], abs=1e-9)


def test_combine_rule():
    assert combine(-1.0, -2.0, "errors") == -3.0
    assert combine(-1.0, -2.0, "prod") == -3.0
    assert combine(0.5, 0.7, "mean") == pytest.approx(0.6)
    assert combine(0.5, 0.7, "min") == 0.5


def test_multilingual_model_is_swapped_not_reloaded(tmp_path):
    from tiny_models import make_tiny_m2m100
    directory = make_tiny_m2m100(tmp_path / "m2m")
    qe = _quiet_load(directory, lp="en-pt", device="cpu")
    swapped = _quiet_load(directory, lp="pt-en", device="cpu")
    got = qe.score(["the cat sat"], ["o gato sentou"], method="softmax", aggregate="prod",
                   direction="reverse")
    want = swapped.score(["o gato sentou"], ["the cat sat"], method="softmax", aggregate="prod")
    assert got.scores == pytest.approx(want.scores, abs=1e-6)
    assert qe.reverse.backend.model is qe.backend.model  # the weights are shared
    assert qe.backend.tokenizer.src_lang != qe.reverse.backend.tokenizer.src_lang
    # the forward model is untouched by its swapped twin
    again = qe.score(["the cat sat"], ["o gato sentou"], method="softmax", aggregate="prod")
    first = _quiet_load(directory, lp="en-pt", device="cpu").score(
        ["the cat sat"], ["o gato sentou"], method="softmax", aggregate="prod")
    assert again.scores == pytest.approx(first.scores, abs=1e-6)


def test_causal_lm_prompt_is_swapped(tiny_llama_dir):
    qe = _quiet_load(tiny_llama_dir, lp="en-pt", device="cpu")
    swapped = _quiet_load(tiny_llama_dir, lp="pt-en", device="cpu")
    got = qe.score(["the cat"], ["o gato"], method="softmax", aggregate="prod", direction="reverse")
    want = swapped.score(["o gato"], ["the cat"], method="softmax", aggregate="prod")
    assert got.scores == pytest.approx(want.scores, abs=1e-6)


def test_one_direction_model_without_reverse_model_is_refused(marian_qe):
    assert marian_qe.backend.reversed() is None
    with pytest.raises(OptionError, match="--reverse-model"):
        marian_qe.score(SOURCES, HYPOTHESES, direction="reverse")
    with pytest.raises(OptionError, match="direction"):
        marian_qe.score(SOURCES, HYPOTHESES, direction="sideways")


# -- the offline default -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def pt_en():
    return load_model("bergamot-pt-en", device="cpu")


def test_both_on_the_offline_default_uses_the_other_student_and_its_head(pt_en):
    src = ["Eu gosto de maçãs verdes.", "O gato dorme no sofá."]
    hyp = ["I like apples.", "The cat sleeps on the sofa."]
    both = pt_en.score(src, hyp, method="sigmoid", aggregate="errors", direction="both")
    other = load_model("bergamot-en-pt", device="cpu")
    rev = other.score(hyp, src, method="sigmoid", aggregate="errors")
    fwd = pt_en.score(src, hyp, method="sigmoid", aggregate="errors", direction="forward")
    assert pt_en.reverse.name == "bergamot-en-pt"
    assert pt_en.reverse.head_fingerprint() == other.head_fingerprint()
    assert both.scores == pytest.approx([f + r for f, r in zip(fwd.scores, rev.scores)])
    assert f"rev:bergamot-en-pt+{other.head_fingerprint()}" in both.signature


def test_source_errors_are_exact_offsets_into_the_source(pt_en):
    src = ["Eu gosto de maçãs verdes."]
    hyp = ["I like apples."]  # "verdes" (green) is left out
    seg = pt_en.score(src, hyp, method="sigmoid", aggregate="errors", direction="both",
                      spans=True).segments[0]
    assert seg.source_errors, "the omitted word is found"
    for err in seg.source_errors:
        assert src[0][err.start:err.end] == err.text
    assert any("verdes" in e.text for e in seg.source_errors)
    for tok in seg.source_tokens:
        assert 0 <= tok.start <= tok.end <= len(src[0])
    record = seg.to_dict()
    assert record["source_errors"][0]["start"] == seg.source_errors[0].start
    # and the complete translation has no source-side error on that word
    full = pt_en.score(src, ["I like green apples."], method="sigmoid", direction="both",
                       aggregate="errors", spans=True).segments[0]
    assert not any("verdes" in e.text for e in full.source_errors)
    assert full.score > seg.score


def test_direction_option_on_the_command_line(tmp_path, capsys):
    from sigmoid_qe.cli.score import main
    src, hyp = tmp_path / "s.pt", tmp_path / "h.en"
    src.write_text("Eu gosto de maçãs verdes.\nO gato dorme.\n", encoding="utf-8")
    hyp.write_text("I like apples.\nThe cat sleeps.\n", encoding="utf-8")
    out = tmp_path / "o.json"
    code = main(["-s", str(src), "-t", str(hyp), "--lp", "pt-en", "--direction", "both",
                 "--aggregate", "errors", "--spans", "--to-json", str(out), "--quiet"])
    assert code in (0, None)
    import json
    records = json.loads(out.read_text(encoding="utf-8"))
    records = next(v for v in records.values() if isinstance(v, list))
    assert all("source_errors" in r and "source_tokens" in r for r in records)
    lines = capsys.readouterr().out.strip().splitlines()
    scores = [float(line.rsplit("score: ", 1)[1]) for line in lines]
    assert len(scores) == 3 and all(s <= 0 for s in scores)
    assert math.isclose(scores[-1], (scores[0] + scores[1]) / 2, abs_tol=1e-4)


def test_reverse_log_prob_sum_from_the_opposite_models_own_forward(two_marians):
    """Independent of the package's scoring: the reverse model's own forward with labels."""
    import torch
    from transformers import AutoTokenizer, MarianMTModel
    forward, backward = two_marians
    qe = _quiet_load(forward, device="cpu", reverse_model=backward)
    got = qe.score(SOURCES, HYPOTHESES, method="softmax", aggregate="prod", direction="reverse")
    tok = AutoTokenizer.from_pretrained(backward)
    model = MarianMTModel.from_pretrained(backward).eval()
    for src, hyp, value in zip(SOURCES, HYPOTHESES, got.scores):
        enc = tok(hyp, return_tensors="pt")  # the translation is the reverse model's input
        labels = tok(text_target=src, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(model(**enc, labels=labels).logits[0], -1)
        want = float(logp.gather(1, labels[0][:, None]).sum())
        assert value == pytest.approx(want, abs=1e-4)


def test_html_report_marks_the_omitted_source_words(pt_en):
    from sigmoid_qe.report_html import render
    src, hyp = ["Eu gosto de maçãs verdes."], ["I like apples."]
    result = pt_en.score(src, hyp, direction="both", aggregate="errors", spans=True)
    page = render({"mt": result}, src)
    err = result.segments[0].source_errors[0]
    mark = (f'<mark class="omission" data-start="{err.start}" data-end="{err.end}"')
    assert mark in page
    assert mark in page.split('class="src"', 1)[1].split("</td>", 1)[0]
    assert "not translated from the source" in page


def test_span_threshold_applies_to_the_source_side_too(two_marians):
    """--span-threshold used to reach the translation's spans only; the source's kept the
    reverse head's calibration, with no word."""
    forward, backward = two_marians
    qe = _quiet_load(forward, device="cpu", reverse_model=backward)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        every = qe.score(SOURCES, HYPOTHESES, direction="both", spans=True,
                         span_threshold=(1.0, 1.0))
        none = qe.score(SOURCES, HYPOTHESES, direction="both", spans=True,
                        span_threshold=(0.0, 0.0))
    assert all(seg.source_errors and seg.errors for seg in every.segments)
    assert all({e.severity for e in seg.source_errors} == {"major"} for seg in every.segments)
    assert not any(seg.source_errors or seg.errors for seg in none.segments)


@pytest.mark.parametrize("flag", ["--spans-wmt", "--word-tags"])
def test_reverse_direction_refuses_translation_span_outputs(flag, tmp_path, capsys):
    """With --direction reverse no translation word is assessed: a WMT span file or word tags
    would say "no-error" / OK for all of them. Refused before the model loads."""
    from sigmoid_qe.cli.score import main

    from cli_helpers import NO_MODEL, one_line, pair_files, run
    src, hyp = pair_files(tmp_path)
    code, out, err = run(main, ["-s", src, "-t", hyp, "--model", NO_MODEL, "--direction",
                                "reverse", flag, tmp_path / "out"], capsys)
    one_line(code, out, err, f"{flag} marks errors in the translation")
    assert not (tmp_path / "out").exists()


def test_reverse_side_warnings_name_the_users_sides_in_words_too():
    """The reverse pass's "empty source" is the user's empty translation: it was re-issued
    naming the translation file but still saying "empty source"."""
    from sigmoid_qe.directions import reverse_side_warnings
    from sigmoid_qe.errors import InputWarning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with reverse_side_warnings():
            warnings.warn(InputWarning("empty source: the translation is scored against nothing",
                                       "source", 2), stacklevel=2)
    [said] = [w.message for w in caught]
    assert (said.side, said.index) == ("translation", 2)
    assert said.message == ("empty translation: the source is scored against nothing "
                            "(reverse direction)")


def test_a_wrong_reverse_model_is_named_as_the_option(pt_en):
    """bergamot-pt-en as the reverse model of pt-en: the error did not say it was about
    --reverse-model (the user had given --lp pt-en)."""
    from sigmoid_qe.errors import ModelLoadError
    qe = load_model("bergamot-pt-en", device="cpu", reverse_model="bergamot-pt-en")
    with pytest.raises(ModelLoadError, match="^--reverse-model bergamot-pt-en translates pt-en, "
                                             "not en-pt"):
        qe.score(["O gato."], ["The cat."], direction="both")
