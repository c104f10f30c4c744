"""The one shell of all seven commands: parsing, shared options, warnings, errors, exit codes.

* One vocabulary: an option that means the same in several commands is spelled, typed and
  explained once, in :data:`GLOSSARY`, and added with :func:`add_term`; an old spelling keeps
  working for one release, with a one-line deprecation warning on stderr.

* A user's mistake (a bad option, file, model or head) is one line on stderr,
  ``PROG: error: ...``, and exit code 2, before any long work where it can be found early;
  a warning is one line ``PROG: warning: FILE:LINE: ...``; Ctrl-C is exit code 130.
* stdout carries results only; notices and progress bars go to stderr and ``--quiet``
  silences them (warnings stay: they say a score may not be what it seems).
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import math
import os
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from ..devices import DEVICES, PRECISION_NAMES
from ..directions import DIRECTIONS
from ..errors import InputError, InputWarning, OptionError, SigmoidQEError
from ..files import read_lines, release_spooled, spool_inputs
from ..folders import settle_folders
from ..methods import AGGREGATE_SCALES, AGGREGATES, METHODS, check_method
from ..prompts import PROMPT_STYLES, check_prompt_template

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Term:
    """One option concept: its spellings (the long one names it), metavar and help."""

    flags: Tuple[str, ...]
    metavar: Optional[str]
    help: str


#: The options several commands share, by concept. Spellings the commands keep that differ on
#: purpose: ``-t`` is ``--translations`` (score, compare), ``--targets`` (filter) and
#: ``--candidates`` (rerank); ``--temperature`` is rerank's sampling temperature, and
#: ``--negative-temperature`` train's weighting of softmax negatives; ``--permutations``
#: (eval) counts permutation trials, not bootstrap resamples.
GLOSSARY: Dict[str, Term] = {
    "output": Term(("-o", "--output"), "FILE", "write the results here (default stdout)"),
    "output_dir": Term(("--output-dir",), "DIR", "the folder the results go to"),
    "to_json": Term(("--to-json",), "FILE", "every record as JSON ('-' = stdout)"),
    "resamples": Term(("--resamples",), "N", "bootstrap resamples"),
    "seed": Term(("--seed",), "N", "random seed"),
    "negative_temperature": Term(("--negative-temperature",), "T",
                                 "softmax negatives are drawn with weights p^(1/T)"),
}


class _Deprecated(argparse.Action):
    """An old spelling: stores like the new one, after a one-line warning on stderr."""

    def __init__(self, option_strings, dest, new: str = "", **kwargs):
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        sys.stderr.write(f"{parser.prog}: warning: {option_string} is deprecated and will be "
                         f"removed in the next release: use {self.new}\n")
        setattr(namespace, self.dest, values)


def add_term(parser, name: str, old: Sequence[str] = (), **kwargs: Any) -> argparse.Action:
    """Add the :data:`GLOSSARY` option ``name`` (dest ``name``) to ``parser`` (or an argument
    group); ``kwargs`` are add_argument's (type, default, help to replace the glossary's).
    ``old`` spellings stay as hidden aliases that warn (:class:`_Deprecated`)."""
    term = GLOSSARY[name]
    kwargs.setdefault("metavar", term.metavar)
    kwargs.setdefault("help", term.help)
    action = parser.add_argument(*term.flags, dest=name, **kwargs)
    for spelling in old:
        parser.add_argument(spelling, dest=name, action=_Deprecated, new=term.flags[-1],
                            type=kwargs.get("type"), metavar=kwargs.get("metavar"),
                            default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return action


class UsageError(SigmoidQEError):
    """A command-line mistake found by the parser."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose mistakes are one line (``PROG: error: ... (see PROG --help)``)."""

    def error(self, message: str):
        raise UsageError(f"{message} (see {self.prog} --help)")


# -- option types ------------------------------------------------------------------------------
def _bounded(name: str, convert, expected: str, accept, bound: str):
    """An argparse type: ``convert`` the text, then refuse a value ``accept`` rejects."""
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value
    parse.__name__ = name
    return parse


positive_int = _bounded("positive_int", int, "a positive integer", lambda v: v >= 1, "at least 1")
non_negative_int = _bounded("non_negative_int", int, "an integer >= 0", lambda v: v >= 0, "at least 0")
positive_float = _bounded("positive_float", float, "a number", lambda v: math.isfinite(v) and v > 0,
                          "a finite number > 0")
non_negative_float = _bounded("non_negative_float", float, "a number",
                              lambda v: math.isfinite(v) and v >= 0, "a finite number >= 0")
finite_float = _bounded("finite_float", float, "a number", math.isfinite, "a finite number")


def int_up_to(maximum: int, minimum: int = 1):
    """An argparse type for a count with a sane upper bound (memory grows with it)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {text}")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum:,} (memory grows with "
                                             f"it), got {text}")
        return value
    parse.__name__ = f"int_{minimum}_to_{maximum}"
    return parse


#: Upper bounds of counts whose memory grows with them.
MAX_BATCH_SIZE = 16384
MAX_CHUNK_SIZE = 1_000_000
MAX_RESAMPLES = 100_000


def check_memory(needed: int, what: str) -> None:
    """Refuse, before the work starts, what would need more than the memory available."""
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        return
    if available is not None and needed > available:
        raise OptionError(f"{what} needs about {needed / 2**30:.1f} GiB of memory, more than the "
                          f"{available / 2**30:.1f} GiB available: ask for fewer")


def prompt_template(text: str) -> str:
    try:
        return check_prompt_template(text)
    except OptionError as exc:
        raise argparse.ArgumentTypeError(str(exc).replace("--prompt-template ", "")) from None


def device_name(text: str) -> str:
    """cpu, cuda, cuda:N or auto."""
    if text in DEVICES or (text.startswith("cuda:") and text[5:].isdigit()):
        return text
    raise argparse.ArgumentTypeError(f"expected one of {', '.join(DEVICES)} or cuda:N, got {text!r}")


# -- shared options ----------------------------------------------------------------------------
def add_model_arguments(parser: argparse.ArgumentParser, *, training: bool = False,
                        batch_default: int = 32, with_lp: bool = True) -> None:
    """--model/--head/--lp/--device/--precision/... as COMET users know them, for every
    command that loads a model (``with_lp=False`` where the command has its own --lp)."""
    group = parser.add_argument_group("model")
    group.add_argument("--model", required=training, default=None,
                       help="Hugging Face name or directory, bergamot-en-pt, bergamot-pt-en, or a "
                            "Marian binary-model directory"
                            + ("" if training else " (default: the Bergamot model of the pair)"))
    group.add_argument("--head", default=None, metavar="PATH",
                       help=("initial head: a head directory, a state-dict file, or 'untrained' "
                             "(default: a copy of the model's output embedding)") if training else
                       ("a head directory, a state-dict file (e.g. a head released with the paper) "
                        "or 'untrained' (default: the shipped head, else untrained)"))
    group.add_argument("--head-key", default=None, metavar="KEY",
                       help="tensor name in a --head state-dict file")
    group.add_argument("--allow-other-model", action="store_true",
                       help="use a head whose config names another base model")
    if with_lp:
        group.add_argument("--lp", default=None, metavar="xx-yy",
                           help="language pair, e.g. en-pt" + (
                               " (direction: source-target columns; default: the model's pair)"
                               if training else ""))
    group.add_argument("--device", type=device_name, default="auto", metavar="{cpu,cuda,auto}",
                       help="where the model runs: cpu, cuda (or cuda:N), or auto, a GPU where "
                            "there is one (default auto)")
    group.add_argument("--precision", choices=PRECISION_NAMES, default="fp32",
                       help="the frozen model's precision; half precision is used on CUDA only")
    group.add_argument("--prompt-style", choices=PROMPT_STYLES, default=None,
                       help="input format of causal LMs: default, or sigmoid-head-paper for the "
                            "heads released with the paper (default: the head's, else default)")
    group.add_argument("--prompt-template", default=None, type=prompt_template,
                       help="prompt for causal LMs (and seq2seq inputs), with {src_lang}, "
                            "{tgt_lang}, {source}")
    group.add_argument("--trust-remote-code", action="store_true",
                       help="allow code from the model repository to run (off by default)")
    group.add_argument("--batch-size", type=int_up_to(MAX_BATCH_SIZE), default=batch_default,
                       help=f"sentences per batch (default {batch_default})")
    if not training:
        group.add_argument("--reverse-model", default=None, metavar="MODEL",
                           help="the opposite direction's model, for --direction reverse/both "
                                "(default: the other offline student, or the same multilingual "
                                "model with the languages swapped)")
        group.add_argument("--reverse-head", default=None, metavar="PATH",
                           help="the opposite model's head (default: its shipped head)")
        group.add_argument("--softmax-over", choices=("shortlist", "full"), default="shortlist",
                           help="normalise softmax scores over the model's lexical shortlist "
                                "plus the translation's tokens, as it decodes (Bergamot; the "
                                "default), or over the full vocabulary")


def add_method_arguments(parser: argparse.ArgumentParser, eos_help: str,
                         defaults: Tuple[str, str] = ("the head's, else sigmoid",
                                                      "the head's, else mean")) -> None:
    parser.add_argument("--method", choices=METHODS, default=None,
                        help=f"token score (default: {defaults[0]})")
    parser.add_argument("--aggregate", choices=AGGREGATES, default=None,
                        help=f"token scores -> sentence score; prod = sum of logs (default: "
                             f"{defaults[1]})")
    parser.add_argument("--no-eos", action="store_true", help=eos_help)
    parser.add_argument("--direction", choices=DIRECTIONS, default=None,
                        help="forward: the translation given the source; reverse: the opposite "
                             "model scores the source given the translation (finds omissions); "
                             "both: the two added (default: the head's, else forward)")


def add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-s", "--sources", required=True, metavar="FILE",
                        help="source sentences, one a line ('-': standard input)")
    parser.add_argument("-t", "--translations", required=True, nargs="+", metavar="FILE",
                        help="translations of the sources, line by line; several files are "
                             "several systems")
    add_method_arguments(parser, "do not score the end-of-sentence token after the translation")


def add_quiet_argument(parser: argparse.ArgumentParser) -> None:
    """--quiet, and --version (every command has both)."""
    from ..version import __version__
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar and no notices on stderr (warnings stay)")
    parser.add_argument("--version", action="version", version=f"{parser.prog} {__version__}")


#: COMET's spellings of options whose meaning is the same here (hidden from --help).
COMET_SPELLINGS = {"--to_json": "--to-json", "--batch_size": "--batch-size"}


def comet_gpus(text: str) -> str:
    """comet-score's ``--gpus``: 0 is the CPU, 1 a GPU where there is one (as COMET's
    default); several GPUs are torchrun's job."""
    if text == "0":
        return "cpu"
    if text == "1":
        return "auto"
    raise argparse.ArgumentTypeError(f"0 (CPU) or 1 (a GPU where there is one), got {text!r}; "
                                     "for several GPUs run under torchrun (README: Large jobs)")


def add_comet_spellings(parser: argparse.ArgumentParser) -> None:
    """Hidden aliases, so that a comet-score command line carries over: ``--to_json``,
    ``--batch_size`` and ``--gpus 0|1`` (= ``--device cpu|auto``), where the command has the
    option they stand for."""
    known = parser._option_string_actions
    for alias, ours in COMET_SPELLINGS.items():
        if ours in known and alias not in known:
            action = known[ours]
            parser.add_argument(alias, dest=action.dest, type=action.type,
                                default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    if "--device" in known and "--gpus" not in known:
        parser.add_argument("--gpus", dest="device", type=comet_gpus,
                            default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def check_method_arguments(args: argparse.Namespace) -> None:
    """Refuse a method/aggregate pair that cannot work before anything is loaded."""
    if args.method is not None or args.aggregate is not None:
        check_method(args.method or "sigmoid", args.aggregate or "mean")


# -- inputs and models ---------------------------------------------------------------------------
def check_distinct_inputs(paths: Sequence[str], flag: str) -> None:
    """The same file twice (however named: ``t``, ``./t``, a link) is a mistake."""
    seen: List[str] = []
    for path in paths:
        for other in seen:
            same = path == other
            if not same and path != "-" and other != "-":
                try:
                    same = os.path.samefile(path, other)
                except OSError:
                    same = os.path.realpath(path) == os.path.realpath(other)
            if same:
                raise InputError(f"given twice with {flag}" + (f" (also as {other})"
                                                               if other != path else ""), path)
        seen.append(path)


def check_printable_names(paths: Sequence[str], flag: str) -> None:
    """A file name printed in the result lines (``PATH\tSegment i\t...``) must not hold a
    tab, a newline or another control character: the lines could not be parsed back."""
    for path in paths:
        bad = next((c for c in path if ord(c) < 32 or ord(c) == 127), None)
        if bad is not None:
            raise InputError(f"the {flag} file name holds a control character "
                             f"(U+{ord(bad):04X}), which the result lines, keyed by file name, "
                             "cannot hold: rename or link the file", repr(path))


def read_inputs(sources_path: str, translation_paths: Sequence[str], args=None):
    """All files read and checked before any model is loaded, so mistakes fail fast."""
    check_distinct_inputs(translation_paths, "-t")
    check_printable_names(translation_paths, "-t")
    spool_inputs([sources_path, *translation_paths], lambda message: notice(args, message))
    sources = read_lines(sources_path)
    systems: Dict[str, List[str]] = {}
    for path in translation_paths:
        lines = read_lines(path)
        if len(lines) != len(sources):
            raise InputError(f"has {len(lines)} lines but {sources_path} has {len(sources)}", path)
        systems[path] = lines
    return sources, systems


def load_from_args(args, sources: Sequence[str], first_translations: Sequence[str],
                   lp: Optional[str] = None):
    """The QEModel the options ask for (the Bergamot default when --model is absent)."""
    from ..default_model import resolve_model_name
    from ..distributed import join_process_group
    from ..model import load_model
    if getattr(args, "quiet", False):
        silence_libraries()
    library_bars_only_on_a_terminal()
    args.device = join_process_group(args.device)
    name, lp, guessed = resolve_model_name(args.model, sources, first_translations,
                                           lp if lp is not None else args.lp)
    if guessed:
        how = ("from --lp" if args.lp else "guessed from the source file"
               if first_translations is None else "guessed from the files")
        notice(args, f"using the default model {name} (language pair {lp}, {how})")
    model = load_model(name, head=args.head, lp=lp, device=args.device, precision=args.precision,
                      batch_size=args.batch_size, prompt_template=args.prompt_template,
                      include_eos=not getattr(args, "no_eos", False),
                      trust_remote_code=args.trust_remote_code, head_key=args.head_key,
                      allow_other_model=args.allow_other_model, prompt_style=args.prompt_style,
                      direction=getattr(args, "direction", None),
                      reverse_model=getattr(args, "reverse_model", None),
                      reverse_head=getattr(args, "reverse_head", None),
                      softmax_over=getattr(args, "softmax_over", "shortlist"))
    own_scoring_notice(args, model)
    return model


def own_scoring_notice(args, model) -> None:
    """A user's own head brings its own default scoring, on another scale than the shipped
    heads' (a trained head: the mean sigmoid, 0 to 1; shipped: a sum of logs): say so once,
    unless --method or --aggregate chose."""
    if args.head in (None, "untrained") or not hasattr(args, "method"):
        return
    if args.method is not None or args.aggregate is not None:
        return
    method, aggregate = model.scoring()
    notice(args, f"the head {args.head} brings its own default scoring: --method {method} "
                 f"--aggregate {aggregate} ({AGGREGATE_SCALES[aggregate]}); --method and "
                 "--aggregate choose another")


def silence_libraries() -> None:
    """--quiet also silences transformers' own loading bars and info logs."""
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def library_bars_only_on_a_terminal() -> None:
    """Progress bars are for a terminal: with stderr redirected, the libraries' own bars
    (transformers' "Loading weights", the hub's downloads) are off too."""
    try:
        if sys.stderr.isatty():
            return
    except (AttributeError, ValueError):
        pass
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging
        hf_logging.disable_progress_bar()


# -- messages ------------------------------------------------------------------------------------
_PROG = ["sigmoid-qe"]


def notice(args, message: str) -> None:
    """A notice on stderr (not with --quiet); under torchrun, from rank 0 only."""
    if getattr(args, "quiet", False) or os.environ.get("RANK", "0") not in ("0", ""):
        return
    print(f"{_PROG[0]}: {message}", file=sys.stderr)


def resumed_notice(done: int, total: int, where: str, line: Optional[int] = None) -> str:
    """What a resumed run says once: how many pairs an earlier run finished, and where this
    one goes on (``line``: pairs done in ``where``, when not all of ``done`` are there)."""
    if done >= total:
        return f"resumed: all {total:,} pairs were already scored; finishing the outputs"
    line = done if line is None else line
    return (f"resumed: {done:,} of {total:,} pairs were already scored; continuing at line "
            f"{line + 1:,} of {where}")


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


@contextlib.contextmanager
def warnings_to_stderr(files: Optional[Dict[str, Optional[str]]] = None) -> Iterator[Dict]:
    """Show each warning as one line; InputWarnings name the file ("source"/"translation" ->
    path in ``files``) and line. ``files`` may be updated while the block runs."""
    files = {"source": None, "translation": None} if files is None else files

    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        if isinstance(message, InputWarning) and files.get(message.side):
            text = f"{files[message.side]}:{message.index + 1}: {message.message}"
        print(f"{_PROG[0]}: warning: {_one_line(text)}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.showwarning = show
        yield files


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, batch schedulers, ``kill``): cleaned up like Ctrl-C, exit 143."""


EXIT_TERMINATED = 143
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _on_sigterm(signum, frame):
    raise Terminated()


def _quiet_stdout() -> None:
    """After stdout failed (closed pipe, full disk): point it at /dev/null so that the
    interpreter's last flush at exit does not print a second error."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _resume_hint(args) -> str:
    if args is not None and hasattr(args, "resume") and not args.resume:
        return (" (nothing was kept: a long job run with --resume keeps its finished chunks, "
                "and the same command with --resume continues it)")
    return ""


def run_cli(parser: argparse.ArgumentParser, body: Callable[..., int],
            argv: Optional[Sequence[str]] = None) -> int:
    """Parse ``argv`` and run ``body(args, files)``; every user error becomes one stderr
    line and exit code 2, Ctrl-C exit code 130 and SIGTERM 143 (temporary files removed), a
    closed pipe a quiet exit, a full disk one line."""
    import signal
    _PROG[0] = parser.prog
    finished = False
    args = None
    handlers = {}
    with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
        handlers[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
        handlers[signal.SIGTERM] = signal.signal(signal.SIGTERM, _on_sigterm)
    add_comet_spellings(parser)
    try:
        with warnings_to_stderr() as files:
            args = parser.parse_args(argv)
            code = body(args, files)
            finished = True
            with contextlib.suppress(BrokenPipeError):
                sys.stdout.flush()
            return code
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except SigmoidQEError as exc:
        if not (getattr(exc, "every_rank", False)
                and os.environ.get("RANK", "0") not in ("0", "")):
            print(f"{parser.prog}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except Terminated:
        print(f"{parser.prog}: terminated{_resume_hint(args)}", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted{_resume_hint(args)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `sigmoid-qe ... | head`: stop quietly
        _quiet_stdout()
        return 0
    except MemoryError:
        print(f"{parser.prog}: error: out of memory (a smaller --batch-size, --chunk-size or "
              "sample count needs less)", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:
        if exc.errno not in _DISK_FULL:
            raise
        _quiet_stdout()
        reason = str(exc.strerror or exc)
        what = f"{exc.filename}: cannot write" if exc.filename else "cannot write standard output"
        print(f"{parser.prog}: error: {what} ({reason[:1].lower() + reason[1:]})",
              file=sys.stderr)
        return EXIT_USER_ERROR
    finally:
        release_spooled()
        settle_folders(failed=not finished)  # a failed command leaves no folder it made
        for signum, handler in handlers.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)
        if "torch" in sys.modules:
            from ..distributed import shutdown_distributed
            shutdown_distributed(wait_for_peers=finished)
