"""``sigmoid-qe-train``: train a Sigmoid Head on parallel data for any supported model.

    sigmoid-qe-train --model bergamot-en-pt --lp en-pt --train train.tsv --dev dev.tsv \\
        --output-dir heads/en-pt --epochs 2 --cache-features

Data files are read and checked before the model is loaded; bad data is one stderr line and
exit code 2. The head is written to ``--output-dir`` (``head.safetensors`` + ``config.json``),
ready for ``sigmoid-qe --head DIR``. Under ``accelerate launch`` / ``torchrun`` every process
runs this same command (see :mod:`sigmoid_qe.training.distributed`). On success, stdout gets
one line: the output directory, the steps done and the kept head's dev loss.
"""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import List, Optional, Tuple

from ..errors import InputError
from .common import _silence_libraries, notice, run_cli, warnings_to_stderr


def parse_negatives(text: str) -> Tuple[int, int]:
    """"10" -> (5, 5) (half unigram, half softmax); "3,7" -> (3, 7) (unigram, softmax)."""
    try:
        if "," in text:
            uni, soft = (int(x) for x in text.split(","))
        else:
            total = int(text)
            uni, soft = total // 2, total - total // 2
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or U,S (e.g. 10 or 5,5), got {text!r}") from None
    if uni < 0 or soft < 0 or uni + soft == 0:
        raise argparse.ArgumentTypeError("need at least one negative, none below 0")
    return uni, soft


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sigmoid-qe-train",
        description="Train a Sigmoid Head (Dinh & Niehues 2026) on a frozen translation model.")
    data = parser.add_argument_group("data")
    data.add_argument("--train", required=True, nargs="+", metavar="FILE",
                      help="a TSV whose header names the language columns (e.g. en<TAB>pt), or two "
                           "aligned plain-text files (source, target)")
    data.add_argument("--dev", nargs="+", metavar="FILE", default=None,
                      help="dev data, same formats: early stopping and choice of the kept head")
    data.add_argument("--lp", default=None, metavar="xx-yy",
                      help="direction: source-target columns (default: the model's pair)")
    data.add_argument("--output-dir", required=True, metavar="DIR")
    model = parser.add_argument_group("model")
    model.add_argument("--model", required=True,
                       help="Hugging Face name or directory, bergamot-en-pt, bergamot-pt-en, or a "
                            "Marian binary-model directory")
    model.add_argument("--head", default=None, metavar="PATH",
                       help="initial head: a head directory or a state-dict file (default: a copy "
                            "of the model's output embedding)")
    model.add_argument("--head-key", default=None, help="tensor name in a --head state-dict file")
    model.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto")
    model.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32",
                       help="the frozen model's precision on CUDA (the head trains in fp32)")
    model.add_argument("--prompt-template", default=None,
                       help="prompt for causal LMs, with {src_lang}, {tgt_lang}, {source}")
    model.add_argument("--trust-remote-code", action="store_true")
    model.add_argument("--no-eos", action="store_true",
                       help="do not train on the end-of-sentence position")
    opt = parser.add_argument_group("optimisation")
    opt.add_argument("--batch-size", type=int, default=16, help="sentences per process per micro-batch")
    opt.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step")
    opt.add_argument("--lr", type=float, default=1e-4, help="peak learning rate (cosine decay to 0)")
    opt.add_argument("--warmup-steps", type=int, default=0)
    opt.add_argument("--epochs", type=int, default=1, help="passes over the training data")
    opt.add_argument("--max-steps", type=int, default=None,
                     help="train for exactly this many optimizer steps (overrides --epochs)")
    opt.add_argument("--eval-every", type=int, default=500, help="dev evaluation every N steps")
    opt.add_argument("--patience", type=int, default=3,
                     help="stop after N evaluations without a better dev loss")
    opt.add_argument("--seed", type=int, default=0)
    neg = parser.add_argument_group("negatives")
    neg.add_argument("--negatives", type=parse_negatives, default=(5, 5), metavar="N|U,S",
                     help="negatives per position: N (half unigram, half softmax) or U,S (default 5,5)")
    neg.add_argument("--temperature", type=float, default=2.0,
                     help="softmax negatives are drawn with weights p^(1/T) (default 2)")
    neg.add_argument("--no-dominant-exclusion", action="store_true",
                     help="ablation: allow the softmax's dominant tokens as negatives")
    run = parser.add_argument_group("checkpoints and speed")
    run.add_argument("--save-every", type=int, default=None, help="checkpoint every N steps")
    run.add_argument("--resume", action="store_true",
                     help="continue from the latest checkpoint in --output-dir")
    run.add_argument("--cache-features", action="store_true",
                     help="store the frozen model's outputs on the first pass; later epochs read them")
    run.add_argument("--cache-dtype", choices=("float16", "float32"), default="float16")
    run.add_argument("--cache-dir", default=None, help="where the cache goes (default OUTPUT/feature-cache)")
    run.add_argument("--keep-cache", action="store_true", help="keep the cache after training")
    run.add_argument("--save-dtype", choices=("float32", "float16", "bfloat16"), default="float32",
                     help="dtype of the written head (float16 halves the size)")
    run.add_argument("--quiet", action="store_true", help="no progress bar, no notices on stderr")
    from ..version import __version__
    parser.add_argument("--version", action="version", version=f"sigmoid-qe-train {__version__}")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run_cli(lambda: _train(args))
    finally:
        from ..training.distributed import shutdown_distributed
        shutdown_distributed()


def _load_initial_head(path: str, key: Optional[str]):
    from ..head import SigmoidHead
    return SigmoidHead.from_pretrained(path) if Path(path).is_dir() else SigmoidHead.from_state_dict(path, key=key)


def _train(args) -> int:
    from ..training import TrainOptions, read_parallel, train_head
    from ..training.distributed import init_distributed
    if args.quiet:
        _silence_libraries()
    with warnings_to_stderr({}):
        # data first: a wrong path or column fails in a second, before any model is loaded
        train_table = read_parallel(args.train)
        dev_table = read_parallel(args.dev) if args.dev else None
        train = dev = None
        if args.lp is not None or not train_table.is_tsv:
            train = train_table.select(args.lp)
            dev = dev_table.select(args.lp) if dev_table is not None else None
        uni, soft = args.negatives
        options = TrainOptions(
            batch_size=args.batch_size, grad_accum=args.grad_accum, lr=args.lr,
            warmup_steps=args.warmup_steps, epochs=args.epochs, max_steps=args.max_steps,
            eval_every=args.eval_every, save_every=args.save_every, patience=args.patience,
            seed=args.seed, n_unigram=uni, n_softmax=soft, temperature=args.temperature,
            exclude_dominant=not args.no_dominant_exclusion, include_eos=not args.no_eos,
            cache_features=args.cache_features, cache_dtype=args.cache_dtype,
            cache_dir=args.cache_dir, keep_cache=args.keep_cache, save_dtype=args.save_dtype,
            resume=args.resume)
        options.check()
        head = _load_initial_head(args.head, args.head_key) if args.head else None
        context, device = init_distributed(args.device)
        from ..backends import load_backend
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="precision .* is only used on CUDA")
            # two files named like train.en / train.pt name the pair when --lp is absent
            lp = args.lp or (train.lp if train is not None and "source" not in (train.lp or "source") else None)
            backend = load_backend(args.model, lp=lp, device=str(device), precision=args.precision,
                                   prompt_template=args.prompt_template,
                                   trust_remote_code=args.trust_remote_code)
        if train is None:  # TSV without --lp: the model's own pair picks the columns
            if backend.lp is None:
                raise InputError(f"give the direction with --lp xx-yy (columns: "
                                 f"{', '.join(train_table.columns)})", args.train[0])
            notice(args, f"language pair {backend.lp} (from the model)")
            train = train_table.select(backend.lp)
            dev = dev_table.select(backend.lp) if dev_table is not None else None
        result = train_head(backend, train, args.output_dir, dev=dev, options=options, head=head,
                            progress=not args.quiet, context=context)
    if context.is_main:
        dev_loss = "n/a" if result.dev_loss is None else f"{result.dev_loss:.4f}"
        print(f"{result.output_dir}\tsteps: {result.steps}\tdev loss: {dev_loss}\t"
              f"stopped: {result.stopped}", file=sys.stdout, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
