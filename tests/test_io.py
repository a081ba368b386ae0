"""Input readers: formats, fields, encodings, delimiters, headerless files, and errors that
name file and line. One reader serves the CLI, training and evaluation, so each case is also
read through the training and evaluation entry points."""

import codecs
import os
import threading

import pytest

from sentvec.errors import SentvecError
from sentvec.evaluate.sts import read_sts
from sentvec.io import (
    EmptyInputError,
    InputFileError,
    iter_records,
    read_columns,
    read_records,
)
from sentvec.train.data import read_examples


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
    """The first record arrives while the rest of the file does not exist yet: a reader that
    loads the whole file first blocks on the pipe and never yields."""
    fifo = tmp_path / "big.txt"
    os.mkfifo(fifo)
    first_read = threading.Event()

    def writer() -> None:
        with open(fifo, "w", encoding="utf8") as f:
            f.write("line 0\nline 1\n")
            f.flush()
            first_read.wait(30)  # the rest is written only after the first record came out
            f.write("".join(f"line {i}\n" for i in range(2, 1000)))

    threading.Thread(target=writer, daemon=True).start()
    got = []
    records = iter_records(fifo)
    reader = threading.Thread(target=lambda: got.append(next(records)), daemon=True)
    reader.start()
    reader.join(15)
    first_read.set()
    assert got and got[0].text == "line 0", "the reader did not yield before the file ended"
    reader.join(5)
    assert [r.text for r in records][-1] == "line 999"  # and the rest streams through


ROWS = [("x1", "hello, world"), ("x2", "café 東京")]


def _csv(delimiter: str = ",", header: bool = True) -> str:
    head = f"id{delimiter}text\n" if header else ""
    return head + "".join(f'{i}{delimiter}"{t}"\n' for i, t in ROWS)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bom.csv", codecs.BOM_UTF8 + _csv().encode("utf8")),
        ("utf16le.csv", _csv().encode("utf-16")),  # with its byte-order mark
        ("utf16be.csv", codecs.BOM_UTF16_BE + _csv().encode("utf-16-be")),
        ("utf32.csv", _csv().encode("utf-32")),
        ("tabs.csv", _csv("\t").replace('"', "").encode("utf8")),  # a .csv that is a TSV
        ("semicolons.csv", _csv(";").encode("utf8")),
        ("crlf.csv", _csv().replace("\n", "\r\n").encode("utf8")),
    ],
)
def test_encodings_and_delimiters_keep_ids_and_texts(tmp_path, name, data):
    f = tmp_path / name
    f.write_bytes(data)
    assert [(r.id, r.text) for r in read_records(f)] == ROWS
    assert read_columns(f, ["id", "text"]) == [list(r) for r in ROWS]


def test_headerless_files_pick_columns_by_index(tmp_path):
    f = tmp_path / "nohead.csv"
    f.write_text(_csv(header=False), encoding="utf8")
    recs = read_records(f, text_field="1", id_field=0, header=False)
    assert [(r.id, r.text) for r in recs] == ROWS
    assert read_columns(f, [1, 0], header=False) == [[t, i] for i, t in ROWS]
    with pytest.raises(InputFileError, match=r"--text-field N"):
        read_records(f, header=False)  # two columns and no header: which one is the text?
    with pytest.raises(InputFileError, match="no column 5"):
        read_records(f, text_field=5, header=False)
    one = tmp_path / "one.csv"
    one.write_text("just text\nmore text\n", encoding="utf8")
    assert [r.text for r in read_records(one, header=False)] == ["just text", "more text"]


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("latin1.csv", "id,text\n1,ok\n2,café\n".encode("latin-1"), r":3: not UTF-8.*offset 18"),
        ("latin1.txt", "caf\xe9\n".encode("latin-1"), r":1: not UTF-8.*re-save"),
        ("binary.jsonl", b'{"text": "a"}\n\x00\x01\x02\xff', r":2: NUL byte.*binary"),
        ("noBOM16.txt", "hi\n".encode("utf-16-le"), r":1: NUL byte.*UTF-16"),
        ("broken.jsonl", b'{"text": "a"}\n{"text": \n', r":2: not valid JSON"),
        ("surrogate.jsonl", b'{"text": "a \\ud800 b"}\n', r":1: .*lone surrogate"),
        ("wide.csv", b"id,text\n1,a,b,c\n", r":2: row has 4 columns but the header has 2"),
        ("quote.csv", b'id,text\n1,"a"b\n', r":2: broken CSV"),
        ("deep.jsonl", b"[" * 100_000 + b"\n", r":1: .*JSON"),
    ],
)
def test_undecodable_and_broken_files_are_refused_with_file_and_line(tmp_path, name, data, match):
    f = tmp_path / name
    f.write_bytes(data)
    kind = "sentences" if name.endswith(".txt") else "pairs"
    for read in (
        lambda: read_records(f),
        lambda: read_columns(f, ["text"]),
        lambda: read_examples(f, kind, skip_invalid=True),  # bad bytes are never skipped
    ):
        with pytest.raises(InputFileError, match=f"{f.name}{match}"):
            read()


def test_json_that_is_not_an_object(tmp_path):
    f = tmp_path / "array.jsonl"
    f.write_bytes(b"[1, 2]\n")
    with pytest.raises(InputFileError, match=r"array.jsonl:1: expected a JSON object"):
        read_records(f)


def test_a_folder_or_missing_file_is_a_clear_error(tmp_path):
    for read in (read_records, lambda p: read_columns(p, ["a"]), read_sts):
        with pytest.raises(Exception, match="is a folder") as err:
            read(tmp_path)
        assert isinstance(err.value, SentvecError)
        with pytest.raises(Exception, match="does not exist"):
            read(tmp_path / "missing.csv")


def test_empty_files(tmp_path):
    for name in ("e.txt", "e.jsonl", "e.csv", "e.tsv"):
        (tmp_path / name).write_bytes(b"")
        assert read_records(tmp_path / name) == []
    (tmp_path / "head.csv").write_text("id,text\n")
    assert read_records(tmp_path / "head.csv") == []
    with pytest.raises(EmptyInputError, match="at least 2"):
        read_sts(tmp_path / "e.tsv")


def test_sts_reader_uses_the_shared_reader(tmp_path):
    rows = "g\tf\ty\t1\t4.0\ta man eats\ta man is eating\ng\tf\ty\t2\t1.0\ta cat\tstocks\n"
    f = tmp_path / "sts.tsv"
    f.write_bytes(codecs.BOM_UTF8 + rows.encode("utf8"))
    data = read_sts(f)
    assert data.sentences1 == ["a man eats", "a cat"] and list(data.scores) == [4.0, 1.0]
    g = tmp_path / "same.tsv"
    g.write_text("g\tf\ty\t1\t3\ta\tb\ng\tf\ty\t2\t3\tc\td\n")
    with pytest.raises(Exception, match="correlation"):
        read_sts(g)  # constant gold scores: the correlation would be nan
