"""``sigmoid-qe-rerank``: choose one translation per source among candidates.

Candidates come from a file (``-t CANDS --num-candidates N``: N consecutive lines per source,
the ``comet-mbr`` layout) or from the model (``--generate N --decoding beam|sample``). The
choice is QE reranking (``--method/--aggregate`` as in ``sigmoid-qe``), MBR with a sacrebleu
utility (``--mbr chrf|bleu``), or MBR among the ``--qe-top-k`` best by QE. The chosen lines go
to stdout (or ``-o``); ``--to-json`` records every candidate, its scores and the choice.
Work goes ``--chunk-size`` sources at a time, so memory does not grow with the input.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Dict, List, Optional, Tuple

from ..decoding import MAX_BEAM, Decoding
from ..distributed import current_context
from ..errors import InputError, OptionError
from ..files import check_unchanged, chunks, count_lines, iter_lines
from ..outputs import json_output, open_output
from ..parallel import shard_map
from ..rerank import MBR_METRICS, qe_scores, rerank, utility_function
from .common import (
    MAX_CHUNK_SIZE,
    ArgumentParser,
    add_method_arguments,
    add_model_arguments,
    add_quiet_argument,
    add_term,
    check_distinct_inputs,
    check_method_arguments,
    finite_float,
    int_up_to,
    load_from_args,
    non_negative_int,
    notice,
    positive_float,
    positive_int,
    run_cli,
)
from .preflight import Outputs


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="sigmoid-qe-rerank",
        description="Pick the best translation per source: QE reranking, MBR, QE-pruned MBR.")
    parser.add_argument("-s", "--sources", required=True, metavar="FILE",
                        help="source sentences, one a line")
    given = parser.add_argument_group("candidates from a file")
    given.add_argument("-t", "--candidates", default=None, metavar="FILE",
                       help="N consecutive candidate lines per source")
    given.add_argument("--num-candidates", type=int_up_to(MAX_CHUNK_SIZE), default=None,
                       metavar="N", help="candidates per source in the -t file")
    made = parser.add_argument_group("candidates from the model")
    made.add_argument("--generate", type=int_up_to(MAX_BEAM), default=None, metavar="N",
                      help="generate N candidates per source")
    made.add_argument("--decoding", choices=("beam", "sample"), default="beam",
                      help="beam search or sampling (default beam)")
    made.add_argument("--beam-size", type=int_up_to(MAX_BEAM), default=None,
                      help="beam width (default N)")
    made.add_argument("--length-penalty", type=finite_float, default=1.0,
                      help="beam search: log-prob / length^this (default 1.0, Marian's)")
    made.add_argument("--temperature", type=positive_float, default=1.0,
                      help="sampling temperature (default 1)")
    made.add_argument("--top-k", type=non_negative_int, default=0, help="0 = off")
    made.add_argument("--top-p", type=finite_float, default=1.0, help="nucleus mass (1 = off)")
    made.add_argument("--epsilon", type=finite_float, default=0.0,
                      help="epsilon sampling: drop tokens below this probability (0 = off)")
    add_term(made, "seed", type=non_negative_int, default=0,
             help="sampling seed (draws depend on it and the source's position)")
    select = parser.add_argument_group("selection")
    add_method_arguments(select, "do not score the end-of-sentence token after a candidate")
    select.add_argument("--mbr", choices=MBR_METRICS, default=None,
                        help="MBR with this sacrebleu metric as utility (default: QE reranking)")
    select.add_argument("--qe-top-k", type=positive_int, default=None, metavar="K",
                        help="MBR among the K best candidates by QE")
    add_term(parser, "output", default=None,
                        help="the chosen translations, one per source (default stdout)")
    add_term(parser, "to_json", default=None,
                        help="every candidate with its scores, and the choice ('-' = stdout "
                             "instead of the chosen lines)")
    parser.add_argument("--chunk-size", type=int_up_to(MAX_CHUNK_SIZE), default=256,
                        metavar="SOURCES",
                        help="sources handled at a time (default 256)")
    add_model_arguments(parser)
    add_quiet_argument(parser)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run_cli(build_parser(), _rerank, argv)


def decoding_from_args(args) -> Optional[Decoding]:
    """The --generate options as a Decoding (None for candidates from a file); options that
    belong to another strategy are refused rather than ignored."""
    sampling = {"--temperature": args.temperature != 1.0, "--top-k": args.top_k != 0,
                "--top-p": args.top_p != 1.0, "--epsilon": args.epsilon != 0.0}
    beam = {"--beam-size": args.beam_size is not None, "--length-penalty": args.length_penalty != 1.0}
    if args.generate is None:
        given = [flag for flag, on in {**sampling, **beam}.items() if on]
        if given:
            raise OptionError(f"{given[0]} goes with --generate")
        return None
    wrong = [flag for flag, on in (beam if args.decoding == "sample" else sampling).items() if on]
    if wrong:
        raise OptionError(f"{wrong[0]} does not apply to --decoding {args.decoding}")
    if args.decoding == "beam":
        return Decoding("beam", args.generate, beam_size=args.beam_size,
                        length_penalty=args.length_penalty)
    return Decoding("sample", args.generate, temperature=args.temperature, top_k=args.top_k,
                    top_p=args.top_p, epsilon=args.epsilon, seed=args.seed)


#: The outputs, checked before work (:mod:`sigmoid_qe.cli.preflight`).
OUTPUTS = Outputs((("-o", "output"), ("--to-json", "to_json")), resumable=False)


def _check_files(args) -> List[str]:
    """The inputs (read once where they cannot be read twice) and the outputs."""
    inputs = [args.sources] + ([args.candidates] if args.candidates else [])
    check_distinct_inputs(inputs, "-s/-t")
    OUTPUTS.stdout_aliases(args)
    if args.output is None and args.to_json != "-":
        args.output = "-"
    OUTPUTS.check(args, inputs, lambda m: notice(args, m))
    return inputs


def _check_candidates(args, per_source: int, sources: int) -> None:
    """-t: no empty candidate, and ``per_source`` lines for each of the ``sources``."""
    count = 0
    for count, line in enumerate(iter_lines(args.candidates), start=1):
        if not line.strip():
            raise InputError(f"empty candidate (for source line {(count - 1) // per_source + 1})",
                             args.candidates, count)
    if count % per_source:
        raise InputError(f"has {count} lines, not a multiple of --num-candidates "
                         f"{per_source}", args.candidates)
    if count // per_source != sources:
        raise InputError(f"has {count} lines = {count // per_source} sources x "
                         f"{per_source} candidates, but {args.sources} has {sources} lines",
                         args.candidates)


def _check(args) -> Optional[Decoding]:
    """Options, outputs and input files, before any model is loaded."""
    check_method_arguments(args)
    if (args.candidates is None) == (args.generate is None):
        raise OptionError("give candidates with -t FILE --num-candidates N, or --generate N")
    if args.candidates is not None and args.num_candidates is None:
        raise OptionError("-t needs --num-candidates N (the candidates per source)")
    if args.num_candidates is not None and args.candidates is None:
        raise OptionError("--num-candidates goes with -t")
    decoding = decoding_from_args(args)
    per_source = args.num_candidates or args.generate
    if args.qe_top_k is not None:
        if args.mbr is None:
            raise OptionError("--qe-top-k prunes the candidates of MBR: give --mbr too")
        if args.qe_top_k > per_source:
            raise OptionError(f"--qe-top-k {args.qe_top_k} is more than the {per_source} "
                              "candidates per source")
    if args.mbr is not None and (args.method or args.aggregate) and args.qe_top_k is None:
        raise OptionError("--method/--aggregate choose by QE: with --mbr they need --qe-top-k")
    _check_files(args)
    sources = count_lines(args.sources)
    if args.candidates is not None:
        _check_candidates(args, per_source, sources)
    args.total_sources = sources
    return decoding


def _rerank(args, files) -> int:
    decoding = _check(args)
    files["source"] = args.sources
    files["translation"] = args.candidates or "generated candidates"
    needs_qe = args.mbr is None or args.qe_top_k is not None
    model = None
    if needs_qe or decoding is not None:
        head = [line for _, line in zip(range(100), iter_lines(args.sources))]
        model = load_from_args(args, head, None if decoding is not None else
                               [line for _, line in zip(range(100), iter_lines(args.candidates))])
    utility = utility_function(args.mbr) if args.mbr else None
    per_source = args.num_candidates or args.generate
    from ..progress import progress_bar
    bar = progress_bar(args.total_sources, None if not args.quiet else False, "Reranking")
    selection = _selection_name(args)
    header = {"signature": _signature(model if needs_qe else None, args),
              "selection": selection,
              "decoding": decoding.record() if decoding is not None else None}
    context = current_context()
    with contextlib.ExitStack() as outputs:
        main = context.is_main  # in a data-parallel run, rank 0 writes
        out = (outputs.enter_context(open_output(args.output))
               if main and args.output is not None else None)
        record = (outputs.enter_context(json_output(args.to_json, header))
                  if args.to_json and main else None)
        if record is not None:
            record.array("segments")
        candidate_lines = (chunks(iter_lines(args.candidates), per_source)
                           if args.candidates else None)
        start = 0
        for sources in chunks(iter_lines(args.sources), args.chunk_size):
            given = [next(candidate_lines, None) for _ in sources] if candidate_lines else None
            if given is not None and (None in given or len(given[-1]) != per_source):
                check_unchanged(args.candidates, 0, 1)  # raises: the file changed
            items = [(start + k, source, given[k] if given else None)
                     for k, source in enumerate(sources)]
            chosen = _choose_chunk(args, model, decoding, utility, items, context)
            start += len(sources)
            bar.update(len(sources))
            if chosen is None:  # another rank of a data-parallel run: rank 0 writes
                continue
            for text, entry in chosen:
                if out is not None:
                    out.write(text.replace("\n", " ") + "\n")
                if record is not None:
                    record.add(entry)
        check_unchanged(args.sources, start, args.total_sources)
        if args.candidates:
            check_unchanged(args.candidates)
    bar.close()
    if header["signature"] and context.is_main:
        notice(args, f"signature: {header['signature']}")
    return 0


def _choose_chunk(args, model, decoding, utility, items, context):
    """(chosen text, JSON record) per item of a chunk on rank 0 (None on the others).

    Under torchrun the candidates are generated, and scored, in the batches one process
    builds (:meth:`~sigmoid_qe.model.QEModel.generation_plan`, the scoring batch plan), each
    rank taking whole batches and every rank getting every result; the choices are then
    shared out by source. N processes thus give what 1 process gives."""
    if not context.active:
        return _choose_part(args, model, decoding, utility, items)
    generated = None
    if decoding is not None:
        plan = model.generation_plan([source for _, source, _ in items], decoding)
        generated = shard_map(lambda part: model.generate(
            [source for _, source, _ in part], decoding, indices=[i for i, _, _ in part])
            if part else [], items, context, plan, everyone=True)
    groups = ([[c.text for c in per] for per in generated] if generated is not None
              else [group for _, _, group in items])
    qe = None
    if args.mbr is None or args.qe_top_k is not None:
        qe = qe_scores(model, [source for _, source, _ in items], groups,
                       [i for i, _, _ in items], args.method, args.aggregate, context)
    extra = {k: (generated[k] if generated is not None else None, qe[k] if qe else None)
             for k in range(len(items))}
    shared = [(k, *item) for k, item in enumerate(items)]
    return shard_map(lambda part: _choose_part(args, model, decoding, utility,
                                               [item[1:] for item in part],
                                               [extra[item[0]] for item in part]),
                     shared, context)


def _choose_part(args, model, decoding, utility, part, extra=None) -> List[Tuple[str, Dict]]:
    """(chosen text, JSON record) for each (position, source, candidates or None) of this
    rank's share of a chunk (generated in batches, seeded by position: the draws do not depend
    on the chunking or the number of processes)."""
    if not part:
        return []
    generated = qe = None
    if extra is not None:  # computed for the whole chunk already (see _choose_chunk)
        generated = [g for g, _ in extra] if decoding is not None else None
        qe = [q for _, q in extra] if extra and extra[0][1] is not None else None
    records = rerank(model, [source for _, source, _ in part],
                     None if decoding is not None else [group for _, _, group in part],
                     decoding, utility, args.qe_top_k, method=args.method,
                     aggregate=args.aggregate, indices=[i for i, _, _ in part],
                     generated=generated, qe=qe)
    return [(record["translation"], record) for record in records]


def _selection_name(args) -> str:
    if args.mbr is None:
        return "qe"
    return f"mbr-{args.mbr}" + (f" among the top {args.qe_top_k} by qe" if args.qe_top_k else "")


def _signature(model, args) -> str:
    """The QE signature where QE chooses or prunes, then what MBR used (its metric named)."""
    from ..rerank import utility_signature
    parts = [] if model is None else [str(model.signature(args.method, args.aggregate,
                                                           model.include_eos))]
    if args.mbr:
        parts.append(utility_signature(args.mbr, args.qe_top_k))
    return "|".join(parts)


if __name__ == "__main__":
    sys.exit(main())
