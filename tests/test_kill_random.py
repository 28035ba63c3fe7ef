"""kill -9 at seeded random moments of ingest, drain and spool removal: after each kill a normal
drain leaves every row of every file exactly once (no loss, no duplicate).

The real CLI runs in a child process that announces where it is (a line '@<point>' on stdout, from
hooks around spool.write, the rename into the inbox, the apply transaction and the removal of the
folder); the test kills it with SIGKILL after a delay drawn from a seeded RNG, so the kill lands
somewhere in the work that follows, not at a chosen line. The removal hook deletes one file every
20 ms so that a kill can land half-way through it.
"""
import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest

from pipeline import ingest, settings, spool, store

SEED = 20261130
ROWS = 30
HOOKED_CLI = textwrap.dedent("""
    import os, shutil, sys, time
    from pipeline import spool
    from pipeline.__main__ import main

    def say(point):
        print("@" + point, flush=True)

    real_write, real_insert, real_remove, real_rename = spool.write, spool._insert, spool._remove, os.rename

    def write(prepared, inbox):
        say("spool-write")
        return real_write(prepared, inbox)

    def rename(src, dst, *args, **kwargs):
        real_rename(src, dst, *args, **kwargs)
        if os.path.basename(os.path.dirname(str(src))) == "tmp" and str(dst).endswith(".spool"):
            say("spool-renamed")

    def insert(*args):
        say("apply")
        return real_insert(*args)

    def slow_rmtree(path, *args, **kwargs):
        for root, dirs, files in os.walk(path, topdown=False):
            for name in files:
                os.unlink(os.path.join(root, name))
                time.sleep(0.02)
            for name in dirs:
                os.rmdir(os.path.join(root, name))
        os.rmdir(path)

    def remove(folder):
        say("remove")
        real_rmtree, shutil.rmtree = shutil.rmtree, slow_rmtree
        try:
            return real_remove(folder)
        finally:
            shutil.rmtree = real_rmtree

    spool.write, spool._insert, spool._remove, os.rename = write, insert, remove, rename
    sys.exit(main(sys.argv[1:]))
""")


pytestmark = pytest.mark.usefixtures("keyword_classifier_unless_trained")


def _file(folder, trial: int):
    path = folder / f"k{trial:02d}.csv"
    path.write_text("№ обращения;Дата поступления;Текст обращения\n" + "".join(
        f"k{trial:02d}-{j};01.02.2026 10:{j % 60:02d};Не горит фонарь у дома {j}, обращение {trial}\n"
        for j in range(ROWS)), encoding="utf-8")
    return path


def _kill_at(args: list[str], point: str, delay: float) -> tuple[bool, str]:
    """Run the hooked CLI, SIGKILL it `delay` seconds after it reaches `point`.
    (killed, what it printed); not killed when it finished before the delay ran out."""
    env = {**os.environ, "PYTHONPATH": str(settings.ROOT), "SC_INGEST_WAIT": "0"}
    proc = subprocess.Popen([sys.executable, "-c", HOOKED_CLI, *args], cwd=settings.ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if line.strip() == "@" + point:
                try:
                    proc.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                break
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    printed = "".join(seen) + out + err
    assert proc.returncode in (0, -signal.SIGKILL), printed
    assert "Traceback" not in printed, printed
    return proc.returncode == -signal.SIGKILL, printed


def _rows_by_file(db) -> dict[str, int]:
    con = store.connect(db)
    try:
        per_id = con.execute("SELECT source_id, count(*) FROM submissions GROUP BY 1").fetchall()
        created = con.execute("SELECT count(*) FROM events WHERE field = 'created'").fetchall()[0][0]
        open_runs = con.execute("SELECT count(*) FROM ingest_runs WHERE finished_at IS NULL").fetchall()[0][0]
    finally:
        con.close()
    assert all(n == 1 for _, n in per_id), [p for p in per_id if p[1] != 1]      # no duplicate
    assert created == len(per_id) and open_runs == 0
    counts: dict[str, int] = {}
    for source_id, _ in per_id:
        counts[source_id.split("-")[0]] = counts.get(source_id.split("-")[0], 0) + 1
    return counts


def _drain_in_process(db) -> None:
    con = store.connect(db)
    try:
        spool.drain(con, settings.inbox_path(db))
    finally:
        con.close()


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_and_duplicates_nothing(tmp_path):
    rng = random.Random(SEED)
    folder = tmp_path / "files"
    folder.mkdir()
    db = tmp_path / "kill.duckdb"
    inbox = settings.inbox_path(db)
    # (phase, command, point the delay starts from, largest delay in seconds)
    plan = ([("ingest", "ingest", "spool-write", 0.06)] * 3 + [("ingest", "ingest", "spool-renamed", 0.3)] * 3
            + [("drain", "drain", "apply", 0.12)] * 4 + [("removal", "drain", "remove", 0.07)] * 4)
    rng.shuffle(plan)
    expected: dict[str, int] = {}
    landed = []
    for trial, (phase, command, point, longest) in enumerate(plan):
        path = _file(folder, trial)
        name = path.stem
        if command == "drain":        # a spool waiting in the inbox, as an ingest leaves it while the app runs
            spool.write(ingest.prepare(path), inbox)
            args = ["drain", "--db", str(db)]
        else:
            args = ["ingest", str(path), "--db", str(db)]
        half_written = set((inbox / "tmp").glob("*")) if (inbox / "tmp").exists() else set()
        killed, printed = _kill_at(args, point, rng.uniform(0, longest))
        # Where it died: its spool half-written in tmp/, waiting in the inbox (applied or not),
        # half-removed in trash/, or all done.
        applied = bool(_rows_by_file(db).get(name))
        state = ("tmp" if (inbox / "tmp").exists() and set((inbox / "tmp").glob("*")) - half_written else
                 ("inbox, applied" if applied else "inbox") if any(inbox.glob("*.spool")) else
                 "trash" if (inbox / "trash").exists() and any((inbox / "trash").iterdir()) else
                 "done" if applied else "nothing")
        landed.append((phase, killed, state))

        _drain_in_process(db)                                   # the next writer drains
        got = _rows_by_file(db).get(name, 0)
        assert got in (0, ROWS), (phase, got, printed)          # one transaction: all or nothing
        if got == 0:
            # Killed before its spool was in the inbox: nothing was accepted, and the file is loaded again.
            assert command == "ingest" and killed, (phase, printed)
            spool.write(ingest.prepare(path), inbox)
            _drain_in_process(db)
        expected[name] = ROWS
        assert _rows_by_file(db) == expected, (phase, landed[-1], printed)

    # A normal drain, then every file loaded again: nothing waits, nothing is added.
    env = {**os.environ, "PYTHONPATH": str(settings.ROOT)}
    drained = subprocess.run([sys.executable, "-m", "pipeline", "drain", "--db", str(db)], capture_output=True,
                             text=True, cwd=settings.ROOT, env=env, timeout=120)
    assert drained.returncode == 0 and drained.stdout.strip().endswith("applied 0 spool file(s)"), drained
    again = subprocess.run([sys.executable, "-m", "pipeline", "ingest", str(folder), "--db", str(db)],
                           capture_output=True, text=True, cwd=settings.ROOT, env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == (f"read={ROWS * len(plan)} inserted=0 "
                                                     f"duplicates={ROWS * len(plan)} quarantined=0")
    assert _rows_by_file(db) == expected
    assert not any(inbox.glob("*.spool")) and not (inbox / "broken").exists()
    assert not any((inbox / "trash").iterdir())
    print("kills landed (phase, killed, spool state):", landed)
    for phase in ("ingest", "drain", "removal"):    # not a run that always finished before its kill
        assert any(killed for p, killed, _ in landed if p == phase), landed
