"""Language identification on the project's data: the hand-written stop-word guesser that
sigmoid-qe used before issue 20 against py3langid (what it uses now).

    python -m benchmarks.bench_language_id            # markdown tables for RESULTS.md

*pair inference*: which offline default (en-pt or pt-en) the texts ask for, when the user
gives no --lp: the dev pairs of ``parallel/en-pt/dev.tsv`` cut into blocks of k lines, each
block once as en->pt and once as pt->en (the same decision as ``choose_default_model``: each
side's language, then for short texts which of English and Portuguese each side is more like).
Counted: right, wrong, and no answer (the command then asks for --lp).

*off-target detection*: one segment at a time, is the translation in the language it should
be in? Texts in the expected language (dev pt for pt, dev en for en, WMT23 German references
for de, WMT23 he-en references for en) must not be flagged; texts in another language must be
(dev en as a pt translation: an untranslated copy; dev pt as an en translation; WMT23 German
references as en and as pt; Hebrew and Chinese WMT23 sources as en). Rates by length in
characters. The old guesser flags a segment when it names a language other than the expected.

The old guesser is read from git (the commit before issue 20), so this runs in a checkout.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from sigmoid_qe import languages as new

ROOT = Path(__file__).resolve().parents[1]

#: The last commit with the stop-word guesser.
OLD_COMMIT = "f902c36"
DATA = ROOT.parent / "shared" / "data"
BUCKETS = ((0, 30), (31, 100), (101, 10 ** 9))
CAP = 1500


def old_module() -> Optional[types.ModuleType]:
    try:
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{OLD_COMMIT}:sigmoid_qe/languages.py"],
                              capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("old_languages")
    exec(compile(text.replace("from .errors import", "from sigmoid_qe.errors import"),
                 "old_languages.py", "exec"), module.__dict__)
    return module


def read_lines(path: Path, cap: int = CAP) -> List[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip()][:cap]


def dev_pairs() -> Tuple[List[str], List[str]]:
    rows = [line.split("\t") for line in
            (DATA / "parallel/en-pt/dev.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    return [r[0] for r in rows], [r[1] for r in rows]


def infer(guess: Callable, short: Callable, sources, hypotheses) -> Optional[str]:
    """choose_default_model's decision, with the given guessers."""
    src, hyp = guess(sources), guess(hypotheses)
    if f"{src}-{hyp}" in ("en-pt", "pt-en"):
        return f"{src}-{hyp}"
    if src in (None, "en", "pt") and hyp in (None, "en", "pt") and (src is None or hyp is None):
        pair = short(sources, hypotheses)
        if pair is not None and (src is None or pair.startswith(src)) \
                and (hyp is None or pair.endswith(hyp)):
            return pair
    return None


def pair_table(en: List[str], pt: List[str], old, lingua=None) -> List[str]:
    systems = {"py3langid": (new.guess_language, new.guess_pair)}
    if old is not None:
        systems["stop words (before)"] = (old.guess_language, old.guess_pair_from_marks)
    if lingua is not None:
        systems["lingua"] = lingua[:2]
    out = ["| lines per file | method | right | wrong | no answer | blocks |",
           "|---:|---|---:|---:|---:|---:|"]
    for k in (1, 2, 5, 20):
        for name, (guess, short) in systems.items():
            right = wrong = none = 0
            for i in range(0, len(en) - k + 1, k):
                for src, hyp, want in ((en[i:i + k], pt[i:i + k], "en-pt"),
                                       (pt[i:i + k], en[i:i + k], "pt-en")):
                    got = infer(guess, short, src, hyp)
                    right += got == want
                    wrong += got is not None and got != want
                    none += got is None
            total = right + wrong + none
            out.append(f"| {k} | {name} | {right / total:.1%} | {wrong / total:.1%} | "
                       f"{none / total:.1%} | {total} |")
    return out


def bucket(text: str) -> int:
    return next(i for i, (lo, hi) in enumerate(BUCKETS) if lo <= len(text) <= hi)


def flag_table(sets: Dict[str, Tuple[List[str], str, bool]], flaggers: Dict[str, Callable]):
    head = " | ".join(f"{lo}-{hi if hi < 10 ** 9 else ''} chars" for lo, hi in BUCKETS)
    out = [f"| texts (expected language) | should flag | method | {head} | all |",
           "|---|:-:|---|" + "---:|" * (len(BUCKETS) + 1)]
    for name, (texts, expected, should) in sets.items():
        for method, flags in flaggers.items():
            hits, counts = [0] * len(BUCKETS), [0] * len(BUCKETS)
            for text in texts:
                b = bucket(text)
                counts[b] += 1
                hits[b] += flags(text, expected) is not None
            cells = [f"{h / c:.1%} ({c})" if c else "-" for h, c in zip(hits, counts)]
            out.append(f"| {name} ({expected}) | {'yes' if should else 'no'} | {method} | "
                       f"{' | '.join(cells)} | {sum(hits) / max(1, sum(counts)):.1%} |")
    return out


def score_table(en: List[str], pt: List[str], wmt: Path, n: int) -> List[str]:
    """Sentence scores of dev translations, of their sources copied untranslated, and of
    German translations of English sources (WMT23 en-de refA), with the head's default scoring
    and the filter's (mean sigmoid): mean, and the share above the median dev translation."""
    import statistics

    from sigmoid_qe import load_model
    model = load_model("bergamot-en-pt", device="cpu")
    de_src = read_lines(wmt / "sources/en-de.txt", 10 ** 9)
    de_ref = read_lines(wmt / "references/en-de.refA.txt", 10 ** 9)
    pairs = [(s, r) for s, r in zip(de_src, de_ref) if s.count(" ") < 40][:n]
    sets = {"dev translations (pt)": (en[:n], pt[:n]), "untranslated copies (en)": (en[:n], en[:n]),
            "German translations (de)": ([s for s, _ in pairs], [r for _, r in pairs])}
    out = ["| scoring | translations | mean score | share above the median pt translation |",
           "|---|---|---:|---:|"]
    for label, (method, aggregate) in (("head default", (None, None)),
                                       ("filter (sigmoid, mean)", ("sigmoid", "mean"))):
        scored = {name: model.score(src, hyp, method=method, aggregate=aggregate, progress=False,
                                    check_direction=False).scores
                  for name, (src, hyp) in sets.items()}
        median = statistics.median(scored["dev translations (pt)"])
        for name, values in scored.items():
            above = sum(v > median for v in values) / len(values)
            out.append(f"| {label} | {name} | {statistics.fmean(values):.3f} | {above:.1%} |")
    return out


def lingua_systems():
    """lingua-language-detector (75 languages, high-accuracy models; installed with OpusFilter),
    under the same rules as py3langid: (file guesser, short-pair guesser, segment flagger)."""
    from lingua import Language, LanguageDetectorBuilder
    full = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build()
    pair = LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.PORTUGUESE).build()

    def probabilities(detector, text):
        return {v.language.iso_code_639_1.name.lower(): v.value
                for v in detector.compute_language_confidence_values(text)}

    def best(detector, lines):
        text = "\n".join(list(lines)[:new.MAX_LINES])
        probs = probabilities(detector, text)
        if not probs:
            return None
        lang = max(probs, key=probs.get)
        return lang if probs[lang] >= new.MIN_FILE_PROBABILITY else None

    def short(sources, hypotheses):
        src, hyp = best(pair, sources), best(pair, hypotheses)
        return f"{src}-{hyp}" if src and hyp and src != hyp else None

    def flags(text, expected):
        letters = len(new._LETTER.findall(text))
        latin = len(new._LATIN_LETTER.findall(text))
        needed = new.OFF_TARGET_MIN_LETTERS if latin * 2 >= letters else new.OFF_TARGET_MIN_OTHER_SCRIPT
        if letters < needed:
            return None
        probs = probabilities(full, text)
        if not probs:
            return None
        lang = max(probs, key=probs.get)
        if (lang != expected and probs[lang] >= new.OFF_TARGET_MIN_PROBABILITY
                and probs.get(expected, 0.0) <= new.OFF_TARGET_MAX_EXPECTED):
            return lang
        return None

    return (lambda lines: best(full, lines)), short, flags


def old_flagger(old):
    def flags(text: str, expected: str):
        seen = old.guess_language([text])
        return seen if seen is not None and seen != expected else None
    return flags


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=int, default=0, metavar="N",
                        help="also how the offline en-pt model scores N dev translations, their "
                             "untranslated sources, and German translations (WMT23 en-de)")
    parser.add_argument("--lingua", action="store_true",
                        help="also lingua-language-detector (if installed), under the same rules")
    parser.add_argument("--sweep", action="store_true",
                        help="also the off-target rule's thresholds (probability of the winner, "
                             "of the expected language)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    old = old_module()
    en, pt = dev_pairs()
    wmt = DATA / "mt-metrics-eval-v2/wmt23"
    german = read_lines(wmt / "references/en-de.refA.txt")
    sets = {  # name: (texts, expected language, should be flagged)
        "dev pt": (pt, "pt", False), "dev en": (en, "en", False),
        "WMT23 en-de German refs": (german, "de", False),
        "WMT23 he-en English refs": (read_lines(wmt / "references/he-en.refA.txt"), "en", False),
        "dev en as pt (untranslated)": (en, "pt", True),
        "dev pt as en (untranslated)": (pt, "en", True),
        "WMT23 German refs as en": (german, "en", True),
        "WMT23 German refs as pt": (german, "pt", True),
        "WMT23 Hebrew sources as en": (read_lines(wmt / "sources/he-en.txt"), "en", True),
        "WMT23 Chinese sources as en": (read_lines(wmt / "sources/zh-en.txt"), "en", True),
    }
    flaggers = {"py3langid": new.off_target}
    if old is not None:
        flaggers["stop words (before)"] = old_flagger(old)
    lingua = lingua_systems() if args.lingua else None
    if lingua is not None:
        flaggers["lingua"] = lingua[2]
    print("#### Default pair inference (no --lp), dev en-pt\n")
    print("\n".join(pair_table(en, pt, old, lingua)))
    print("\n#### Off-target translations, one segment at a time (share flagged)\n")
    print("\n".join(flag_table(sets, flaggers)))
    if args.sweep:
        print("\n#### py3langid rule: flagged share by threshold (winner >= a, expected <= b)\n")
        rows = ["| a | b | false alarms (expected language) | detected (other language) |",
                "|---:|---:|---:|---:|"]
        for a in (0.3, 0.5, 0.8):
            for b in (0.01, 0.05, 0.2, 1.0):
                new.OFF_TARGET_MIN_PROBABILITY, new.OFF_TARGET_MAX_EXPECTED = a, b
                alarms = [new.off_target(t, e) is not None for texts, e, s in sets.values()
                          if not s for t in texts]
                found = [new.off_target(t, e) is not None for texts, e, s in sets.values()
                         if s for t in texts]
                rows.append(f"| {a} | {b} | {sum(alarms) / len(alarms):.2%} | "
                            f"{sum(found) / len(found):.2%} |")
        print("\n".join(rows))
    if args.scores:
        print("\n#### How off-target output scores (bergamot-en-pt, shipped head)\n")
        print("\n".join(score_table(en, pt, wmt, args.scores)))
    print(f"\n_{time.perf_counter() - start:.0f}s on this machine._")
    return 0


if __name__ == "__main__":
    sys.exit(main())
