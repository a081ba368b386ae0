"""Input readers: formats, fields, and errors that name file and line."""

import pytest

from sentvec.io import InputFileError, iter_records, read_records


def test_txt_jsonl_csv_tsv(tmp_path):
    (tmp_path / "a.txt").write_text("first line\n\n  second  \n")
    assert [(r.text, r.id) for r in read_records(tmp_path / "a.txt")] == [
        ("first line", "1"),
        ("  second  ", "3"),
    ]
    (tmp_path / "b.jsonl").write_text(
        '{"id": 7, "text": "hi", "lang": "en"}\n\n{"sentence": "yo"}\n'
    )
    recs = read_records(tmp_path / "b.jsonl")
    assert (recs[0].text, recs[0].id, recs[0].metadata) == ("hi", "7", {"lang": "en"})
    assert (recs[1].text, recs[1].id) == ("yo", "3")
    (tmp_path / "c.csv").write_text('id,body,tag\nx1,"hello, world",a\n')
    assert read_records(tmp_path / "c.csv")[0].text == "hello, world"
    (tmp_path / "d.tsv").write_text("k\tmy_text\nq\tTabbed text\n")
    rec = read_records(tmp_path / "d.tsv", text_field="my_text", id_field="k")[0]
    assert (rec.text, rec.id) == ("Tabbed text", "q")


def test_errors_name_file_line_and_problem(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"text": "ok"}\n{"text": broken}\n')
    with pytest.raises(InputFileError) as err:
        read_records(f)
    assert str(err.value).startswith(f"{f}:2:") and "JSON" in str(err.value)
    g = tmp_path / "nofield.jsonl"
    g.write_text('{"title": "x"}\n')
    with pytest.raises(InputFileError) as err2:
        read_records(g)
    assert "--text-field" in str(err2.value) and "title" in str(err2.value)
    h = tmp_path / "num.jsonl"
    h.write_text('{"text": 5}\n')
    with pytest.raises(InputFileError, match="not text"):
        read_records(h)


def test_streams_lazily(tmp_path):
    f = tmp_path / "big.txt"
    f.write_text("".join(f"line {i}\n" for i in range(1000)) + "\n")
    it = iter_records(f)
    assert next(it).text == "line 0"
