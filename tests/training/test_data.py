"""Training data: the two formats, direction, and clear errors before any model is loaded."""
import argparse

import pytest

from sigmoid_qe.cli import train as train_cli
from sigmoid_qe.errors import InputError
from sigmoid_qe.training import load_parallel, read_parallel


def test_tsv_columns_and_direction(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text('en\tpt\torigin\n"quoted\t"citado\tx\nthe cat\to gato\ty\n', encoding="utf-8")
    en_pt = load_parallel(path, "en-pt")
    assert en_pt.sources == ['"quoted', "the cat"] and en_pt.targets == ['"citado', "o gato"]
    pt_en = load_parallel(path, "pt-en")
    assert pt_en.sources == en_pt.targets and pt_en.targets == en_pt.sources
    assert len(en_pt.file_records()[0]["sha256"]) == 64


def test_two_files_with_language_suffixes(tmp_path):
    (tmp_path / "c.en").write_text("a\nb\n", encoding="utf-8")
    (tmp_path / "c.pt").write_text("um\ndois\n", encoding="utf-8")
    data = load_parallel([tmp_path / "c.en", tmp_path / "c.pt"], "pt-en")
    assert data.sources == ["um", "dois"] and data.targets == ["a", "b"]
    plain = load_parallel([tmp_path / "c.en", tmp_path / "c.pt"], None)
    assert plain.sources == ["a", "b"]


def test_missing_column_names_file_and_line(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text("en\tes\nx\ty\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_parallel(path, "en-pt")
    assert str(err.value).startswith(f"{path}:1: ") and "'pt'" in str(err.value)
    assert "en, es" in str(err.value)


def test_empty_file(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        read_parallel(path)
    header_only = tmp_path / "h.tsv"
    header_only.write_text("en\tpt\n", encoding="utf-8")
    with pytest.raises(InputError, match="no data rows"):
        read_parallel(header_only)


def test_mismatched_line_counts(tmp_path):
    (tmp_path / "a.en").write_text("a\nb\nc\n", encoding="utf-8")
    (tmp_path / "a.pt").write_text("um\ndois\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_parallel([tmp_path / "a.en", tmp_path / "a.pt"])
    assert "a.pt" in str(err.value) and "2 lines" in str(err.value) and "3" in str(err.value)


def test_wrong_field_count_names_the_line(tmp_path):
    path = tmp_path / "d.tsv"
    path.write_text("en\tpt\na\tb\nonly one field\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_parallel(path)
    assert str(err.value).startswith(f"{path}:3: ")


@pytest.mark.parametrize("content,expected", [
    ("", "file is empty"),
    ("en\tfr\nx\ty\n", "no column named 'pt'"),
])
def test_cli_bad_data_is_one_line_exit_2(tmp_path, capsys, content, expected):
    """Bad data fails before the model is loaded (the model path does not even exist)."""
    path = tmp_path / "train.tsv"
    path.write_text(content, encoding="utf-8")
    code = train_cli.main(["--model", str(tmp_path / "no-model"), "--train", str(path),
                           "--lp", "en-pt", "--output-dir", str(tmp_path / "out"), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sigmoid-qe") and expected in lines[0]
    assert str(path) in lines[0]


def test_cli_mismatched_files_exit_2(tmp_path, capsys):
    (tmp_path / "a.en").write_text("a\nb\n", encoding="utf-8")
    (tmp_path / "a.pt").write_text("um\n", encoding="utf-8")
    code = train_cli.main(["--model", "x", "--train", str(tmp_path / "a.en"), str(tmp_path / "a.pt"),
                           "--output-dir", str(tmp_path / "out"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "line-aligned" in err[0]


def test_negatives_option():
    assert train_cli.parse_negatives("10") == (5, 5)
    assert train_cli.parse_negatives("3,7") == (3, 7)
    assert train_cli.parse_negatives("1") == (0, 1)
    with pytest.raises(argparse.ArgumentTypeError):
        train_cli.parse_negatives("0")


def test_blank_tsv_lines_warn_in_training(tmp_path):
    from sigmoid_qe.training import read_parallel
    path = tmp_path / "d.tsv"
    path.write_text("en\tpt\na\tb\n\nc\td\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"1 blank line\(s\) skipped \(the first at line 3\)"):
        table = read_parallel(path)
    assert table.line_numbers == [2, 4]
