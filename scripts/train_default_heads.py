"""Train the shipped default heads (bergamot-en-pt, bergamot-pt-en) with the exact recipe.

    python -m scripts.train_default_heads                  # both directions, shipped recipe
    python -m scripts.train_default_heads --models bergamot-pt-en
    python -m scripts.train_default_heads --variant lr3e-3 --train-pairs 12000 --no-install
    python -m scripts.train_default_heads --limit 64 --epochs 1 --install-dir /tmp/h  # smoke test

Data (roles as in ``benchmarks/RESULTS.md``, "Data and roles"): the heads train on
``runs/splits/train.tsv`` (train.tsv minus the held-out dev slice and alternative groups) and
stop early on ``runs/splits/dev.tsv`` (the dev slice + the non-FLORES rows of dev.tsv). Each
direction trains with ``sigmoid-qe-train`` into ``runs/default-heads/<model>/`` and then
installs the kept head as float16 into ``sigmoid_qe/heads/<model>/``; the scoring (direction,
method, weight, aggregation) is then chosen on dev (BioMQM round one and the synthetic dev
challenge set) and the span model fitted on dev by ``scripts/reproduce_heads.sh``
(``benchmarks.human_dev``, ``scripts.select_human_scoring``, ``sigmoid-qe-calibrate``,
``benchmarks.span_dev``, ``scripts.select_span_model``), which runs the whole chain.
FLORES devtest and alt-test are test sets: nothing here reads them.
The run saves checkpoints and always passes ``--resume``: rerunning the script after an
interruption continues where it stopped and yields the same head. The full command of each
run is printed first.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Optional

from benchmarks.heads_data import SPLITS, make_splits

ROOT = Path(__file__).resolve().parents[1]

MODELS = {"bergamot-en-pt": "en-pt", "bergamot-pt-en": "pt-en"}
MAX_HEAD_BYTES = 20 * 2**20

#: The recipe every variant starts from (the first shipped heads' recipe).
BASE = {"--epochs": "3", "--batch-size": "32", "--grad-accum": "1", "--lr": "1e-3",
        "--warmup-steps": "0", "--eval-every": "250", "--patience": "3", "--save-every": "250",
        "--negatives": "5,5", "--negative-temperature": "2", "--seed": "0", "--cache-dtype": "float16",
        "--keep-checkpoints": "1"}
FLAGS = ["--cache-features"]

#: Recipe variants screened on dev (each one change from BASE; see benchmarks/RESULTS.md).
VARIANTS: Dict[str, Dict[str, Optional[str]]] = {
    "base": {},
    "lr3e-4": {"--lr": "3e-4"},
    "lr3e-3": {"--lr": "3e-3"},
    "batch64": {"--batch-size": "64"},
    "neg10+10": {"--negatives": "10,10"},
    "neg20+20": {"--negatives": "20,20"},
    "temp1": {"--negative-temperature": "1"},
    "temp4": {"--negative-temperature": "4"},
    "src5": {"--source-negatives": "5"},
    "src10": {"--source-negatives": "10"},
    "rank1": {"--rank-weight": "1"},
    "unk-skip": {"--unk-targets": "skip"},
    "multiref": {"--multi-reference": None},
    "no-excl": {"--no-dominant-exclusion": None},
    # second round: the changes that helped, together
    "temp8": {"--negative-temperature": "8"},
    "src20": {"--source-negatives": "20"},
    "src10+temp4": {"--source-negatives": "10", "--negative-temperature": "4"},
    "temp4+lr3e-4": {"--negative-temperature": "4", "--lr": "3e-4"},
    "src10+temp4+rank1": {"--source-negatives": "10", "--negative-temperature": "4", "--rank-weight": "1"},
    # the dominant-token exclusion ablated from the shipped recipe
    "src10+temp4+rank1+no-excl": {"--source-negatives": "10", "--negative-temperature": "4",
                                  "--rank-weight": "1", "--no-dominant-exclusion": None},
}
#: The shipped recipe: BASE plus what helped on dev (screening on the 12k slice, see
#: benchmarks/RESULTS.md): source-copy negatives, softmax temperature 4 for the model
#: negatives, and the margin ranking loss next to the BCE.
SHIPPED: Dict[str, Optional[str]] = dict(VARIANTS["src10+temp4+rank1"])
#: Method and aggregation the shipped heads are used with (chosen on dev).
SHIPPED_SCORING = {"method": None, "aggregate": None}


def recipe_args(variant: Dict[str, Optional[str]], epochs: Optional[int] = None) -> List[str]:
    merged: Dict[str, Optional[str]] = {**BASE, **variant}
    if epochs is not None:
        merged["--epochs"] = str(epochs)
    args: List[str] = []
    for flag, value in merged.items():
        args += [flag] if value is None else [flag, value]
    return args + FLAGS


def slice_tsv(source: Path, target: Path, rows: int) -> Path:
    """Header + ``rows`` data rows spread evenly over ``source`` (a quick, representative slice)."""
    lines = source.read_text(encoding="utf-8").split("\n")
    header, data = lines[0], [line for line in lines[1:] if line]
    step = max(1, len(data) // rows)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join([header] + data[::step][:rows]) + "\n", encoding="utf-8")
    return target


def install(run_dir: Path, install_dir: Path, scoring: Optional[Dict[str, object]] = None) -> Path:
    """Copy the kept head as float16 (with its training record and the dev-chosen scoring)."""
    from sigmoid_qe.head import SigmoidHead
    head = SigmoidHead.from_pretrained(run_dir)
    head.config.training = dict(head.config.training, installed_from=str(run_dir))
    for key, value in (scoring or {}).items():
        if value is not None:
            setattr(head.config, key, value)
    head.save_pretrained(install_dir, dtype="float16")
    size = (install_dir / "head.safetensors").stat().st_size
    if size > MAX_HEAD_BYTES:
        raise SystemExit(f"{install_dir}: head is {size / 2**20:.1f} MiB, over the 20 MiB budget")
    return install_dir


def train(model: str, variant: Dict[str, Optional[str]], run_dir: Path, train_path: Path,
          dev_path: Path, cache_dir: Optional[Path] = None, epochs: Optional[int] = None,
          device: str = "auto", quiet: bool = False) -> int:
    from sigmoid_qe.cli import train as train_cli
    argv = ["--model", model, "--lp", MODELS[model], "--train", str(train_path), "--dev",
            str(dev_path), "--output-dir", str(run_dir), "--device", device, "--resume",
            *recipe_args(variant, epochs)]
    if cache_dir is not None:
        argv += ["--cache-dir", str(cache_dir), "--keep-cache"]
    if quiet:
        argv.append("--quiet")
    print("sigmoid-qe-train " + " ".join(shlex.quote(a) for a in argv), file=sys.stderr)
    return train_cli.main(argv)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=sorted(MODELS), default=sorted(MODELS))
    parser.add_argument("--variant", choices=["shipped", *VARIANTS], default="shipped")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs" / "default-heads")
    parser.add_argument("--install-dir", type=Path, default=ROOT / "sigmoid_qe" / "heads",
                        help="heads go to INSTALL_DIR/<model>/ (default: the package's heads/)")
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument("--limit", type=int, default=None,
                        help="smoke test: train on this many pairs (dev: a quarter as many)")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    parser.add_argument("--train-pairs", type=int, default=0,
                        help="even slice of the training split (0 = all of it)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)

    make_splits()
    train_path, dev_path = SPLITS / "train.tsv", SPLITS / "dev.tsv"
    if args.limit:
        sliced = args.runs_dir / f"slice-{args.limit}"
        train_path = slice_tsv(train_path, sliced / "train.tsv", args.limit)
        dev_path = slice_tsv(dev_path, sliced / "dev.tsv", max(8, args.limit // 4))
    elif args.train_pairs:
        train_path = slice_tsv(train_path, args.runs_dir / f"train-{args.train_pairs}.tsv",
                               args.train_pairs)
    variant = SHIPPED if args.variant == "shipped" else VARIANTS[args.variant]
    for model in args.models:
        name = model if not args.limit else f"{model}-slice-{args.limit}"
        run_dir = args.runs_dir / name
        code = train(model, variant, run_dir, train_path, dev_path, epochs=args.epochs,
                     device=args.device, quiet=args.quiet)
        if code != 0:
            return code
        if not args.no_install:
            where = install(run_dir, args.install_dir / model, SHIPPED_SCORING)
            print(f"installed {where}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
