"""The `sentvec` command line, through typer's runner and real subprocesses."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import sentvec
from sentvec.cli import app

runner = CliRunner()
SRC = str(Path(sentvec.__file__).resolve().parents[1])


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout


def subprocess_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-m", "sentvec", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_help_lists_commands_without_importing_torch():
    code = (
        "import sys; from sentvec.cli import app; from typer.testing import CliRunner; "
        "r = CliRunner().invoke(app, ['--help']); print(r.exit_code); "
        "print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=60,
    ).stdout.split()
    assert out == ["0", "False", "False"]
    _, text = run("--help")
    for command in ("search", "encode", "similarity", "info", "eval"):
        assert command in text


@pytest.mark.slow
def test_main_job_finds_the_account_recovery_answer():
    code, out = run("search", "How do I reset my password if I lost my 2FA device?", "-k", "3")
    assert code == 0
    hits = [line.split()[2] for line in out.splitlines() if line.strip()[:2] in ("1.", "2.", "3.")]
    assert hits[0] == "kb-0025", out  # the answer about recovering without the second factor


def test_search_own_file_json_output(tmp_path, make_st_model):
    f = tmp_path / "docs.jsonl"
    docs = ["a man is eating food", "stocks fell today", "a woman plays the violin"]
    f.write_text("".join(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(docs)))
    model = str(make_st_model("mean", normalize=True))
    code, out = run(
        "search", "a man eats bread", "--file", str(f), "--model", model, "-k", "3", "--json"
    )
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    enc = sentvec.load(model)
    expected = np.argsort(-(enc.encode(docs) @ enc.encode(["a man eats bread"])[0]))
    assert [r["id"] for r in rows] == [f"d{i}" for i in expected]


def test_encode_npy_and_jsonl_match_the_api(tmp_path, make_st_model):
    model = str(make_st_model("mean", normalize=True))
    f = tmp_path / "t.csv"
    f.write_text("id,sentence\n1,a cat\n2,a dog on a mat\n")
    code, _ = run("encode", str(f), "--out", str(tmp_path / "v.npy"), "--model", model)
    assert code == 0
    expected = sentvec.load(model).encode(["a cat", "a dog on a mat"])
    np.testing.assert_allclose(np.load(tmp_path / "v.npy"), expected, atol=1e-6)
    code, out = run("encode", "--text", "a cat", "--model", model)
    row = json.loads(out.splitlines()[0])
    np.testing.assert_allclose(row["vector"], expected[0], atol=1e-6)


def test_similarity_matches_sentence_transformers(make_st_model):
    from sentence_transformers import SentenceTransformer

    model = str(make_st_model("mean"))
    code, out = run("similarity", "a man is eating", "a man eats bread", "--model", model)
    u, v = SentenceTransformer(model, device="cpu").encode(["a man is eating", "a man eats bread"])
    assert code == 0
    assert float(out) == pytest.approx(u @ v / np.linalg.norm(u) / np.linalg.norm(v), abs=1e-4)


def test_info_describes_without_loading(make_st_model):
    """`info` reads JSON and the safetensors headers only: in a fresh process neither torch,
    transformers nor safetensors gets imported, and no weight file is read past its header."""
    model = make_st_model("max", dense=24)
    code = (
        "import builtins, json, sys\n"
        "from sentvec.cli import main\n"
        "reads = []\n"
        "real_open = builtins.open\n"
        "class Counting:\n"
        "    def __init__(self, f, name): self.f, self.name = f, name\n"
        "    def read(self, n=-1):\n"
        "        data = self.f.read(n); reads.append((self.name, len(data))); return data\n"
        "    def __enter__(self): return self\n"
        "    def __exit__(self, *a): self.f.close()\n"
        "    def __getattr__(self, k): return getattr(self.f, k)\n"
        "def counting_open(file, mode='r', *a, **k):\n"
        "    f = real_open(file, mode, *a, **k)\n"
        "    return Counting(f, str(file)) if str(file).endswith('.safetensors') else f\n"
        "builtins.open = counting_open\n"
        "try:\n"
        "    main(['info', sys.argv[1], '--json'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "heavy = [m for m in ('torch', 'transformers', 'safetensors') if m in sys.modules]\n"
        "print(json.dumps({'heavy': heavy, 'read': sum(n for _, n in reads)}), file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(model)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    details = json.loads(proc.stdout)
    assert details["pooling"] == ["max"] and details["architecture"] == "BertModel"
    assert details["dense"][0]["out_features"] == 24
    probe = json.loads(proc.stderr.strip().splitlines()[-1])
    assert probe["heavy"] == []
    weights = sum(p.stat().st_size for p in model.rglob("*.safetensors"))
    assert 0 < probe["read"] < weights / 10  # headers only, never the tensors


def test_help_shows_an_example_on_every_command():
    from typer.main import get_command

    from sentvec.cli import app as root

    group = get_command(root)
    names = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        names += [[name, s] for s in subs] if subs else [[name]]
    assert len(names) >= 15
    for parts in names:
        if parts[0] == "index":  # the collection commands are maintained separately
            continue
        code, text = run(*parts, "--help")
        assert code == 0 and "Example: sentvec " in text, parts
        assert "<bool>" not in text, parts


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dedup", "{good}", "--threshold", "5"], "--threshold 5.0 is out of range"),
        (["dedup", "{good}", "--threshold", "-5"], "between -1 and 1"),
        (["classify", "{good}", "-l", "a,b", "--threshold", "2"], "--threshold 2.0"),
        (["cluster", "{good}", "--method", "community", "--threshold", "-3"], "--threshold"),
        (["cluster", "{good}", "--method", "agglomerative", "--threshold", "2.5"], "0 and 2"),
        (["eval", "pairs", "{good}", "--threshold", "5"], "--threshold 5.0"),
        (["encode", "{good}", "--out", "{tmp}/missing/v.npy"], "does not exist. Fix: create it"),
        (["encode", "{good}", "--out", "{dirnpy}"], "is a folder"),
        (["dedup", "{good}", "--out", "{tmp}/nope/g.jsonl"], "mkdir -p"),
        (["encode", "{tmp}"], "is a folder"),
        (["encode", "{empty}"], "holds no texts"),
        (["eval", "clusters", "{empty}"], "holds no labelled texts"),
        (["eval", "sts", "{empty}"], "at least 2"),
        (["encode", "{latin1}"], ":2: not UTF-8"),
        (["search", "q", "--file", "{surrogate}"], ":1: JSON text holds a lone surrogate"),
        (["similarity", "a", "b", "--metric", "bogus"], "invalid --metric 'bogus'"),
        (["dedup", "{good}", "-k", "0"], "-k"),
        (["nosuch"], "No such command"),
    ],
)
def test_bad_inputs_give_one_error_line_and_exit_2(tmp_path, make_st_model, args, message):
    """Each case used to be a traceback or a silently wrong result (issue 8). Runs main(),
    the real error boundary, in-process; the model is only loaded for cases that get that far."""
    from test_cli_robust import run_main

    files = {
        "good": "id,text\n1,a cat\n2,a dog\n3,stocks fell\n",
        "empty": "",
        "latin1": None,
        "surrogate": '{"text": "a \\ud800"}\n',
    }
    paths = {"tmp": str(tmp_path), "dirnpy": str(tmp_path / "d.npy")}
    (tmp_path / "d.npy").mkdir()
    for name, text in files.items():
        path = tmp_path / (f"{name}.jsonl" if name == "surrogate" else f"{name}.csv")
        if text is None:
            path.write_bytes("id,text\n1,caf\xe9\n".encode("latin-1"))
        else:
            path.write_text(text, encoding="utf8")
        paths[name] = str(path)
    argv = [a.format(**paths) for a in args] + ["-m", str(make_st_model("mean"))] * (
        args[0] != "nosuch"
    )
    code, text = run_main(argv)
    lines = [line for line in text.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), text
    assert message in lines[0], text


def test_eval_sts_prints_spearman(tmp_path, tiny_encoder):
    from scipy import stats

    pairs = [
        ("a man eats", "a man is eating", 4.8),
        ("a cat", "stocks fell", 0.1),
        ("drums", "a monkey plays drums", 2.0),
        ("sunny", "warm weather", 3.1),
    ]
    f = tmp_path / "s.tsv"
    f.write_text("".join(f"g\tf\ty\t{i}\t{s}\t{a}\t{b}\n" for i, (a, b, s) in enumerate(pairs)))
    code, out = run("eval", "sts", str(f), "--model", tiny_encoder.name)
    u = tiny_encoder.encode([p[0] for p in pairs])
    v = tiny_encoder.encode([p[1] for p in pairs])
    expected = 100 * stats.spearmanr((u * v).sum(1), [p[2] for p in pairs]).statistic
    cosine_line = next(line for line in out.splitlines() if line.startswith("cosine"))
    assert code == 0 and float(cosine_line.split()[1]) == pytest.approx(expected, abs=0.01)


def test_errors_are_one_line_with_exit_code_2(tmp_path):
    proc = subprocess_cli("encode", str(tmp_path / "missing.txt"))
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error:") and "missing.txt" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess_cli("info", str(tmp_path / "no-model"))
    assert (
        proc.returncode == 2 and "no such folder" in proc.stderr and "Traceback" not in proc.stderr
    )
