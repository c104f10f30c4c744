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
