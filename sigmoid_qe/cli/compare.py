"""``sigmoid-qe-compare``: are two systems' QE scores really different?

Scores every ``-t`` system with one model load, then runs sacrebleu's own significance test
(``sacrebleu.significance.PairedTest``) on the :class:`~sigmoid_qe.metric.SigmoidQE` metric:
paired bootstrap resampling (``--test bs``, 1000 resamples, the default) or paired approximate
randomization (``--test ar``, 10000 trials); each system's score with its 95% interval, and
the p-value against the first system (the baseline). Systems whose translations are identical
to the baseline's are reported as such, without a p-value (sacrebleu would print p = 0.001).
"""
from __future__ import annotations

import os
import sys
from typing import List, Optional

from ..errors import OptionError
from .common import (
    MAX_RESAMPLES,
    ArgumentParser,
    add_model_arguments,
    add_quiet_argument,
    add_scoring_arguments,
    add_term,
    check_memory,
    check_method_arguments,
    int_up_to,
    load_from_args,
    non_negative_int,
    read_inputs,
    run_cli,
)

TESTS = {"bs": "paired bootstrap resampling", "ar": "paired approximate randomization"}


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="sigmoid-qe-compare",
        description="Significance of score differences between systems (first = baseline), "
                    "with sacrebleu's paired tests.")
    add_scoring_arguments(parser)
    add_model_arguments(parser)
    add_quiet_argument(parser)
    parser.add_argument("--test", choices=tuple(TESTS), default="bs",
                        help="bs: paired bootstrap (default); ar: approximate randomization")
    add_term(parser, "resamples", old=("--n-samples",), type=int_up_to(MAX_RESAMPLES), default=None,
                        help="resamples (bs, default 1000) or trials (ar, default 10000)")
    add_term(parser, "seed", type=non_negative_int, default=12345,
                        help="random seed of the test (default 12345, sacrebleu's)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    return run_cli(build_parser(), _compare, argv)


def _compare(args, files) -> int:
    from sacrebleu.significance import PairedTest

    from ..metric import SigmoidQE
    check_method_arguments(args)
    if len(args.translations) < 2:
        raise OptionError("give at least two systems with -t (the first is the baseline)")
    files["source"] = args.sources
    sources, systems = read_inputs(args.sources, args.translations, args)
    samples = args.resamples or (1000 if args.test == "bs" else 10000)
    # sacrebleu builds a [samples, segments] index array (8 bytes each) and per-system sums
    check_memory(samples * len(sources) * 8 * 2, f"--resamples {samples} x {len(sources)} segments")
    names = list(systems)
    baseline = names[0]
    identical = [n for n in names[1:] if systems[n] == systems[baseline]]
    model = load_from_args(args, sources, systems[baseline])
    metric = SigmoidQE(model=model, method=args.method, aggregate=args.aggregate,
                       progress=False if args.quiet else None)
    tested = [baseline] + [n for n in names[1:] if n not in identical]
    _name_scored_system(metric, {tuple(systems[n]): n for n in tested}, files)
    scores = {}
    if len(tested) > 1:
        previous = os.environ.get("SACREBLEU_SEED")
        os.environ["SACREBLEU_SEED"] = str(args.seed)  # how sacrebleu takes its seed
        try:
            files["translation"] = baseline
            test = PairedTest([(n, systems[n]) for n in tested], {"qe": metric}, [sources],
                              test_type=args.test, n_samples=args.resamples or 0,
                              n_ar_confidence=-1 if args.test == "bs" else 0)
            signatures, results = test()
        finally:
            if previous is None:
                os.environ.pop("SACREBLEU_SEED", None)
            else:
                os.environ["SACREBLEU_SEED"] = previous
        key = next(k for k in results if k != "System")
        scores = dict(zip(results["System"], results[key]))
        signature = signatures[key]
    else:
        files["translation"] = baseline
        base = metric.corpus_score(systems[baseline], sources)
        signature = metric.get_signature()
        scores = {baseline: base}
    from ..distributed import current_context
    if not current_context().is_main:  # a data-parallel run: rank 0 reports
        return 0
    print(f"system\tscore\tmean ± 95% CI\tp-value (vs {baseline}, {TESTS[args.test]})")
    for name in names:
        if name in identical:
            print(f"{name}\t{_value(scores[baseline])}\t-\tidentical to {baseline}")
            continue
        result = scores[name]
        p = "-" if name == baseline or result.p_value is None else f"{result.p_value:.4f}"
        ci = (f"{result.mean:.4f} ± {result.ci:.4f}" if getattr(result, "mean", None) is not None
              else "-")
        print(f"{name}\t{_value(result)}\t{ci}\t{p}")
    if identical:
        print(f"# {len(identical)} system(s) identical to the baseline: no test run for them")
    print(f"# {signature}")
    return 0


def _name_scored_system(metric, by_text, files) -> None:
    """Warnings about a system's lines name that system's file: sacrebleu's test hands the
    metric one system's translations at a time, recognised here by their text (systems
    identical to the baseline are not tested, so the text names one system)."""
    extract = metric._extract_corpus_statistics

    def named(hypotheses, references):
        files["translation"] = by_text.get(tuple(hypotheses), files.get("translation"))
        return extract(hypotheses, references)
    metric._extract_corpus_statistics = named


def _value(result) -> str:
    return f"{result.score:.4f}"


if __name__ == "__main__":
    sys.exit(main())
