"""Choosing the offline default model: from --lp, or from the languages of the two files."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sigmoid_qe.default_model import choose_default_model
from sigmoid_qe.errors import SigmoidQEError
from sigmoid_qe.languages import guess_language

ROOT = Path(__file__).resolve().parent.parent
PAIRS = Path(__file__).parent / "data" / "bergamot_pairs.tsv"


def _lines(path: Path) -> list:
    return path.read_text(encoding="utf-8").splitlines()


def _pairs() -> tuple:
    with open(PAIRS, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["en"] for r in rows], [r["pt"] for r in rows]


SPANISH = ["El gato está sentado en la alfombra.", "No sé de qué estás hablando, Juan.",
           "La empresa informó ingresos de 3,4 mil millones de dólares en 2019.",
           "¿Dónde está la estación de tren?", "Los niños juegan en el parque todos los días."]
GERMAN = ["Die Katze sitzt auf der Matte.", "Ich weiß nicht, wovon du redest.",
          "Das Unternehmen meldete einen Umsatz von 3,4 Milliarden Dollar.",
          "Wo ist der Bahnhof?", "Die Kinder spielen jeden Tag im Park."]
FRENCH = ["Le chat est assis sur le tapis.", "Je ne sais pas de quoi tu parles.",
          "L'entreprise a annoncé des revenus de 3,4 milliards de dollars.",
          "Où est la gare ?", "Les enfants jouent dans le parc tous les jours."]


def test_example_files_are_pt_en():
    src, hyp = _lines(ROOT / "examples" / "src.pt"), _lines(ROOT / "examples" / "hyp.en")
    assert len(src) == len(hyp) >= 5
    assert choose_default_model(src, hyp) == ("bergamot-pt-en", "pt-en")
    assert choose_default_model(hyp, src) == ("bergamot-en-pt", "en-pt")


def test_inferred_from_texts():
    en, pt = _pairs()
    assert choose_default_model(en, pt) == ("bergamot-en-pt", "en-pt")
    assert choose_default_model(pt, en) == ("bergamot-pt-en", "pt-en")
    # Small chunks work too.
    for i in range(0, len(en) - 4, 5):
        assert guess_language(en[i:i + 5]) == "en"
        assert guess_language(pt[i:i + 5]) == "pt"


def test_explicit_lp():
    assert choose_default_model([], [], "en-pt") == ("bergamot-en-pt", "en-pt")
    assert choose_default_model(["x"], ["y"], "PT-EN") == ("bergamot-pt-en", "pt-en")
    assert choose_default_model([], [], "en-pt_BR") == ("bergamot-en-pt", "en-pt")
    with pytest.raises(SigmoidQEError, match="en-pt and pt-en"):
        choose_default_model([], [], "en-de")


@pytest.mark.parametrize("src,hyp,seen", [
    (SPANISH, None, "Spanish"),
    (GERMAN, None, "German"),
    (FRENCH, None, "French"),
    (None, None, "English"),  # English on both sides
    (["12345", "...", "---"], None, "no language recognised"),
])
def test_other_pairs_are_refused_with_a_clear_message(src, hyp, seen):
    en, _ = _pairs()
    src = en if src is None else src
    hyp = en[:len(src)] if hyp is None else hyp
    with pytest.raises(SigmoidQEError, match=f"(?s)look.*{seen}.*--lp"):
        choose_default_model(src, hyp)


def test_short_inputs_pick_the_default_pair():
    from sigmoid_qe.default_model import choose_default_model
    assert choose_default_model(["Olá mundo."], ["Hello world."]) == ("bergamot-pt-en", "pt-en")
    assert choose_default_model(["Hello world."], ["Olá mundo."]) == ("bergamot-en-pt", "en-pt")
