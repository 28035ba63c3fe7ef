"""Bad input to any command: one line `error: ...` on stderr, a non-zero exit code, never a traceback."""
import subprocess
import sys

import pytest

from pipeline import settings
from pipeline.__main__ import main


def _files(tmp_path):
    ok = tmp_path / "ok.csv"
    ok.write_text("Текст обращения\nЯма на дороге\n", encoding="utf-8")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100000 + "]" * 100000, encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    plain = tmp_path / "plain.txt"
    plain.write_text("not a folder\n", encoding="utf-8")
    return {"ok": ok, "deep": deep, "empty": empty, "plain": plain, "db": tmp_path / "x.duckdb",
            "dir": tmp_path, "under_file": plain / "x.duckdb", "under_proc": "/proc/x.duckdb"}


CASES = {
    "deeply nested JSON": ["ingest", "{deep}", "--db", "{db}"],
    "train on a 0-byte file": ["train", "--data", "{empty}", "--no-cv"],
    "demo --rows 0": ["demo", "--rows", "0", "--db", "{db}"],
    "demo --rows -5": ["demo", "--rows", "-5", "--db", "{db}"],
    "demo --rows abc": ["demo", "--rows", "abc", "--db", "{db}"],
    "demo --rows a typo of zeros": ["demo", "--rows", "99999999999", "--db", "{db}"],
    "demo --seed -1": ["demo", "--seed", "-1", "--db", "{db}"],
    "demo --end outside the calendar": ["demo", "--end", "1900-01-01", "--rows", "10", "--db", "{db}"],
    "ingest --db folder": ["ingest", "{ok}", "--db", "{dir}"],
    "drain --db folder": ["drain", "--db", "{dir}"],
    "demo --db folder": ["demo", "--rows", "10", "--db", "{dir}"],
    "surges --db folder": ["surges", "--db", "{dir}"],
    "train --db folder": ["train", "--no-cv", "--db", "{dir}"],
    "ingest --db under a file": ["ingest", "{ok}", "--db", "{under_file}"],
    "drain --db under a file": ["drain", "--db", "{under_file}"],
    "ingest --db under /proc": ["ingest", "{ok}", "--db", "{under_proc}"],
    "drain --db under /proc": ["drain", "--db", "{under_proc}"],
    "surges --db missing": ["surges", "--db", "{db}"],
    "surges --at garbage": ["surges", "--at", "yesterday-ish", "--db", "{db}"],
    # a mistyped store: said so, not an empty store made there and "nothing to do" reported
    "drain --db missing": ["drain", "--db", "{db}"],
    "classify-pending --db missing": ["classify-pending", "--db", "{db}"],
    "publish --db missing": ["publish", "--db", "{db}"],
    "train --db missing": ["train", "--no-cv", "--db", "{db}"],
    # a code nobody has: refused, not an empty answer
    "surges --region unknown": ["surges", "--region", "almaty", "--db", "{db}"],
    "export --source unknown": ["export", "--source", "nosuch", "--since", "2026-01-01", "--out", "{dir}/x.csv",
                                "--db", "{db}"],
    "export --language unknown": ["export", "--language", "de", "--since", "2026-01-01", "--out", "{dir}/x.csv",
                                  "--db", "{db}"],
    "geo --out over a map it did not make": ["geo", "--out", "{ok}"],
    "classify --out the input": ["classify", "--data", "{ok}", "--out", "{ok}"],
    "posters --form-url not an address": ["posters", "{ok}", "--form-url", "javascript:alert(1)", "--out", "{dir}/p.pdf"],
    "ideas list --limit 0": ["ideas", "list", "--limit", "0", "--db", "{db}"],
    "posters --out over a CSV": ["posters", "{ok}", "--out", "{ok}"],
    "backup into ''": ["backup", "", "--db", "{db}"],
    "briefing --territory ''": ["briefing", "--period", "2026-10", "--territory", "", "--out", "{dir}/b.pdf",
                                "--db", "{db}"],
    "publish-decisions --out over a CSV": ["publish-decisions", "--out", "{ok}", "--db", "{db}"],
    "evaluate --model missing": ["evaluate", "--data", "{ok}", "--model", "{dir}/nomodel"],
    "export --format against --out": ["export", "--format", "csv", "--since", "2026-01-01", "--out", "{dir}/h.xlsx",
                                      "--db", "{db}"],
    "briefing --format against --out": ["briefing", "--period", "2026-10", "--format", "pdf", "--out", "{dir}/b.docx",
                                        "--db", "{db}"],
    "evaluate --model not a model": ["evaluate", "--data", "{ok}", "--model", "{ok}"],
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_line_and_no_traceback(tmp_path, capsys, case):
    files = _files(tmp_path)
    argv = [a.format(**files) for a in CASES[case]]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    out, err = capsys.readouterr()
    assert code not in (0, None), (out, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert not files["db"].exists()  # nothing made at a mistyped path
    assert files["ok"].read_text(encoding="utf-8") == "Текст обращения\nЯма на дороге\n"  # nothing overwritten


def test_the_real_entry_point_prints_one_line(tmp_path):
    files = _files(tmp_path)
    r = subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(files["deep"]), "--db", str(files["db"])],
                       capture_output=True, text=True, cwd=settings.ROOT, timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {files['deep']}: JSON nested too deeply"), r.stderr


def test_a_deeply_nested_json_line_is_quarantined_and_the_rest_kept(tmp_path):
    from pipeline import ingest

    path = tmp_path / "q.jsonl"
    path.write_text('{"text": "Сломана скамейка"}\n' + '{"a": ' * 3000 + "1" + "}" * 3000 + "\n"
                    '{"text": "Яма во дворе"}\n', encoding="utf-8")
    prepared = ingest.prepare(path, "qr")
    assert prepared.read == 3 and prepared.rows["text"].tolist() == ["Сломана скамейка", "Яма во дворе"]
    assert prepared.quarantine[["record_no", "reason"]].values.tolist() == [[2, "JSON on line 2 nested too deeply"]]
