"""Character offsets of subword tokens in the text they came from.

Fast Hugging Face tokenizers report offsets themselves; SentencePiece (Marian, Bergamot)
and other slow tokenizers do not, so their pieces are aligned to the text here. Offsets
are what word-level error spans are later built on, so every scored token gets one.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

#: Word-boundary markers that tokenizers put in piece strings but not in the text.
_MARKERS = ("\u2581", "\u0120", "\u010a")  # SentencePiece '▁', GPT-2 'Ġ' (space), 'Ċ' (newline)


def piece_surface(piece: str) -> str:
    """The text a piece stands for, without word-boundary markers or '##' continuation."""
    surface = piece
    for marker in _MARKERS:
        surface = surface.replace(marker, " ")
    if surface.startswith("##"):
        surface = surface[2:]
    return surface.strip()


def align_pieces(text: str, pieces: Sequence[str]) -> List[Tuple[int, int]]:
    """Greedy left-to-right alignment of ``pieces`` to ``text``.

    Each piece is searched from the end of the previous one; a piece that cannot be found
    (byte fallback, normalised characters, <unk>) gets an empty span at the cursor, so the
    result always has one span per piece and spans never go backwards.
    """
    spans: List[Tuple[int, int]] = []
    cursor = 0
    lost = False  # the previous piece was not found: the next one may skip its characters
    for piece in pieces:
        surface = piece_surface(piece)
        if not surface:
            spans.append((cursor, cursor))
            lost = lost or piece not in ("", "\u2581")
            continue
        start = text.find(surface, cursor)
        # Do not jump ahead over text for a piece that merely occurs later in the text.
        if start < 0 or (text[cursor:start].strip() and not lost):
            spans.append((cursor, cursor))
            lost = True
            continue
        end = start + len(surface)
        spans.append((start, end))
        cursor = end
        lost = False
    return spans
