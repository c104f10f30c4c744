"""Sources translated more than once: the other references' tokens as extra positives.

When a source has several reference translations, a token of reference B is a valid choice
at the position of reference A it is aligned to, so it must not be trained as a negative
there and can be trained as a positive. Positions are aligned by the longest-matching-blocks
diff of the two token sequences (:class:`difflib.SequenceMatcher`): inside a replaced block,
tokens are paired proportionally; a block that B inserts offers its first token at A's next
position; tokens the two share in order are the reference itself.
"""
from __future__ import annotations

from collections import defaultdict
from difflib import SequenceMatcher
from typing import Dict, List, Optional, Sequence, Set

import torch


def aligned_alternatives(a: Sequence[int], b: Sequence[int]) -> List[Set[int]]:
    """For each position of ``a``, the tokens of ``b`` aligned to it that differ from a's."""
    out: List[Set[int]] = [set() for _ in a]
    matcher = SequenceMatcher(None, list(a), list(b), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "replace":
            for t in range(i1, i2):
                j = j1 + (t - i1) * (j2 - j1) // (i2 - i1)
                out[t].add(b[j])
        elif tag == "insert" and i1 < len(a):
            out[i1].add(b[j1])
    for t, token in enumerate(a):
        out[t].discard(token)
    return out


def extra_positives(sources: Sequence[str], targets: Sequence[Sequence[int]],
                    excluded: Set[int] = frozenset()) -> List[Optional[torch.Tensor]]:
    """Per pair: None, or [positions, A] long ids (-1 = none) of the tokens other references
    of the same source offer at each position; ``excluded`` ids (specials) never count."""
    groups: Dict[str, List[int]] = defaultdict(list)
    for k, source in enumerate(sources):
        groups[source].append(k)
    out: List[Optional[torch.Tensor]] = [None] * len(sources)
    for members in groups.values():
        if len(members) < 2:
            continue
        for k in members:
            sets: List[Set[int]] = [set() for _ in targets[k]]
            for other in members:
                if other != k and list(targets[other]) != list(targets[k]):
                    for t, found in enumerate(aligned_alternatives(targets[k], targets[other])):
                        sets[t] |= found - set(excluded)
            width = max((len(s) for s in sets), default=0)
            if width == 0:
                continue
            ids = torch.full((len(sets), width), -1, dtype=torch.long)
            for t, found in enumerate(sets):
                if found:
                    ids[t, :len(found)] = torch.as_tensor(sorted(found))
            out[k] = ids
    return out
