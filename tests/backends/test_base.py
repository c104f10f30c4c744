"""The Backend interface: what callers may ask of any backend is declared on the base class
(shortlist, prompt_style, can_generate(), generate(), set_prompt_style(), reversed()), so no
caller has to probe a backend with hasattr/getattr."""
from __future__ import annotations

import pytest

from sigmoid_qe.backends import load_backend
from sigmoid_qe.backends.base import Backend
from sigmoid_qe.errors import OptionError


class ScoringOnly(Backend):
    """The least a backend must write: the abstract members, nothing optional."""

    name = "scoring-only"
    vocab_size = hidden_size = 4
    target_token_ids = output_embedding = encode = forward = output_logits = None


def test_the_optional_members_have_declared_defaults():
    backend = ScoringOnly()
    assert backend.shortlist is None and backend.prompt_style is None
    assert backend.can_generate() is False and backend.reversed() is None
    with pytest.raises(NotImplementedError, match="scoring-only: this backend cannot translate"):
        backend.generate(["a"], None)
    with pytest.raises(OptionError, match="prompt styles are for causal LMs"):
        backend.set_prompt_style("default")


def test_a_bilingual_seq2seq_model_has_no_reverse(marian_qe):
    backend = marian_qe.backend
    assert backend.can_generate() and backend.shortlist is None
    assert backend.reversed() is None  # Marian opus-mt-xx-yy translates one direction


def test_a_causal_lm_reverses_by_swapping_the_languages(tiny_llama_dir):
    backend = load_backend(tiny_llama_dir, lp="en-pt", device="cpu")
    other = backend.reversed()
    assert other is not None and other.model is backend.model  # the weights are shared
    assert (other.lp, other.src_lang, other.tgt_lang) == ("pt-en", "Portuguese", "English")
    assert (backend.lp, backend.src_lang) == ("en-pt", "English")  # the forward one unchanged
    assert other.tokenizer is not backend.tokenizer
