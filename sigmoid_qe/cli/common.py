"""What the scoring, comparing and training commands share: model options, input checks,
warnings as one stderr line each, and turning user errors into exit code 2."""
from __future__ import annotations

import argparse
import contextlib
import sys
import warnings
from typing import Callable, Dict, List, Optional, Sequence

from ..aggregation import AGGREGATES, METHODS
from ..errors import InputError, InputWarning, SigmoidQEError
from ..textio import read_segments

EXIT_USER_ERROR = 2


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--model/--head/--lp/--device/--precision/... as COMET users know them."""
    group = parser.add_argument_group("model")
    group.add_argument("--model", default=None,
                       help="Hugging Face name or directory, bergamot-en-pt, bergamot-pt-en, or a "
                            "Marian binary-model directory (default: the Bergamot model of the pair)")
    group.add_argument("--head", default=None, metavar="DIR",
                       help="trained Sigmoid Head directory (default: the shipped head, else untrained)")
    group.add_argument("--lp", default=None, metavar="xx-yy", help="language pair, e.g. en-pt")
    group.add_argument("--batch-size", type=int, default=32)
    group.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto")
    group.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32",
                       help="half precision is used on CUDA only; CPU stays fp32")
    group.add_argument("--prompt-template", default=None,
                       help="prompt for causal LMs, with {src_lang}, {tgt_lang}, {source}")
    group.add_argument("--trust-remote-code", action="store_true",
                       help="allow code from the model repository to run (off by default)")
    group.add_argument("--quiet", action="store_true", help="no progress bar, no notices on stderr")


def add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--sources", required=True, metavar="FILE")
    parser.add_argument("-t", "--translations", required=True, nargs="+", metavar="FILE")
    parser.add_argument("--method", choices=METHODS, default="sigmoid")
    parser.add_argument("--aggregate", choices=AGGREGATES, default="mean")
    parser.add_argument("--no-eos", action="store_true",
                        help="do not score the end-of-sentence token after the translation")


def read_inputs(sources_path: str, translation_paths: Sequence[str]):
    """All files read and checked before any model is loaded, so mistakes fail fast."""
    sources = read_segments(sources_path)
    systems: Dict[str, List[str]] = {}
    for path in translation_paths:
        lines = read_segments(path)
        if len(lines) != len(sources):
            raise InputError(f"has {len(lines)} lines but {sources_path} has {len(sources)}", path)
        systems[path] = lines
    return sources, systems


def load_from_args(args, sources: Sequence[str], first_translations: Sequence[str]):
    """The QEModel the options ask for (the Bergamot default when --model is absent)."""
    from ..model import load_model
    if args.device == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise SigmoidQEError("--device cuda: no CUDA device is available")
    if args.quiet:
        _silence_libraries()
    model_name, lp = args.model, args.lp
    if model_name is None:
        from ..default_model import choose_default_model
        model_name, lp = choose_default_model(list(sources), list(first_translations), lp)
        notice(args, f"using the default model {model_name} (language pair {lp})")
    return load_model(model_name, head=args.head, lp=lp, device=args.device,
                      precision=args.precision, batch_size=args.batch_size,
                      prompt_template=args.prompt_template,
                      include_eos=not getattr(args, "no_eos", False),
                      trust_remote_code=args.trust_remote_code)


def _silence_libraries() -> None:
    """--quiet also silences transformers' own loading bars and info logs."""
    try:
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:  # pragma: no cover - transformers is a dependency
        pass


def score_systems(args):
    """Read -s/-t, load the model once, score every system: (model, {path: QEResult}).
    Warnings name the file being scored."""
    files = {"source": args.sources, "translation": None}
    with warnings_to_stderr(files):
        sources, systems = read_inputs(args.sources, args.translations)
        model = load_from_args(args, sources, next(iter(systems.values())))
        results = {}
        for path, hypotheses in systems.items():
            files["translation"] = path
            results[path] = model.score(sources, hypotheses, method=args.method,
                                        aggregate=args.aggregate, progress=not args.quiet)
    return model, results


def notice(args, message: str) -> None:
    if not getattr(args, "quiet", False):
        print(f"{_prog()}: {message}", file=sys.stderr)


def _prog() -> str:
    """The command's name for messages ("sigmoid-qe" when run as a module or from tests)."""
    import os
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return name if name.startswith("sigmoid-qe") else "sigmoid-qe"


@contextlib.contextmanager
def warnings_to_stderr(files: Dict[str, str]):
    """Show each warning as one line; InputWarnings name the file ("source"/"translation" ->
    path in ``files``) and line. ``files`` may be updated while the block runs."""
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
        text = str(message)
        if isinstance(message, InputWarning) and files.get(message.side):
            text = f"{files[message.side]}:{message.index + 1}: {message.message}"
        print(f"{_prog()}: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.showwarning = show
        try:
            yield files
        finally:
            warnings.showwarning = previous


def run_cli(body: Callable[[], int]) -> int:
    """Run a command body; user errors become one stderr line and exit code 2."""
    try:
        return body()
    except SigmoidQEError as exc:
        print(f"{_prog()}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"{_prog()}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `sigmoid-qe ... | head`
        return 0
