"""Scores of the Hugging Face backends against independent computations with the model's
own forward pass (its own label shifting, its own logits)."""
import math
import warnings

import pytest
import torch

from sigmoid_qe import load_model
from sigmoid_qe.errors import InputWarning

SOURCES = ["the cat sat on the mat", "a dog", "the big red house is small", "bird",
           "the cat eats fish on the tree", "a small blue bird runs"]
HYPOTHESES = ["o gato sentou no tapete", "um cao", "a casa vermelho grande pequeno",
              "passaro passaro passaro passaro", "o gato come peixe zebra", "um passaro azul"]


@pytest.fixture(scope="module")
def marian(marian_qe):
    return marian_qe


@pytest.fixture(scope="module")
def llama(tiny_llama_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_model(tiny_llama_dir, lp="en-pt", device="cpu")


def _marian_reference(qe, source, hypothesis):
    """sigma(h . E[y]) per target token from MarianMTModel(labels=...).logits minus its bias;
    an <unk> token ("zebra") is scored by the model's own p(<unk>) (the package's rule)."""
    tok, model = qe.backend.tokenizer, qe.backend.model
    enc = tok(source, return_tensors="pt")
    labels = tok(text_target=hypothesis, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = model(**enc, labels=labels).logits[0]
    own = logits.gather(1, labels[0][:, None]).squeeze(1)
    bias = model.final_logits_bias[0, labels[0]]
    probs = torch.softmax(logits, -1).gather(1, labels[0][:, None]).squeeze(1)
    sig = torch.where(labels[0] == tok.unk_token_id, probs, torch.sigmoid(own - bias))
    return sig, probs, torch.softmax(logits, -1)


def _llama_reference(qe, source, hypothesis):
    tok, model = qe.backend.tokenizer, qe.backend.model
    prompt = (f"Translate the following text from English into Portuguese.\n"
              f"English: {source}\nPortuguese: ")
    prompt_ids = tok(prompt)["input_ids"]
    hyp_ids = tok(hypothesis, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    ids = torch.tensor([prompt_ids + hyp_ids])
    with torch.no_grad():
        logits = model(ids).logits[0, len(prompt_ids) - 1:-1]
    target = torch.tensor(hyp_ids)
    own = logits.gather(1, target[:, None]).squeeze(1)
    probs = torch.softmax(logits, -1).gather(1, target[:, None]).squeeze(1)
    sig = torch.where(target == tok.unk_token_id, probs, torch.sigmoid(own))
    return sig, probs, torch.softmax(logits, -1)


@pytest.mark.parametrize("which", ["marian", "llama"])
def test_sentence_score_matches_independent_computation(which, request):
    qe = request.getfixturevalue(which)
    reference = _marian_reference if which == "marian" else _llama_reference
    result = qe.score(SOURCES, HYPOTHESES, progress=False, extra_stats=("softmax", "entropy"))
    softmax = qe.score(SOURCES, HYPOTHESES, method="softmax", progress=False)
    for i, (src, hyp) in enumerate(zip(SOURCES, HYPOTHESES)):
        sig, probs, dist = reference(qe, src, hyp)
        assert len(result.segments[i].tokens) == len(sig)  # hypothesis tokens + EOS
        assert result.scores[i] == pytest.approx(sig.mean().item(), abs=1e-5)
        assert softmax.scores[i] == pytest.approx(probs.mean().item(), abs=1e-5)
        entropy = -(dist * dist.log()).sum(-1)
        got_entropy = [t.entropy for t in result.segments[i].tokens]
        assert got_entropy == pytest.approx(entropy.tolist(), abs=1e-4)


@pytest.mark.parametrize("which", ["marian", "llama"])
def test_chunked_lm_logits_equal_model_logits(which, request):
    qe = request.getfixturevalue(which)
    reference = _marian_reference if which == "marian" else _llama_reference
    pairs = qe.backend.encode(SOURCES[:1], HYPOTHESES[:1])
    out = qe.backend.forward(pairs)
    hidden = out.hidden[out.scored_mask]
    _, _, dist = reference(qe, SOURCES[0], HYPOTHESES[0])
    ours = torch.softmax(qe.backend.output_logits(hidden), -1)
    assert torch.allclose(ours, dist, atol=1e-6)


@pytest.mark.parametrize("which", ["marian", "llama"])
@pytest.mark.parametrize("method", ["sigmoid", "boosted"])
def test_batch_size_invariance(which, method, request):
    qe = request.getfixturevalue(which)
    sources, hyps = SOURCES * 12, HYPOTHESES * 12
    one = qe.score(sources, hyps, method=method, batch_size=1, progress=False).scores
    many = qe.score(sources, hyps, method=method, batch_size=64, progress=False).scores
    assert max(abs(a - b) for a, b in zip(one, many)) < 1e-5
    # original order restored: the repeated inputs give repeated scores
    assert one[:6] == pytest.approx(one[6:12], abs=1e-6)


def test_deterministic(marian):
    first = marian.score(SOURCES, HYPOTHESES, progress=False).scores
    assert marian.score(SOURCES, HYPOTHESES, progress=False).scores == first


@pytest.mark.parametrize("which", ["marian", "llama"])
def test_token_offsets_point_into_the_hypothesis(which, request):
    qe = request.getfixturevalue(which)
    result = qe.score(SOURCES, HYPOTHESES, progress=False)
    for hyp, seg in zip(HYPOTHESES, result.segments):
        words = hyp.split()
        spans = [hyp[t.start:t.end] for t in seg.tokens]
        # spans partition the text; a word's leading space belongs to its token
        assert "".join(spans) == hyp and [s.strip() for s in spans] == words + [""]
        assert seg.tokens[-1].token == "</s>"


def test_no_eos_and_aggregates(marian):
    with_eos = marian.score(SOURCES, HYPOTHESES, progress=False)
    without = marian.score(SOURCES, HYPOTHESES, progress=False, include_eos=False)
    for a, b in zip(with_eos.segments, without.segments):
        assert len(b.tokens) == len(a.tokens) - 1
        assert [t.sigmoid for t in b.tokens] == pytest.approx([t.sigmoid for t in a.tokens[:-1]], abs=1e-6)
    prod = marian.score(SOURCES, HYPOTHESES, aggregate="prod", progress=False)
    low = marian.score(SOURCES, HYPOTHESES, aggregate="min", progress=False)
    for seg, p, m in zip(with_eos.segments, prod.scores, low.scores):
        values = [t.sigmoid for t in seg.tokens]
        assert p == pytest.approx(sum(math.log(v) for v in values), abs=1e-5)
        assert m == pytest.approx(min(values), abs=1e-7)
    assert without.signature.count("eos:no") == 1


def test_entropy_is_negated_and_prod_refused(marian):
    result = marian.score(SOURCES, HYPOTHESES, method="entropy", progress=False)
    for seg, value in zip(result.segments, result.scores):
        assert value == pytest.approx(-sum(t.entropy for t in seg.tokens) / len(seg.tokens))
    with pytest.raises(ValueError, match="probability method"):
        marian.score(SOURCES, HYPOTHESES, method="entropy", aggregate="prod")


def test_empty_hypothesis_is_scored_on_eos_with_warning(marian):
    with pytest.warns(InputWarning, match="empty translation") as record:
        result = marian.score(["the cat", "a dog"], ["o gato", ""], progress=False, include_eos=False)
    assert record[0].message.index == 1
    assert len(result.segments[1].tokens) == 1 and result.segments[1].tokens[0].token == "</s>"
    assert not math.isnan(result.scores[1])


@pytest.mark.parametrize("which", ["marian", "llama"])
def test_overlong_input_is_truncated_with_warning(which, request):
    qe = request.getfixturevalue(which)
    long_text = " ".join(["o gato"] * 200)
    with pytest.warns(InputWarning, match="truncated") as record:
        result = qe.score(["the cat", "a dog"], ["o gato", long_text], progress=False)
    assert {w.message.index for w in record if isinstance(w.message, InputWarning)} == {1}
    assert result.segments[1].truncated and not result.segments[0].truncated
    assert len(result.segments[1].tokens) <= 64


def test_line_count_mismatch(marian):
    from sigmoid_qe import InputError
    with pytest.raises(InputError, match="2 sources but 1 translations"):
        marian.score(["a", "b"], ["c"])


def test_causal_chat_template_and_custom_prompt(tiny_llama_dir, tmp_path):
    """With a chat template the prompt comes from it; --prompt-template replaces it; the
    hypothesis is tokenised on its own either way."""
    import shutil

    from transformers import AutoTokenizer
    chat_dir = tmp_path / "chat"
    shutil.copytree(tiny_llama_dir, chat_dir)
    tok = AutoTokenizer.from_pretrained(chat_dir)
    tok.chat_template = "{% for m in messages %}<s> {{ m['content'] }} {% endfor %}{% if add_generation_prompt %}the {% endif %}"
    tok.save_pretrained(chat_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qe = load_model(str(chat_dir), lp="en-pt", device="cpu")
        custom = load_model(str(chat_dir), lp="en-pt", device="cpu", prompt_template="{source} the")
    pair = qe.backend.encode(["a dog"], ["um cao"])[0]
    expected_prompt = tok.apply_chat_template(
        [{"role": "user", "content": "Translate the following text from English into Portuguese.\n"
                                     "English: a dog\nPortuguese:"}],
        add_generation_prompt=True, tokenize=True)
    if hasattr(expected_prompt, "keys"):
        expected_prompt = expected_prompt["input_ids"]
    assert pair.context_ids == list(expected_prompt)
    assert pair.target_ids == tok("um cao", add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
    custom_pair = custom.backend.encode(["a dog"], ["um cao"])[0]
    assert custom_pair.context_ids == tok("a dog the")["input_ids"]
    # the score is the independent computation over that prompt
    ids = torch.tensor([custom_pair.context_ids + custom_pair.target_ids])
    with torch.no_grad():
        logits = custom.backend.model(ids).logits[0, len(custom_pair.context_ids) - 1:-1]
    target = torch.tensor(custom_pair.target_ids)
    expected = torch.sigmoid(logits.gather(1, target[:, None]).squeeze(1)).mean().item()
    assert custom.score(["a dog"], ["um cao"], progress=False).scores[0] == pytest.approx(expected, abs=1e-5)


def test_multilingual_language_codes_are_forced_not_scored(tmp_path):
    """M2M100: --lp sets the tokenizer's languages; the target-language BOS is teacher-forced
    but not scored; the score equals the model's own forward with labels."""
    from sigmoid_qe import SigmoidQEError

    from tiny_models import make_tiny_m2m100
    model_dir = make_tiny_m2m100(tmp_path / "m2m")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(SigmoidQEError, match="--lp"):
            load_model(model_dir, device="cpu")
        qe = load_model(model_dir, lp="en-pt", device="cpu")
    tok, model = qe.backend.tokenizer, qe.backend.model
    assert tok.src_lang == "en" and tok.tgt_lang == "pt"
    result = qe.score(["the cat sat"], ["o gato sentou"], progress=False)
    tokens = result.segments[0].tokens
    assert [t.token for t in tokens] == ["\u2581o", "\u2581gato", "\u2581sentou", "</s>"]
    enc = tok("the cat sat", return_tensors="pt")
    labels = tok(text_target="o gato sentou", return_tensors="pt")["input_ids"]
    assert tok.convert_ids_to_tokens(labels[0].tolist())[0] == "__pt__"
    with torch.no_grad():
        logits = model(**enc, labels=labels).logits[0]
    own = logits.gather(1, labels[0][:, None]).squeeze(1)[1:]  # drop the language code
    assert result.scores[0] == pytest.approx(torch.sigmoid(own).mean().item(), abs=1e-5)
    assert [hyp[t.start:t.end] for hyp in ["o gato sentou"] for t in tokens] == ["o", " gato", " sentou", ""]


def test_combined_method_is_the_weighted_product(marian):
    import math as _math
    detail = marian.score(SOURCES, HYPOTHESES, method="combined", extra_stats=("sigmoid", "softmax"),
                          progress=False)
    for segment in detail.segments:
        for t in segment.tokens:
            assert t.combined == pytest.approx(_math.sqrt(t.sigmoid * t.softmax), rel=1e-5)
    marian.head.config.combine_weight = 1.0
    try:
        only_head = marian.score(SOURCES, HYPOTHESES, method="combined", aggregate="mean-log",
                                 progress=False).scores
        sigmoid = marian.score(SOURCES, HYPOTHESES, aggregate="mean-log", progress=False).scores
        assert only_head == pytest.approx(sigmoid, abs=1e-5)
    finally:
        marian.head.config.combine_weight = None
