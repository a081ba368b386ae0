"""Property-based robustness of the whole CLI: every command is fed generated bad files
(random bytes, wrong encodings, broken JSON/CSV, empty files, folders) and bad arguments
(huge, negative, NaN sizes and thresholds, missing columns). Whatever comes in, the CLI
must answer with exit code 0 or 2, never a traceback and never the "this is a bug" line;
and a refused `index` command must leave the collection exactly as it was.

The CLI runs in-process through the real :func:`sentvec.cli.main` error boundary (typer's
``CliRunner.invoke(app)`` would bypass it) with a tiny model, so hundreds of cases run in
about a minute. Case counts: see ``MAX_EXAMPLES``.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sentvec.cli import main

MAX_EXAMPLES = {"files": 300, "arguments": 200, "index": 80}
SETTINGS = dict(
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the message shows args and output
    derandomize=True,  # the same cases on every run: a failure is reproducible, CI is stable
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
GOOD = ["a man is eating food", "stocks fell today", "a woman plays the violin", "the cat sat"]


def run_main(args: list[str], stdin: str = "") -> tuple[int, str]:
    """Run ``sentvec ARGS`` in-process through main(); return (exit code, stdout + stderr)."""
    with CliRunner().isolation(input=stdin) as (out, err, _):
        try:
            main(args)
            code = 0
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        text = out.getvalue().decode("utf8", "replace") + err.getvalue().decode("utf8", "replace")
    return code, text


def assert_clean(code: int, text: str, args: list[str]) -> None:
    assert "Traceback" not in text, (args, text)
    assert "bug in sentvec" not in text, (args, text)
    assert code in (0, 2), (code, args, text[-2000:])
    if code == 2:
        errors = [line for line in text.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, (args, text[-2000:])


# -- generated files ---------------------------------------------------------------------------

_words = st.sampled_from([*GOOD, "", " ", "é", "東京", "x" * 300, "a,b", 'q"uote', "\t", "1e999"])
_lines = st.lists(_words, max_size=6).map(lambda ws: "".join(w + "\n" for w in ws))
_json_lines = st.lists(
    st.sampled_from(
        [
            '{"text": "a cat", "id": "1"}',
            '{"text": "stocks fell", "id": 2, "label": "x"}',
            '{"text": broken',
            '{"text": "\\ud800 lone"}',
            '{"text": 5}',
            '{"id": "no text"}',
            "[1, 2]",
            "null",
            '{"text": "x", "id": 1e999}',
            '{"sentence1": "a", "sentence2": "b", "label": "1", "score": "4"}',
            '{"anchor": "a", "positive": "b", "negative": "c"}',
            '{"_id": "d1", "text": "doc"}',
            "[" * 5000,
            "",
        ]
    ),
    max_size=6,
).map(lambda ls: "".join(x + "\n" for x in ls))
_cells = st.sampled_from(
    ["text", "label", "sentence1", "sentence2", "score", "a cat", "4.5", "1", "0", "-5", "", '"q']
)
_csv = st.tuples(
    st.lists(st.lists(_cells, min_size=1, max_size=7), max_size=6),
    st.sampled_from([",", "\t", ";"]),
).map(lambda t: "".join(t[1].join(row) + "\n" for row in t[0]))

CONTENT = st.one_of(
    st.binary(max_size=80),  # random bytes
    st.just(b""),
    st.just(b"\n \n\n"),
    _lines.map(lambda t: t.encode("utf8")),
    _lines.map(lambda t: ("\ufeff" + t).encode("utf8")),  # UTF-8 with a byte-order mark
    _lines.map(lambda t: t.encode("utf-16")),  # UTF-16 with its byte-order mark
    _lines.map(lambda t: (t + "café\n").encode("latin-1", "replace")),  # not UTF-8
    _json_lines.map(lambda t: t.encode("utf8")),
    _csv.map(lambda t: t.encode("utf8")),
    _csv.map(lambda t: codecs_bom() + t.encode("utf8")),
)
SUFFIX = st.sampled_from([".txt", ".jsonl", ".csv", ".tsv", ".dat"])


def codecs_bom() -> bytes:
    return b"\xef\xbb\xbf"


_counter = itertools.count()


@pytest.fixture(scope="module", autouse=True)
def reuse_loaded_models():
    """Commands load their model through sentvec.encoder.load; keep each model that loaded
    once (errors are never cached, so broken models still fail every time). Calls with other
    settings (train's max_seq_length) load afresh, as training changes the weights."""
    import sentvec.encoder

    real, cache = sentvec.encoder.load, {}

    def load(model=None, **kwargs):
        if set(kwargs) - {"backend"}:
            return real(model, **kwargs)
        key = (str(model), kwargs.get("backend"))
        if key not in cache:
            cache[key] = real(model, **kwargs)
        return cache[key]

    sentvec.encoder.load = load
    yield
    sentvec.encoder.load = real


@pytest.fixture(scope="module")
def env(tmp_path_factory, make_st_model):
    """The tiny model, a scratch folder, a few broken model folders."""
    import shutil

    root = tmp_path_factory.mktemp("robust")
    model = make_st_model("mean", normalize=True)
    broken = []
    for name, damage in (
        ("truncated", lambda d: (d / "model.safetensors").write_bytes(b"\x08\x00")),
        ("bad-config", lambda d: (d / "config.json").write_text('{"bad')),
        ("bad-modules", lambda d: (d / "modules.json").write_text('[{"type": 3}]')),
        ("half-weights", lambda d: _truncate(d / "model.safetensors")),
    ):
        folder = root / name
        shutil.copytree(model, folder)
        damage(folder)
        broken.append(str(folder))
    return {"root": root, "model": str(model), "broken": broken}


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _place(env: dict, content: bytes | None, suffix: str) -> Path:
    """Write the generated content to a fresh file (or make a folder when content is None)."""
    folder = env["root"] / f"case{next(_counter)}"
    folder.mkdir()
    path = folder / f"input{suffix}"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    return path


THRESHOLD = st.one_of(
    st.floats(-1, 1), st.sampled_from(["5", "-5", "nan", "inf", "-1e308", "abc", "2.0001"])
)
SIZE = st.one_of(st.integers(-3, 4), st.sampled_from(["0", "-1", "10" * 12, "2.5", "x"]))


def _file_command(data: st.DataObject, file: str, env: dict) -> list[str]:
    """A command that reads FILE, with generated options."""
    m = ["-m", env["model"]]
    out_dir = Path(file).parent
    header = data.draw(st.sampled_from([[], ["--no-header"]]), "header")
    cols = data.draw(st.sampled_from([[], ["--columns", "0,1,2"], ["--columns", "a,b,label"]]))
    choice = data.draw(
        st.sampled_from(
            [
                "encode",
                "encode-out",
                "encode-shards",
                "search",
                "dedup",
                "cluster",
                "classify",
                "sts",
                "pairs",
                "triplets",
                "clusters",
                "mine",
                "train",
                "retrieval",
            ]
        ),
        "command",
    )
    if choice == "encode":
        return ["encode", file, *m, *header, "--json"]
    if choice == "encode-out":
        return ["encode", file, "--out", str(out_dir / "v.npy"), *m, *header]
    if choice == "encode-shards":
        return ["encode", file, "--out", str(out_dir / "shards"), "--shard-size", "2", *m]
    if choice == "search":
        k = str(data.draw(SIZE, "k"))
        return ["search", "a cat", "--file", file, "-k", k, *m, *header, "--json"]
    if choice == "dedup":
        return ["dedup", file, "--threshold", str(data.draw(THRESHOLD, "t")), *m, *header]
    if choice == "cluster":
        method = data.draw(st.sampled_from(["kmeans", "agglomerative", "community", "bogus"]))
        extra = ["--threshold", str(data.draw(THRESHOLD))] if method != "kmeans" else []
        n = data.draw(st.sampled_from([[], ["--clusters", "2"], ["--clusters", "0"]]))
        return ["cluster", file, "--method", method, *extra, *n, *m, *header, "--json"]
    if choice == "classify":
        labels = data.draw(st.sampled_from(["sports,news", "", ",", "a"]))
        t = str(data.draw(THRESHOLD))
        tpl = data.draw(st.sampled_from([[], ["--template", "{x}"], ["--template", "about {}"]]))
        return ["classify", file, "-l", labels, "--threshold", t, *tpl, *m, *header]
    if choice == "sts":
        return ["eval", "sts", file, *m, "--json"]
    if choice in ("pairs", "triplets", "clusters"):
        extra = ["--threshold", str(data.draw(THRESHOLD))] if choice == "pairs" else []
        return ["eval", choice, file, *cols, *header, *extra, *m, "--json"]
    if choice == "mine":
        out = str(out_dir / "mined.jsonl")
        return ["mine-negatives", file, "--out", out, *header, *m, "--json"]
    if choice == "retrieval":
        folder = out_dir / "beir"
        (folder / "qrels").mkdir(parents=True)
        content = Path(file).read_bytes() if Path(file).is_file() else b""
        for name in ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv"):
            (folder / name).write_bytes(content)
        return ["eval", "retrieval", str(folder), *m, "--json"]
    config = out_dir / "train.toml"  # train: the data file is the generated one
    config.write_text(
        f'model = "{env["model"]}"\n[[data]]\npath = "{file}"\nkind = "scored_pairs"\n'
        '[loss]\nname = "cosine"\n'
        f'[training]\noutput_dir = "{out_dir / "run"}"\nepochs = 1\nbatch_size = 2\n'
        "show_progress = false\n"
    )
    return ["train", str(config), "--json"]


@settings(max_examples=MAX_EXAMPLES["files"], **SETTINGS)
@given(content=st.one_of(CONTENT, st.none()), suffix=SUFFIX, data=st.data())
def test_every_command_survives_generated_files(env, content, suffix, data):
    file = _place(env, content, suffix)
    args = _file_command(data, str(file), env)
    code, text = run_main(args)
    assert_clean(code, text, args)


# -- generated arguments -----------------------------------------------------------------------


def _arg_command(data: st.DataObject, env: dict) -> list[str]:
    folder = env["root"] / f"args{next(_counter)}"
    folder.mkdir()
    good = folder / "good.csv"
    good.write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in enumerate(GOOD)))
    m = ["-m", data.draw(st.sampled_from([env["model"], *env["broken"], str(folder / "none")]))]
    size, t = str(data.draw(SIZE)), str(data.draw(THRESHOLD))
    out = data.draw(
        st.sampled_from(
            [str(folder / "o.jsonl"), str(folder), str(folder / "missing" / "o.jsonl"), "/"]
        )
    )
    choices = [
        ["similarity", "a", "b", *m, "--metric", data.draw(st.sampled_from(["cosine", "bad"]))],
        ["similarity", "", "x", *m, "--json"],
        ["similarity", "\udcff", "b", *m],  # an undecodable argv byte, as Python passes it
        ["info", m[1], "--json"],
        ["export", m[1], "--out", str(folder / "good.csv")],
        ["encode", str(good), "--batch-size", size, *m],
        ["encode", str(good), "--shard-size", size, "--out", str(folder / "sh"), *m],
        ["encode", str(good), "--max-tokens", size, *m],
        ["encode", "--text", "x", "--out", out, *m],
        ["encode", str(good), "--text-field", data.draw(st.sampled_from(["0", "text", "zz"]))],
        ["search", "q", "--file", str(good), "-k", size, *m],
        ["search", "q", "--file", str(folder), *m],
        ["dedup", str(good), "--threshold", t, "-k", size, "--out", out, *m],
        ["cluster", str(good), "--clusters", size, "--k-max", size, *m],
        ["cluster", str(good), "--min-size", size, "--method", "community", "--threshold", t, *m],
        ["classify", str(good), "-l", "a,b", "--temperature", t, "--out", out, *m],
        ["eval", "pairs", str(good), "--columns", data.draw(st.sampled_from(["0,1", "a,b,c"]))],
        ["mine-negatives", str(good), "--out", out, "--num-negatives", size, *m],
        ["mine-negatives", str(good), "--out", out, "--max-score", t, *m],
        ["train", str(good)],
        ["train", str(folder)],
        [data.draw(st.sampled_from(["nosuch", "--nosuch", "eval", "index", "-h", "--version"]))],
    ]
    return data.draw(st.sampled_from(choices))


@settings(max_examples=MAX_EXAMPLES["arguments"], **SETTINGS)
@given(data=st.data())
def test_every_command_survives_generated_arguments(env, data):
    args = _arg_command(data, env)
    code, text = run_main(args)
    assert_clean(code, text, args)


# -- index: a refused command leaves the collection as it was ---------------------------------


def _snapshot(root: Path, name: str) -> tuple[int, list[str], int]:
    from sentvec.store import open_collection

    col = open_collection(root, name)
    return len(col), sorted(col._stored_docs()), int(col.table.version)


@pytest.fixture(scope="module")
def collection(env):
    pytest.importorskip("lancedb")
    root = env["root"] / "collections"
    good = env["root"] / "kb.jsonl"
    good.write_text(
        "".join(json.dumps({"id": f"s{i}", "text": t}) + "\n" for i, t in enumerate(GOOD))
    )
    code, text = run_main(
        ["index", "add", "kb", str(good), "--root", str(root), "-m", env["model"]]
    )
    assert code == 0, text
    return root


@settings(max_examples=MAX_EXAMPLES["index"], **SETTINGS)
@given(content=st.one_of(CONTENT, st.none()), suffix=SUFFIX, data=st.data())
def test_refused_index_commands_leave_the_collection_unchanged(
    env, collection, content, suffix, data
):
    file = _place(env, content, suffix)
    root = ["--root", str(collection)]
    where = data.draw(
        st.sampled_from(["id = 's0'; drop", "nonsense ((", "category = 'x' OR", "1 = 1 --"])
    )
    args = data.draw(
        st.sampled_from(
            [
                ["index", "add", "kb", str(file), *root],
                ["index", "upsert", "kb", str(file), *root],
                ["index", "add", "kb", str(file), *root, "-m", env["broken"][0]],
                ["index", "search", "kb", "a cat", *root, "-k", str(data.draw(SIZE))],
                ["index", "search", "kb", "a cat", *root, "--where", where],
                ["index", "delete", "kb", *root, "--where", where],
                ["index", "search", "kb", "a cat", *root, "--mode", "bogus"],
                ["index", "info", "nosuch", *root],
            ]
        )
    )
    before = _snapshot(collection, "kb")
    code, text = run_main(args, stdin="n\n")
    assert_clean(code, text, args)
    if code == 2:
        assert _snapshot(collection, "kb") == before, (args, text)
    elif args[1] in ("add", "upsert"):  # an accepted file: restore the collection for later cases
        from sentvec.store import open_collection

        col = open_collection(collection, "kb")
        extra = sorted(set(col._stored_docs()) - set(before[1]))
        if extra:
            col.delete(extra)
