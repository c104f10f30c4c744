"""sigmoid-qe-rerank and sigmoid-qe-filter: selection rules against independent computations,
file layouts, bad input (one line, exit 2, no output), on the offline default and a tiny HF
model."""
from __future__ import annotations

import json

import pytest
from sacrebleu.metrics import BLEU, CHRF

from sigmoid_qe import load_model
from sigmoid_qe.cli import filter as filter_cli
from sigmoid_qe.cli import rerank as rerank_cli
from sigmoid_qe.rerank import choose, expected_utilities, first_best, top_k, utility_function

EN = ["The cat sat on the mat.", "I like green apples.", "The weather is nice today.",
      "Where is the train station?"]
CANDIDATES = [
    ["O gato sentou no tapete.", "O gato sentou-se no tapete.", "Gato tapete.", "The cat sat."],
    ["Eu gosto de maçãs verdes.", "Gosto de maçãs verdes.", "Eu gosto maçãs.", "Eu gosto de maçãs verdes."],
    ["O tempo está bom hoje.", "Hoje o tempo está bom.", "Tempo bom.", "O clima está agradável hoje."],
    ["Onde fica a estação de trem?", "Onde é a estação ferroviária?", "Estação?", "Onde?"],
]


def run(module, argv, capsys):
    code = module.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture()
def files(tmp_path):
    src = tmp_path / "src.en"
    src.write_text("\n".join(EN) + "\n")
    cands = tmp_path / "cands.pt"
    cands.write_text("\n".join(c for group in CANDIDATES for c in group) + "\n")
    return src, cands


# -- selection rules -----------------------------------------------------------------------------
def test_mbr_equals_independent_computation():
    chrf, bleu = CHRF(), BLEU(effective_order=True)
    for group in CANDIDATES:
        for name, metric in (("chrf", chrf), ("bleu", bleu)):
            expected = []
            for i, hyp in enumerate(group):
                refs = [group[j] for j in range(len(group)) if j != i]
                expected.append(sum(metric.sentence_score(hyp, [r]).score for r in refs) / len(refs))
            got = expected_utilities(group, utility_function(name))
            assert got == pytest.approx(expected)
            best = max(range(len(group)), key=lambda i: (expected[i], -i))
            assert choose(group, utility=utility_function(name)).index == best


def test_duplicates_count_and_ties_go_to_the_earlier_candidate():
    group = ["a b c", "x y z", "a b c"]
    utilities = expected_utilities(group, utility_function("chrf"))
    assert utilities[0] == utilities[2] > utilities[1]  # the duplicate is a pseudo-reference
    assert choose(group, utility=utility_function("chrf")).index == 0
    assert first_best([0.5, 0.7, 0.7]) == 1
    assert first_best([float("nan"), 0.1]) == 1
    assert top_k([0.1, 0.9, 0.5, 0.9], 2) == [1, 3]
    assert top_k([0.5, 0.5, 0.5], 2) == [0, 1]


def test_qe_pruned_mbr_looks_only_at_the_top_k():
    group = CANDIDATES[0]
    qe = [0.2, 0.9, 0.1, 0.8]
    choice = choose(group, qe, utility_function("chrf"), qe_top_k=2)
    assert set(choice.mbr) == {1, 3}
    pool = [group[1], group[3]]
    expected = expected_utilities(pool, utility_function("chrf"))
    assert choice.index == [1, 3][first_best(expected)]
    assert choose(group, qe).index == 1  # plain QE reranking


# -- sigmoid-qe-rerank ---------------------------------------------------------------------------
def test_rerank_from_file_by_qe_matches_scores(files, capsys, tmp_path):
    src, cands = files
    js = tmp_path / "out.json"
    code, out, err = run(rerank_cli, ["-s", src, "-t", cands, "--num-candidates", 4, "--quiet",
                                      "--to-json", js, "--method", "softmax"], capsys)
    assert code == 0, err
    model = load_model("bergamot-en-pt", device="cpu")
    chosen = []
    for source, group in zip(EN, CANDIDATES):
        scores = model.score([source] * 4, group, method="softmax").scores
        chosen.append(group[first_best(scores)])
    assert out.splitlines() == chosen
    data = json.loads(js.read_text())
    assert data["selection"] == "qe" and "method:softmax" in data["signature"]
    assert [s["translation"] for s in data["segments"]] == chosen
    first = data["segments"][0]
    assert len(first["candidates"]) == 4
    assert first["candidates"][first["chosen"]]["text"] == chosen[0]


def test_rerank_mbr_needs_no_model_and_prunes(files, capsys, tmp_path):
    src, cands = files
    code, out, err = run(rerank_cli, ["-s", src, "-t", cands, "--num-candidates", 4, "--mbr",
                                      "chrf", "--quiet"], capsys)
    assert code == 0, err
    assert out.splitlines() == [g[choose(g, utility=utility_function("chrf")).index]
                                for g in CANDIDATES]
    code, out, err = run(rerank_cli, ["-s", src, "-t", cands, "--num-candidates", 4, "--mbr",
                                      "bleu", "--qe-top-k", 2, "--quiet", "-o", tmp_path / "o.txt"],
                         capsys)
    assert code == 0, err and out == ""
    assert len((tmp_path / "o.txt").read_text().splitlines()) == 4


def test_rerank_generated_candidates(files, capsys, tmp_path):
    src, _ = files
    js = tmp_path / "gen.json"
    code, out, err = run(rerank_cli, ["-s", src, "--generate", 3, "--quiet", "--to-json", js],
                         capsys)
    assert code == 0, err
    data = json.loads(js.read_text())
    assert data["decoding"]["strategy"] == "beam" and data["decoding"]["n"] == 3
    assert all(len(s["candidates"]) == 3 for s in data["segments"])
    assert out.splitlines() == [s["translation"] for s in data["segments"]]
    for s in data["segments"]:
        best = first_best([c["qe"] for c in s["candidates"]])
        assert s["chosen"] == best and all("logprob" in c for c in s["candidates"])
    # sampling with a seed: the same candidates twice, other chunking included
    argv = ["-s", src, "--generate", 3, "--decoding", "sample", "--seed", 4, "--quiet",
            "--to-json"]
    run(rerank_cli, argv + [tmp_path / "a.json"], capsys)
    run(rerank_cli, argv + [tmp_path / "b.json", "--chunk-size", 1], capsys)
    texts = lambda p: [[c["text"] for c in s["candidates"]]  # noqa: E731
                       for s in json.loads(p.read_text())["segments"]]
    assert texts(tmp_path / "a.json") == texts(tmp_path / "b.json")


def test_rerank_from_python():
    """rerank(): QE reranking equals the best QE score per source, MBR needs no model, and a
    share of the sources at their positions (a rank of a sharded run, generated in one batch)
    gets the candidates the whole run gets."""
    from sigmoid_qe.decoding import Decoding
    from sigmoid_qe.rerank import rerank
    model = load_model("bergamot-en-pt", device="cpu")
    records = rerank(model, EN, CANDIDATES, method="softmax")
    for record, source, group in zip(records, EN, CANDIDATES):
        scores = model.score([source] * 4, group, method="softmax").scores
        assert record["translation"] == group[first_best(scores)] == group[record["chosen"]]
        assert [c["qe"] for c in record["candidates"]] == pytest.approx(scores, rel=1e-5)
    mbr = rerank(None, EN, CANDIDATES, mbr="chrf")
    assert [r["translation"] for r in mbr] == [g[choose(g, utility=utility_function("chrf")).index]
                                               for g in CANDIDATES]
    sample = Decoding("sample", 3, seed=4)
    whole = rerank(model, EN, decoding=sample)
    share = rerank(model, EN[1::2], decoding=sample, indices=[1, 3])
    texts = lambda records: [[c["text"] for c in r["candidates"]] for r in records]  # noqa: E731
    assert texts(share) == texts(whole[1::2])
    assert [r["translation"] for r in share] == [r["translation"] for r in whole[1::2]]
    with pytest.raises(ValueError, match="candidates, or a decoding"):
        rerank(model, EN)


def test_rerank_on_a_hugging_face_model(files, capsys, tiny_marian_dir, tmp_path):
    src = tmp_path / "src.txt"
    src.write_text("the cat sat on the mat\na dog eats fish\n")
    code, out, err = run(rerank_cli, ["-s", src, "--generate", 2, "--model", tiny_marian_dir,
                                      "--quiet", "--to-json", tmp_path / "j.json"], capsys)
    assert code == 0, err
    data = json.loads((tmp_path / "j.json").read_text())
    assert [len(s["candidates"]) for s in data["segments"]] == [2, 2]


@pytest.mark.parametrize("content, extra, message", [
    ("a\nb\nc\n", ["--num-candidates", 4], "not a multiple of --num-candidates 4"),
    ("a\nb\nc\nd\n", ["--num-candidates", 2], "but"),
    ("a\n\nc\nd\ne\nf\ng\nh\n", ["--num-candidates", 2], "empty candidate"),
    ("a\nb\n", ["--num-candidates", 0], "must be at least 1"),
    ("", ["--num-candidates", 2], "file is empty"),
])
def test_rerank_bad_candidates(tmp_path, capsys, content, extra, message):
    src = tmp_path / "src.en"
    src.write_text("\n".join(EN) + "\n")
    cands = tmp_path / "c.txt"
    cands.write_text(content)
    out = tmp_path / "out.txt"
    code, stdout, err = run(rerank_cli, ["-s", src, "-t", cands, *extra, "-o", out], capsys)
    assert code == 2 and stdout == "" and not out.exists()
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, message", [
    (["--generate", 2, "--temperature", 2], "does not apply to --decoding beam"),
    (["--generate", 2, "--decoding", "sample", "--beam-size", 4], "does not apply"),
    (["--generate", 2, "--qe-top-k", 1], "give --mbr too"),
    (["--generate", 2, "--mbr", "chrf", "--qe-top-k", 3], "more than the 2"),
    (["--generate", 2, "--beam-size", 1], "smaller than the 2"),
    ([], "--generate N"),
])
def test_rerank_bad_options(tmp_path, capsys, argv, message):
    src = tmp_path / "src.en"
    src.write_text("\n".join(EN) + "\n")
    code, stdout, err = run(rerank_cli, ["-s", src, *argv], capsys)
    assert code == 2 and stdout == "" and message in err


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
    # the filter's own default (a length-independent score), not the head's scoring choice
    scores = load_model("bergamot-en-pt", device="cpu").score(en, pt, method="sigmoid",
                                                              aggregate="mean").scores
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


def test_iter_score_streams_in_input_order(marian_qe):
    sources = ["the cat", "a dog eats fish", "the big house", "o gato"] * 3
    hyps = ["o gato", "um cao come peixe", "a casa grande", "the cat"] * 3
    whole = marian_qe.score(sources, hyps).scores
    streamed = [s.score for s in marian_qe.iter_score(zip(sources, hyps), chunk_size=5)]
    assert streamed == pytest.approx(whole, abs=1e-6)
