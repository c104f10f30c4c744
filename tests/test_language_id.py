"""Language identification (py3langid): file languages, the default pair, one segment's
off-target flag; and how the commands carry it: ``lang``/``off_target`` in --to-json records,
one warning counting the off-target translations, sigmoid-qe-filter dropping them by default."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sigmoid_qe.cli import filter as filter_cli
from sigmoid_qe.cli import score as score_cli
from sigmoid_qe.default_model import choose_default_model
from sigmoid_qe.languages import detect, direction_warning, guess_language, guess_pair, off_target

from cli_helpers import run

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "parallel" / "en-pt" / "dev.tsv"

EN = ["The weather is very nice today and we are going to the beach.",
      "My brother bought a new car last week.",
      "Where is the nearest train station, please?"]
PT = ["O tempo está muito bom hoje e nós vamos para a praia.",
      "Meu irmão comprou um carro novo na semana passada.",
      "Onde fica a estação de trem mais próxima, por favor?"]
DE = "Mein Bruder hat letzte Woche ein neues Auto gekauft."


def test_file_language_and_default_pair():
    assert guess_language(EN) == "en" and guess_language(PT) == "pt"
    assert guess_language([DE]) == "de"
    assert guess_language(["12345", "..."]) is None
    assert choose_default_model(EN, PT) == ("bergamot-en-pt", "en-pt")
    assert choose_default_model(PT, EN) == ("bergamot-pt-en", "pt-en")
    # too short for a file language: which of English and Portuguese each side is more like
    assert guess_pair(["Hello world."], ["Olá mundo."]) == "en-pt"
    assert choose_default_model(["Olá mundo."], ["Hello world."])[1] == "pt-en"


def test_direction_warning_names_the_swap_and_says_nothing_when_right():
    assert direction_warning("en-pt", EN, PT) is None
    message = direction_warning("en-pt", PT, EN)
    assert "swapped" in message and "pt-en" in message
    assert "German" in direction_warning("en-pt", EN, [DE])


def test_one_segment_off_target():
    assert off_target(EN[0], "pt") == "en"  # left untranslated
    assert off_target(DE, "pt") == "de"  # wrong language
    assert off_target(PT[0], "pt") is None
    assert off_target("OK!", "pt") is None and off_target("COVID-19, 2020", "pt") is None
    assert off_target("这是一个很好的句子。", "en") == "zh"  # few letters, but another script
    assert off_target(EN[0], None) is None  # no expected language: never flagged
    assert detect("2024", "pt") == (None, False)
    assert detect(PT[1], "pt") == ("pt", False)


@pytest.mark.skipif(not DEV.exists(), reason="shared data not present")
def test_dev_translations_are_not_flagged_and_their_sources_are():
    rows = [line.split("\t") for line in DEV.read_text(encoding="utf-8").splitlines()[1:301]]
    false_alarms = sum(off_target(pt, "pt") is not None for _, pt, _ in rows)
    copies = sum(off_target(en, "pt") == "en" for en, _, _ in rows)
    assert false_alarms <= 1  # benchmarks/RESULTS.md: 0.1% of the dev translations
    assert copies >= 0.9 * len(rows)


def corpus(tmp_path):
    """Five pairs: lines 2 (English copy) and 4 (German) are off-target."""
    src = EN + ["Our house is big and has a beautiful garden.", "I like to read books."]
    hyp = [PT[0], EN[1], PT[2], DE, "Eu gosto de ler livros."]
    (tmp_path / "s.en").write_text("\n".join(src) + "\n", encoding="utf-8")
    (tmp_path / "t.pt").write_text("\n".join(hyp) + "\n", encoding="utf-8")
    return tmp_path / "s.en", tmp_path / "t.pt", src, hyp


def test_score_records_lang_and_one_warning(tiny_marian_dir, tmp_path, capsys):
    src, hyp, _, _ = corpus(tmp_path)
    out_json = tmp_path / "o.json"
    code, out, err = run(score_cli, ["-s", src, "-t", hyp, "--model", tiny_marian_dir, "--lp",
                                     "en-pt", "--device", "cpu", "--quiet", "--to-json",
                                     out_json], capsys)
    assert code == 0, err
    records = json.loads(out_json.read_text(encoding="utf-8"))[str(hyp)]
    assert [r["lang"] for r in records] == ["pt", "en", "pt", "de", "pt"]
    assert [r["off_target"] for r in records] == [False, True, False, True, False]
    warned = [line for line in err.splitlines() if "not in Portuguese" in line]
    assert len(warned) == 1, err
    assert warned[0].startswith("sigmoid-qe: warning: 2 translation(s)")
    assert f"{hyp}:2 (English)" in warned[0] and f"{hyp}:4 (German)" in warned[0]
    # the scores stay the model's: same as without a language check (the stdout lines)
    assert len(out.splitlines()) == 6


def test_filter_drops_off_target_pairs_unless_kept(tmp_path, capsys):
    src, hyp, en, pt = corpus(tmp_path)
    common = ["-s", src, "-t", hyp, "--threshold", -1e9, "--lp", "en-pt", "--device", "cpu",
              "--quiet"]
    code, out, err = run(filter_cli, common + ["--dropped", tmp_path / "d.tsv"], capsys)
    assert code == 0, err
    assert out.splitlines() == [f"{en[i]}\t{pt[i]}" for i in (0, 2, 4)]
    dropped = [line.split("\t") for line in (tmp_path / "d.tsv").read_text().splitlines()]
    assert [r[0] for r in dropped] == ["2", "4"] and all(float(r[1]) > -1e9 for r in dropped)
    assert sum("not in Portuguese" in line for line in err.splitlines()) == 1
    code, out, err = run(filter_cli, common + ["--keep-off-target"], capsys)
    assert code == 0 and len(out.splitlines()) == 5
    # --keep-top never keeps an off-target pair, however well it scores
    code, out, err = run(filter_cli, ["-s", src, "-t", hyp, "--keep-top", "100%", "--lp",
                                      "en-pt", "--device", "cpu", "--quiet"], capsys)
    assert code == 0 and out.splitlines() == [f"{en[i]}\t{pt[i]}" for i in (0, 2, 4)]
