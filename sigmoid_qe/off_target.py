"""Translations in the wrong language (off-target output, or a source left untranslated):
found one segment at a time by :func:`sigmoid_qe.languages.detect` and reported in one warning
per run, which counts them and names the first lines.

The score is left as the model gives it: flagging is a separate signal (``lang`` and
``off_target`` in ``--to-json`` records, a marker in the HTML report; ``sigmoid-qe-filter``,
the OpusFilter filter and the OpusCleaner scorer drop such pairs unless told to keep them).
"""
from __future__ import annotations

import warnings
from typing import List, Optional, Tuple

from .errors import SigmoidQEWarning
from .languages import describe_language, detect, split_lp

#: Lines named in the warning.
EXAMPLES = 5


def target_language(lp: Optional[str]) -> Optional[str]:
    """The translation's language of a pair such as "en-pt" (None when the pair is unknown)."""
    if not lp:
        return None
    try:
        return split_lp(lp)[1].split("_")[0].lower()
    except Exception:  # an unusual pair name: no check
        return None


class OffTarget:
    """Counts the translations that are not in ``expected`` (the model's target language)."""

    def __init__(self, expected: Optional[str]):
        self.expected = expected
        self.count = 0
        self.examples: List[Tuple[str, str]] = []  # (where, language)

    def check(self, where: str, text: str) -> Tuple[Optional[str], bool]:
        """(language of ``text``, whether it is off-target); ``where`` names it in the warning
        (e.g. ``hyp.pt:12``)."""
        lang, off = detect(text, self.expected)
        if off:
            self.count += 1
            if len(self.examples) < EXAMPLES:
                self.examples.append((where, lang))
        return lang, off

    def message(self, action: str = "") -> Optional[str]:
        if not self.count:
            return None
        where = ", ".join(f"{w} ({describe_language(lang)})" for w, lang in self.examples)
        more = ", ..." if self.count > len(self.examples) else ""
        return (f"{self.count} translation(s) are not in {describe_language(self.expected)} "
                f"(wrong language, or left untranslated): {where}{more}{action}")

    def report(self, action: str = "") -> None:
        """One warning for all of them, if any."""
        text = self.message(action)
        if text:
            warnings.warn(SigmoidQEWarning(text), stacklevel=2)
