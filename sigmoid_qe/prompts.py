"""How a source is put to a translation LM: prompt templates and named prompt styles.

A head only works with the input format it was trained on, so the format is named and can be
recorded in the head's config (``prompt_style``):

* ``default``: the tokenizer's chat template when it has one (the instruction as the user
  turn, then the generation prompt), else :data:`DEFAULT_PROMPT` as plain text; the
  hypothesis is tokenised on its own and scored with its EOS.
* ``sigmoid-head-paper``: the format of the heads released with the paper
  (``SigmoidHead-TowerInstruct-7B-v0.2``, ``SigmoidHead-OLMo-2-0425-1B-SFT``): the user turn
  :data:`PAPER_PROMPT` (full English language names, a "." always after the source) through
  the chat template with the generation prompt, the hypothesis prefixed with one space, and
  the tokens scored from after the generation prompt up to, not including, the first EOS.

``--prompt-template`` replaces the instruction text of either style; its fields are checked
before any model is loaded (:func:`check_prompt_template`). Torch-free on purpose.
"""
from __future__ import annotations

import string

from .errors import OptionError

DEFAULT_PROMPT = ("Translate the following text from {src_lang} into {tgt_lang}.\n"
                  "{src_lang}: {source}\n{tgt_lang}: ")
PAPER_PROMPT = ("Translate the following text from {src_lang} into {tgt_lang}.\n"
                "{src_lang}: {source}.\n{tgt_lang}: ")
PROMPT_STYLES = ("default", "sigmoid-head-paper")
#: What a ``--prompt-template`` may name.
PROMPT_FIELDS = ("src_lang", "tgt_lang", "source")


def check_prompt_style(style: str) -> str:
    if style not in PROMPT_STYLES:
        raise OptionError(f"unknown prompt style {style!r}; choose one of {', '.join(PROMPT_STYLES)}")
    return style


def check_prompt_template(template: str) -> str:
    """Refuse, before any model work, a template with a field no backend fills.

    Only the plain fields are allowed: ``{source.upper}``, ``{source[0]}``, ``{source!r}`` or
    ``{source:>9}`` would fail (or do something odd) inside the backend, mid-run."""
    try:
        parsed = [(field, conversion, spec) for _, field, spec, conversion
                  in string.Formatter().parse(template) if field is not None]
    except ValueError as exc:
        raise OptionError(f"--prompt-template {template!r}: {exc}") from None
    names = [field for field, _, _ in parsed]
    decorated = sorted({"{" + field + ("!" + conversion if conversion else "")
                        + (":" + spec if spec else "") + "}"
                        for field, conversion, spec in parsed if conversion or spec})
    if decorated:
        raise OptionError(f"--prompt-template uses {', '.join(decorated)}: only the plain fields "
                          f"{', '.join('{' + f + '}' for f in PROMPT_FIELDS)} are filled in")
    unknown = sorted({n for n in names if n not in PROMPT_FIELDS})
    if unknown or any(n == "" or n.isdigit() for n in names):
        bad = ", ".join("{" + n + "}" for n in unknown) or "a positional {}"
        raise OptionError(f"--prompt-template uses {bad}; the fields are "
                          f"{', '.join('{' + f + '}' for f in PROMPT_FIELDS)}")
    return template
