"""sigmoid-qe-filter: --keep-top is exact and matches the scores, ties keep the earlier lines,
swapped pairs are reported, and bad input is one line with exit 2 and no output."""
from __future__ import annotations

import pytest

from sigmoid_qe import load_model
from sigmoid_qe.cli import filter as filter_cli

from cli_helpers import run
from rerank_data import CANDIDATES, EN

# -- sigmoid-qe-filter ---------------------------------------------------------------------------
PT = [CANDIDATES[0][0], CANDIDATES[1][0], "Onde fica a estação de trem?", CANDIDATES[2][0]]


@pytest.fixture()
def corpus(tmp_path):
    en = EN + ["Our house is big.", "He is reading a book."]
    pt = PT + ["Nossa casa é grande.", "He is reading a book."]  # last one: untranslated
    (tmp_path / "c.en").write_text("\n".join(en) + "\n")
    (tmp_path / "c.pt").write_text("\n".join(pt) + "\n")
    return tmp_path / "c.en", tmp_path / "c.pt", en, pt


def test_filter_keep_top_is_exact_and_matches_scores(corpus, capsys, tmp_path):
    en_path, pt_path, en, pt = corpus
    dropped = tmp_path / "dropped.tsv"
    code, out, err = run(filter_cli, ["-s", en_path, "-t", pt_path, "--keep-top", "50%",
                                      "--dropped", dropped, "--quiet", "--keep-off-target"], capsys)
    assert code == 0, err
    # the filter's own default (a length-independent score in both directions), not the head's
    # scoring choice
    scores = load_model("bergamot-en-pt", device="cpu").score(en, pt, method="sigmoid",
                                                              aggregate="mean",
                                                              direction="both").scores
    order = sorted(range(len(en)), key=lambda i: (-scores[i], i))[:3]
    assert out.splitlines() == [f"{en[i]}\t{pt[i]}" for i in sorted(order)]
    rows = [line.split("\t") for line in dropped.read_text().splitlines()]
    assert [int(r[0]) for r in rows] == sorted(i + 1 for i in range(len(en)) if i not in order)
    assert all(float(r[1]) == pytest.approx(scores[int(r[0]) - 1], abs=1e-6) for r in rows)
    # --threshold keeps the pairs at or above it; TSV input gives the same
    cut = sorted(scores)[2]
    tsv = tmp_path / "c.tsv"
    tsv.write_text("".join(f"{a}\t{b}\n" for a, b in zip(en, pt)))
    code, out2, err = run(filter_cli, ["--tsv", tsv, "--threshold", cut, "--quiet",
                                       "--keep-off-target"], capsys)
    assert code == 0, err
    assert out2.splitlines() == [f"{a}\t{b}" for a, b, s in zip(en, pt, scores) if s >= cut]


def test_filter_ties_keep_the_earlier_lines(tmp_path, capsys):
    en = ["Hello."] * 5
    pt = ["Olá."] * 5
    (tmp_path / "a").write_text("\n".join(en) + "\n")
    (tmp_path / "b").write_text("\n".join(pt) + "\n")
    code, out, err = run(filter_cli, ["-s", tmp_path / "a", "-t", tmp_path / "b", "--keep-top",
                                      "40", "--dropped", tmp_path / "d", "--quiet", "--lp",
                                      "en-pt"], capsys)
    assert code == 0, err
    assert len(out.splitlines()) == 2
    assert [line.split("\t")[0] for line in (tmp_path / "d").read_text().splitlines()] == ["3", "4", "5"]


def test_filter_warns_about_swapped_pairs(tmp_path, capsys):
    en = ["The weather is very nice today and we are going to the beach.",
          "O tempo está muito bom hoje e nós vamos para a praia com os amigos."]
    pt = ["O tempo está muito bom hoje e nós vamos para a praia.",
          "The weather is very nice today and we are going to the beach with the friends."]
    (tmp_path / "a").write_text("\n".join(en) + "\n")
    (tmp_path / "b").write_text("\n".join(pt) + "\n")
    code, out, err = run(filter_cli, ["-s", tmp_path / "a", "-t", tmp_path / "b", "--threshold",
                                      0, "--quiet", "--lp", "en-pt"], capsys)
    assert code == 0
    assert "1 pair(s) look swapped" in err and "lines 2" in err


@pytest.mark.parametrize("setup, argv, message", [
    ("short", ["--threshold", 0.5], "has more lines than"),
    ("tab", ["--threshold", 0.5], "contains a tab"),
    ("ok", ["--keep-top", "0%"], "must be in (0, 100]"),
    ("ok", ["--keep-top", "150"], "must be in (0, 100]"),
    ("ok", [], "one of the arguments --threshold --keep-top --score-only is required"),
])
def test_filter_bad_input(tmp_path, capsys, setup, argv, message):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("Hello.\nBye.\n")
    b.write_text({"short": "Olá.\nTchau.\nMais.\n", "tab": "Olá.\nTch\tau.\n",
                  "ok": "Olá.\nTchau.\n"}[setup])
    out = tmp_path / "kept.tsv"
    code, stdout, err = run(filter_cli, ["-s", a, "-t", b, "-o", out, *argv], capsys)
    assert code == 2 and stdout == "" and not out.exists()
    assert message in err and len(err.strip().splitlines()) == 1


def test_a_resumed_filter_says_how_far_the_first_got(tiny_marian_dir, tmp_path, capsys,
                                                     monkeypatch):
    src, tgt = tmp_path / "s.en", tmp_path / "t.pt"
    src.write_text("".join(f"the cat {i}\n" for i in range(25)), encoding="utf-8")
    tgt.write_text("".join(f"o gato {i}\n" for i in range(25)), encoding="utf-8")
    argv = ["-s", src, "-t", tgt, "--model", tiny_marian_dir, "--device", "cpu",
            "--chunk-size", "10", "--threshold", "0", "-o", tmp_path / "kept.tsv", "--resume"]
    original = filter_cli.ResumableOutputs.checkpoint

    def stop_after_the_first_chunk(self, state):
        original(self, state)
        raise KeyboardInterrupt
    monkeypatch.setattr(filter_cli.ResumableOutputs, "checkpoint", stop_after_the_first_chunk)
    code, _, err = run(filter_cli, argv, capsys)
    assert code == 130, err
    monkeypatch.setattr(filter_cli.ResumableOutputs, "checkpoint", original)
    code, _, err = run(filter_cli, argv, capsys)
    assert code == 0, err
    said = [line for line in err.splitlines() if "resumed" in line]
    assert said == [f"sigmoid-qe-filter: resumed: 10 of 25 pairs were already scored; "
                    f"continuing at line 11 of {tgt}"], err
    assert len((tmp_path / "kept.tsv").read_text().splitlines()) == 25


def test_filter_help_gives_its_own_default_direction(capsys):
    """--help said "default: the head's, else forward" while the filter scores both ways."""
    from sigmoid_qe.cli import filter as filter_cli
    with pytest.raises(SystemExit):
        filter_cli.build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: both, or forward for a model without its opposite)" in text
    assert "the head's, else forward" not in text
