"""Idle OpenMP threads sleep (OMP_WAIT_POLICY=PASSIVE) unless the user chose otherwise."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO_ROOT

#: torch loads its OpenMP runtime, which prints what it read (OMP_DISPLAY_ENV=VERBOSE): how
#: long an idle thread spins, GOMP_SPINCOUNT, is 0 under a passive policy, 300000 when unset.
PROGRAM = "import sigmoid_qe, torch; torch.ones(4).sum()"


def _spin_count(env_update, program=PROGRAM) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")}
    env.update(env_update, OMP_DISPLAY_ENV="VERBOSE", PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True,
                          text=True, timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "GOMP_SPINCOUNT" in line]
    return lines[0].split("=", 1)[1].strip().strip("'") if lines else ""


def test_importing_the_package_makes_torch_threads_passive():
    assert _spin_count({}) == "0"


def test_an_explicit_user_policy_wins():
    assert _spin_count({"OMP_WAIT_POLICY": "ACTIVE"}) not in ("0", "")


def test_nothing_changes_once_torch_is_loaded():
    """Set after torch loaded, the variable would not take effect: it is left alone."""
    program = ("import os, torch; import sigmoid_qe; "
               "print(os.environ.get('OMP_WAIT_POLICY', 'unset'))")
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True,
                          text=True, timeout=120, cwd=REPO_ROOT)
    assert done.stdout.strip() == "unset", done.stderr
