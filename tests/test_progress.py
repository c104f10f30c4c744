"""The progress bar moves per batch, not per chunk, and never past the pair count."""
from __future__ import annotations

import sigmoid_qe.parallel as parallel
from sigmoid_qe.progress import PassesBar


class RecordingBar:
    def __init__(self, total=None, *args):
        self.total, self.updates = total, []

    def update(self, n=1):
        self.updates.append(n)

    def close(self):
        pass


def test_a_streamed_run_moves_the_bar_once_per_batch(marian_qe, monkeypatch):
    bars = []

    def fake_bar(total, enabled, desc):
        bars.append(RecordingBar(total))
        return bars[-1]
    monkeypatch.setattr(parallel, "progress_bar", fake_bar)
    pairs = [(f"the cat {i}", f"o gato {i}") for i in range(10)]
    scored = list(marian_qe.iter_score(pairs, chunk_size=1000, batch_size=2, progress=True,
                                       total=10))
    assert len(scored) == 10
    (bar,) = bars
    assert bar.updates[0] == 0  # nothing skipped
    assert bar.updates[1:] == [2, 2, 2, 2, 2]  # five batches of two in one 1,000-pair chunk


def test_two_passes_share_the_bar_and_end_at_the_pair_count():
    bar = RecordingBar()
    both = PassesBar(bar, passes=2)
    for _ in range(2):  # the forward model's batches, then the reverse model's
        for n in (3, 3, 1):
            both.update(n)
    both.finish(7)
    assert sum(bar.updates) == 7 and len(bar.updates) >= 4
    one = PassesBar(bar, passes=1)
    one.update(5)
    one.finish(5)
    assert sum(bar.updates) == 12
