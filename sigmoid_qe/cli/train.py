"""``sigmoid-qe-train``: train a Sigmoid Head on parallel data for any supported model.

    sigmoid-qe-train --model bergamot-en-pt --lp en-pt --train train.tsv --dev dev.tsv \\
        --output-dir heads/en-pt --epochs 2 --cache-features

The output folder is checked first and the data files are read and checked before the
model is loaded; a mistake is one stderr line and exit code 2. The head is written to
``--output-dir`` (``head.safetensors`` + ``config.json``), ready for ``sigmoid-qe --head DIR``.
``--mqm FILE ...`` adds translations with human error spans (MQM mode, :mod:`sigmoid_qe.training.mqm`).
Under ``accelerate launch`` / ``torchrun`` every process runs this same command (see
:mod:`sigmoid_qe.distributed`). On success, stdout gets one line: the output directory, the
steps done and the kept head's dev loss.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from ..errors import InputError
from .common import (
    ArgumentParser,
    add_model_arguments,
    add_quiet_argument,
    add_term,
    int_up_to,
    library_bars_only_on_a_terminal,
    non_negative_float,
    non_negative_int,
    notice,
    positive_float,
    positive_int,
    run_cli,
    silence_libraries,
)

#: Most source tokens taken as negatives per position (the unigram and softmax negatives are
#: bounded by the vocabulary, checked once the model is loaded).
MAX_NEGATIVES = 4096


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




def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="sigmoid-qe-train",
        description="Train a Sigmoid Head (Dinh & Niehues 2026) on a frozen translation model.")
    data = parser.add_argument_group("data")
    data.add_argument("--train", required=True, nargs="+", metavar="FILE",
                      help="a TSV whose header names the language columns (e.g. en<TAB>pt), or two "
                           "aligned plain-text files (source, target)")
    data.add_argument("--dev", nargs="+", metavar="FILE", default=None,
                      help="dev data, same formats: early stopping and choice of the kept head")
    data.add_argument("--mqm", nargs="+", metavar="FILE", default=None,
                      help="MQM mode: translations with human error spans (a BioMQM table with "
                           "source, target, error_spans; or TSV/JSON with src, mt, errors), in "
                           "the model's direction. Their rows join the --train pairs, shuffled "
                           "into every epoch once: tokens inside a (non-neutral) error span are "
                           "negatives of weight --mqm-weight, the other tokens train as usual")
    data.add_argument("--mqm-weight", type=positive_float, default=10.0, metavar="W",
                      help="weight of a token inside a human error span (default 10, the paper's)")
    add_term(data, "output_dir", required=True,
             help="a new or empty folder for the head and checkpoints")
    add_model_arguments(parser, training=True, batch_default=16)
    model = parser.add_argument_group("what is trained on")
    model.add_argument("--no-eos", action="store_true",
                       help="do not train on the end-of-sentence position")
    model.add_argument("--unk-targets", choices=("train", "skip"), default="train",
                       help="positions whose reference is <unk>: train on them (default) or skip")
    model.add_argument("--multi-reference", action="store_true",
                       help="sources with several references: the others' aligned tokens are "
                            "extra positives, never negatives")
    opt = parser.add_argument_group("optimisation")
    opt.add_argument("--grad-accum", type=positive_int, default=1,
                     help="micro-batches per optimizer step")
    opt.add_argument("--lr", type=positive_float, default=1e-3,
                     help="peak learning rate (cosine decay to 0; default 1e-3)")
    opt.add_argument("--warmup-steps", type=non_negative_int, default=0,
                     help="linear warm-up steps before the cosine decay (default 0)")
    opt.add_argument("--epochs", type=positive_int, default=1, help="passes over the training data")
    opt.add_argument("--max-steps", type=positive_int, default=None,
                     help="train for exactly this many optimizer steps (overrides --epochs)")
    opt.add_argument("--eval-every", type=positive_int, default=500,
                     help="dev evaluation every N steps")
    opt.add_argument("--patience", type=positive_int, default=3,
                     help="stop after N evaluations without a better dev loss")
    add_term(opt, "seed", type=non_negative_int, default=0,
             help="seed of the order and the negatives (default 0)")
    opt.add_argument("--rank-weight", type=non_negative_float, default=0.0,
                     help="weight of a margin ranking loss next to the BCE (default 0: off)")
    opt.add_argument("--rank-margin", type=non_negative_float, default=1.0,
                     help="its margin, in logits (default 1)")
    neg = parser.add_argument_group("negatives")
    neg.add_argument("--negatives", type=parse_negatives, default=(5, 5), metavar="N|U,S",
                     help="negatives per position: N (half unigram, half softmax) or U,S (default 5,5)")
    neg.add_argument("--source-negatives", type=int_up_to(MAX_NEGATIVES, 0), default=0, metavar="K",
                     help="also K tokens of the source sentence per position (aimed at "
                          "untranslated spans; default 0)")
    add_term(neg, "negative_temperature", old=("--temperature",), type=positive_float, default=2.0,
                     help="softmax negatives are drawn with weights p^(1/T) (default 2)")
    neg.add_argument("--no-dominant-exclusion", action="store_true",
                     help="ablation: allow the softmax's dominant tokens as negatives")
    run = parser.add_argument_group("checkpoints, disk and speed")
    run.add_argument("--save-every", type=positive_int, default=None, help="checkpoint every N steps")
    run.add_argument("--keep-checkpoints", type=positive_int, default=1, metavar="N",
                     help="the last N checkpoints are kept next to the head (each ~4x the "
                          "float32 head, 128 MB for the Bergamot students; default 1)")
    run.add_argument("--resume", action="store_true",
                     help="continue from the latest checkpoint in --output-dir")
    run.add_argument("--overwrite", action="store_true",
                     help="train again into the --output-dir of an earlier run, replacing its "
                          "head (only a folder sigmoid-qe-train made is ever written again)")
    run.add_argument("--cache-features", action="store_true",
                     help="store the frozen model's outputs on the first pass; later epochs read them")
    run.add_argument("--cache-dtype", choices=("float16", "float32"), default="float16",
                     help="cached hidden states' type (float32: bit-identical to no cache)")
    run.add_argument("--cache-dir", default=None,
                     help="where the cache goes: a new or empty folder, deleted after training "
                          "(default OUTPUT/feature-cache)")
    run.add_argument("--keep-cache", action="store_true", help="keep the cache after training")
    run.add_argument("--save-dtype", choices=("float32", "float16", "bfloat16"), default="float32",
                     help="dtype of the written head (float16 halves the size)")
    add_quiet_argument(parser)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run_cli(build_parser(), _train, argv)  # run_cli leaves the process group


def options_from_args(args):
    from ..training import SamplerOptions, TrainOptions
    uni, soft = args.negatives
    return TrainOptions(
        batch_size=args.batch_size, grad_accum=args.grad_accum, lr=args.lr,
        warmup_steps=args.warmup_steps, epochs=args.epochs, max_steps=args.max_steps,
        eval_every=args.eval_every, save_every=args.save_every,
        keep_checkpoints=args.keep_checkpoints, patience=args.patience, seed=args.seed,
        sampler=SamplerOptions(uni, soft, args.negative_temperature, not args.no_dominant_exclusion,
                               args.source_negatives),
        include_eos=not args.no_eos, unk_targets=args.unk_targets,
        multi_reference=args.multi_reference, rank_weight=args.rank_weight,
        rank_margin=args.rank_margin, cache_features=args.cache_features,
        cache_dtype=args.cache_dtype, cache_dir=args.cache_dir, keep_cache=args.keep_cache,
        save_dtype=args.save_dtype, resume=args.resume, overwrite=args.overwrite)


def _train(args, files) -> int:
    from ..distributed import init_distributed
    from ..training import read_parallel, train_head
    from ..training.checkpoint import check_cache_dir, check_output_dir
    if args.quiet:
        silence_libraries()
    library_bars_only_on_a_terminal()
    options = options_from_args(args)
    options.check()
    context, device = init_distributed(args.device)
    if context.is_main:  # an unwritable or a user's folder fails now, before any work
        cache_dir = Path(args.cache_dir) if args.cache_features and args.cache_dir else None
        check_output_dir(Path(args.output_dir), args.resume, args.overwrite, cache_dir)
        check_cache_dir(cache_dir, Path(args.output_dir))
    # data next: a wrong path or column fails in a second, before any model is loaded
    from ..files import spool_inputs
    from ..training.mqm import read_mqm
    spool_inputs([*args.train, *(args.dev or []), *(args.mqm or [])],
                 lambda message: notice(args, message))
    train_table = read_parallel(args.train)
    dev_table = read_parallel(args.dev) if args.dev else None
    mqm = read_mqm(args.mqm, args.mqm_weight) if args.mqm else None
    if mqm is not None:
        mqm.check_direction(args.lp)
    train = dev = None
    if args.lp is not None or not train_table.is_tsv:
        train = train_table.select(args.lp)
        dev = dev_table.select(args.lp) if dev_table is not None else None
    from ..loading import load_backend_and_head
    # two files named like train.en / train.pt name the pair when --lp is absent
    lp = args.lp or (train.lp if train is not None and "source" not in (train.lp or "source") else None)
    # the start is --head, else the untrained copy of the output embedding (never a shipped head)
    backend, head = load_backend_and_head(
        args.model, args.head or "untrained", lp=lp, device=str(device), precision=args.precision,
        prompt_template=args.prompt_template, trust_remote_code=args.trust_remote_code,
        head_key=args.head_key, allow_other_model=args.allow_other_model,
        prompt_style=args.prompt_style)
    if train is None:  # TSV without --lp: the model's own pair picks the columns
        if backend.lp is None:
            raise InputError(f"give the direction with --lp xx-yy (columns: "
                             f"{', '.join(train_table.columns)})", args.train[0])
        notice(args, f"language pair {backend.lp} (from the model)")
        train = train_table.select(backend.lp)
        dev = dev_table.select(backend.lp) if dev_table is not None else None
    if mqm is not None:
        mqm.check_direction(train.lp)
    result = train_head(backend, train, args.output_dir, dev=dev, options=options, head=head,
                        progress=not args.quiet, context=context, checked=context.is_main, mqm=mqm)
    if context.is_main:
        dev_loss = "n/a" if result.dev_loss is None else f"{result.dev_loss:.4f}"
        print(f"{result.output_dir}\tsteps: {result.steps}\tdev loss: {dev_loss}\t"
              f"stopped: {result.stopped}", file=sys.stdout, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
