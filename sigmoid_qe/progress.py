"""The progress bar of every long pass (scoring, streamed and sharded scoring, reranking)."""
from __future__ import annotations

import sys
from typing import Optional


def progress_bar(total: int, enabled: Optional[bool], desc: str):
    """tqdm on stderr (stdout carries only results). ``enabled`` None follows tqdm's
    convention: a bar only when stderr is a terminal."""
    from tqdm.auto import tqdm
    return tqdm(total=total, disable=None if enabled is None else not enabled, desc=desc,
                unit="seg", file=sys.stderr, dynamic_ncols=True, leave=False)


class PassesBar:
    """A caller's bar advanced by a scoring that goes over each pair ``passes`` times (both
    directions: the forward model, then the reverse one): every pass moves it by its share,
    so it moves per batch and ends at the pair count, never past it."""

    def __init__(self, bar, passes: int = 1):
        self.bar, self.passes = bar, max(1, passes)
        self._seen = 0
        self._shown = 0

    def update(self, n: int = 1) -> None:
        self._seen += n
        shown = self._seen // self.passes
        if shown > self._shown:
            self.bar.update(shown - self._shown)
            self._shown = shown

    def finish(self, pairs: int) -> None:
        """The chunk of ``pairs`` is done: the bar stands at its end whatever was counted."""
        if pairs > self._shown:
            self.bar.update(pairs - self._shown)
        self._seen, self._shown = 0, 0
