"""Idle OpenMP threads that sleep instead of spinning, unless the user chose otherwise.

PyTorch's CPU kernels run on an OpenMP pool whose idle threads busy-wait for the next parallel
region. On a machine where anything else runs (a shared server, a CI runner, two commands at
once) those spinning threads take the cores the work needs: a 600-pair ``sigmoid-qe`` run took 32 s
on a loaded 2-core machine against 4.8 s with ``OMP_WAIT_POLICY=PASSIVE``, and beside two busy
processes the spinning default was 3.5x slower than the passive policy
(``benchmarks/bench_busy_cpu.py``).

The OpenMP runtime reads the variable once, when torch's libraries load, so it must be in the
environment before ``import torch``: the package sets it when it is imported (every command
imports it first). An explicit ``OMP_WAIT_POLICY`` (or ``GOMP_SPINCOUNT``) always wins, and
once torch is loaded nothing is changed (it would not take effect, and would mislead).
"""
from __future__ import annotations

import os
import sys

#: Variables by which a user chooses the OpenMP wait policy themselves.
USER_CHOICES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")


def prefer_passive_threads() -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` for the torch this process will load; True when set
    here. Nothing is done where the user set a wait policy or torch is already loaded."""
    if "torch" in sys.modules or any(name in os.environ for name in USER_CHOICES):
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True
