"""Streaming ingest: a file read, checked and stored in batches gives the same rows as one batch,
a re-run adds nothing, rows stored before their classification are visible as such until the
pending step classifies them, and long work reports its progress."""
import io
import json

import pandas as pd
import pytest

from pipeline import events, ingest, pending, readers, rollup, search, settings, spool, store
from pipeline.__main__ import main
from pipeline.progress import Progress
from pipeline.queries import textsearch

pytestmark = pytest.mark.usefixtures("keyword_classifier_unless_trained")

HEADER = "№ обращения;Дата поступления;Район;Текст обращения;Телефон\n"


def _csv(path, n=40):
    """Good rows, quarantined ones, rows without an id, a duplicate far from its first copy and a
    quoted text over two lines, so every kind of record falls on several batches."""
    lines = []
    for i in range(n):
        if i % 9 == 4:
            lines.append(f"{i};32.13.2026 10:00;Абайский район;Яма у дома {i};\n")      # bad date
        elif i % 11 == 7:
            lines.append(f"{i};01.02.2026 10:00;Нет такого района;Не горит фонарь {i};\n")  # bad district
        elif i % 13 == 5:
            lines.append(f"{i};01.02.2026 10:00;Абайский район;\"Нет воды\nуже два дня, дом {i}\";\n")
        elif i % 8 == 3:
            lines.append(f";01.02.2026 10:{i % 60:02d};;Мусор не вывозят, дом {i};+7 701 000 00 {i:02d}\n")
        else:
            lines.append(f"{i};01.02.2026 10:{i % 60:02d};Абайский район;Не горит фонарь у дома {i};\n")
    lines.append("2;01.02.2026 11:00;Абайский район;Повтор записи 2;\n")  # same id as an earlier record
    lines.append("41;01.02.2026 11:00;лишнее;поле;в;строке\n")            # too many fields
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def _store(path, db, batch_rows, source="hotline_109"):
    """Spool and drain the file in batches of `batch_rows` (None: one batch), then classify."""
    con = store.connect(db)
    inbox = settings.inbox_path(db)
    receipts = []
    for prepared in ingest.prepare_batches(path, source, now=pd.Timestamp("2026-03-01", tz="UTC"),
                                           batch_rows=batch_rows):
        spool.write(prepared, inbox)
        receipts += spool.drain(con, inbox)
    return con, receipts


def _content(con):
    rows = con.execute("SELECT source, source_id, received_at, text, district, contact, category, language, "
                       "priority, due_at, search_terms FROM submissions ORDER BY source_id").fetchall()
    quarantine = con.execute("SELECT record_no, raw, reason FROM quarantine ORDER BY record_no").fetchall()
    return rows, quarantine


def _totals(receipts):
    return {k: sum(r[k] for r in receipts) for k in ("read", "inserted", "duplicates", "quarantined")}


@pytest.mark.parametrize("batch_rows", [1, 7, 16])
def test_a_file_in_several_batches_gives_the_rows_of_one_batch(tmp_path, batch_rows):
    path = _csv(tmp_path / "calls.csv")
    whole, whole_receipts = _store(path, tmp_path / "whole.duckdb", None)
    parts, part_receipts = _store(path, tmp_path / "parts.duckdb", batch_rows)
    assert len(part_receipts) > 1
    pending.classify_pending(whole)
    pending.classify_pending(parts)
    assert _content(parts) == _content(whole)
    assert _totals(part_receipts) == _totals(whole_receipts)
    totals = _totals(part_receipts)
    assert totals["read"] == totals["inserted"] + totals["duplicates"] + totals["quarantined"] == 42
    assert totals["duplicates"] == 1 and totals["quarantined"] > 5


def test_jsonl_and_xlsx_in_batches_give_the_records_of_one_batch(tmp_path):
    jl = tmp_path / "calls.jsonl"
    jl.write_text("".join(json.dumps({"id": str(i), "text": f"Яма {i}", "date": "01.02.2026 10:00"},
                                     ensure_ascii=False) + "\n" if i % 5 else "{broken\n" for i in range(23)),
                  encoding="utf-8")
    xlsx = tmp_path / "calls.xlsx"
    pd.DataFrame({"Текст обращения": [f"Нет света {i}" if i % 6 else "" for i in range(23)],
                  "Дата поступления": ["01.02.2026 10:00"] * 23}).to_excel(xlsx, index=False)
    for path in (jl, xlsx):
        whole = readers.read_file(path)
        batches = list(readers.iter_batches(path, 4))
        assert len(batches) > 3
        assert [r for b in batches for r in b.records] == whole.records
        assert [n for b in batches for n in b.record_nos] == whole.record_nos
        assert sorted(x for b in batches for x in b.bad) == sorted(whole.bad)


def test_a_rerun_of_the_same_file_adds_nothing(tmp_path, monkeypatch, capsys):
    path = _csv(tmp_path / "calls.csv")
    db = tmp_path / "r.duckdb"
    monkeypatch.setenv("SC_INGEST_BATCH", "10")
    assert main(["ingest", str(path), "--db", str(db), "--source", "hotline_109"]) == 0
    first = capsys.readouterr().out.strip().splitlines()[-1]
    con = store.connect(db)
    before = _content(con), con.execute("SELECT count(*) FROM events").fetchall()
    con.close()
    assert main(["ingest", str(path), "--db", str(db), "--source", "hotline_109"]) == 0
    again = capsys.readouterr().out.strip().splitlines()[-1]
    quarantined = first.split("quarantined=")[1]
    assert first.startswith("read=42 inserted=")
    assert again == f"read=42 inserted=0 duplicates={42 - int(quarantined)} quarantined={quarantined}"
    con = store.connect(db)
    assert (_content(con), con.execute("SELECT count(*) FROM events").fetchall()) == before
    con.close()


def test_an_overlapping_export_stores_only_its_new_rows(tmp_path, capsys):
    """A second export repeating rows already stored (its batches are new, so the batch keys do not
    catch it): the fast insert is refused by the unique index and the batch applied again skipping
    the stored rows; the rest are stored, each with one 'created' event, and the rollup is fresh."""
    from pipeline import rollup

    db = tmp_path / "o.duckdb"
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(HEADER + "".join(f"{i};01.02.2026 10:00;Абайский район;Яма у дома {i};\n"
                                      for i in range(1, 21)), encoding="utf-8")
    second.write_text(HEADER + "".join(f"{i};01.02.2026 10:00;Абайский район;Яма у дома {i};\n"
                                       for i in range(15, 31)), encoding="utf-8")
    assert main(["ingest", str(first), "--db", str(db), "--source", "hotline_109", "--no-classify"]) == 0
    assert main(["ingest", str(second), "--db", str(db), "--source", "hotline_109", "--no-classify"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1] == "read=16 inserted=10 duplicates=6 quarantined=0"
    con = store.connect(db)
    ids = [r[0] for r in con.execute("SELECT source_id FROM submissions ORDER BY id").fetchall()]
    assert ids == [str(i) for i in range(1, 31)]
    assert con.execute("SELECT count(*), count(DISTINCT submission_id) FROM events "
                       "WHERE field = 'created'").fetchall() == [(30, 30)]
    assert events.inconsistencies(con).empty and rollup.fresh(con)
    con.close()


def test_a_crash_half_way_then_a_rerun_stores_each_record_once(tmp_path, monkeypatch, capsys):
    path = _csv(tmp_path / "calls.csv")
    reference, _ = _store(path, tmp_path / "ref.duckdb", None)
    pending.classify_pending(reference)
    db = tmp_path / "c.duckdb"
    con = store.connect(db)
    inbox = settings.inbox_path(db)
    batches = ingest.prepare_batches(path, "hotline_109", batch_rows=10)
    spool.write(next(batches), inbox)
    spool.drain(con, inbox)                      # the first batch stored,
    spool.write(next(batches), inbox)            # the second spooled, then the process died
    con.close()
    monkeypatch.setenv("SC_INGEST_BATCH", "10")
    assert main(["ingest", str(path), "--db", str(db), "--source", "hotline_109"]) == 0
    con = store.connect(db)
    rows, quarantine = _content(con)
    ref_rows, ref_quarantine = _content(reference)
    assert [r[:6] for r in rows] == [r[:6] for r in ref_rows] and quarantine == ref_quarantine
    assert pending.pending_count(con) == 0 and events.inconsistencies(con).empty
    con.close()


def test_unclassified_rows_are_visible_until_the_pending_step_classifies_them(tmp_path, capsys):
    path = _csv(tmp_path / "calls.csv")
    db = tmp_path / "p.duckdb"
    assert main(["ingest", str(path), "--db", str(db), "--source", "hotline_109", "--no-classify"]) == 0
    out = capsys.readouterr().out
    con = store.connect(db)
    stored = con.execute("SELECT count(*) FROM submissions").fetchall()[0][0]
    assert f"{stored} stored rows wait for their classification" in out
    assert pending.pending_count(con) == stored > 0
    assert con.execute("SELECT count(*) FROM submissions WHERE category IS NULL AND category_source = 'pending' "
                       "AND status = 'new' AND due_at IS NULL").fetchall()[0][0] == stored
    assert events.inconsistencies(con).empty  # the log replays to the stored, unclassified state
    con.close()
    assert main(["classify-pending", "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith(f"classified={stored}")
    con = store.connect(db)
    assert pending.pending_count(con) == 0
    assert con.execute("SELECT count(*) FROM submissions WHERE category IS NOT NULL AND category_source = 'model' "
                       "AND priority IS NOT NULL AND due_at IS NOT NULL AND search_terms IS NOT NULL"
                       ).fetchall()[0][0] == stored
    assert con.execute("SELECT count(*) FROM events WHERE field = 'created'").fetchall()[0][0] == stored
    assert events.inconsistencies(con).empty
    con.close()


def test_the_pending_step_stores_the_enrichment_and_keeps_every_other_column(tmp_path, capsys):
    """pending._store updates a classified row: every other column must
    come back as it was, the classification's columns as ingest.enrich computes them, and the
    search signature as textsearch.sign writes it."""
    path = _csv(tmp_path / "calls.csv")
    db = tmp_path / "p.duckdb"
    assert main(["ingest", str(path), "--db", str(db), "--source", "hotline_109", "--no-classify"]) == 0
    con = store.connect(db)
    changed = [*pending.UPDATED, *textsearch.BITS]
    before = con.execute("SELECT * EXCLUDE (" + ", ".join(changed) + ") FROM submissions ORDER BY id").df()
    expected = ingest.enrich(before[["id", "received_at", "text", "district"]].copy())
    con.close()
    assert main(["classify-pending", "--db", str(db)]) == 0
    capsys.readouterr()
    con = store.connect(db)
    after = con.execute("SELECT * FROM submissions ORDER BY id").df()
    con.execute(f"UPDATE submissions SET {textsearch.UNSIGN}")  # signed as textsearch.sign signs
    assert textsearch.sign(con) == len(after)
    signed = con.execute("SELECT " + ", ".join(textsearch.BITS) + " FROM submissions ORDER BY id").df()
    con.close()
    assert len(after) == len(before) > 20
    pd.testing.assert_frame_equal(after.drop(columns=changed), before)
    pd.testing.assert_frame_equal(after[textsearch.BITS], signed)
    for c in pending.UPDATED:
        got, want = after[c], expected[c]
        if c.endswith("_at"):
            got, want = pd.to_datetime(got, utc=True), pd.to_datetime(want, utc=True)
        if c == "search_terms":
            assert all(isinstance(x, str) for x in got)  # as the store keeps them (search.encode)
            got, want = [sorted(search.decode(x)) for x in got], [sorted(search.decode(x)) for x in want]
        assert list(got) == list(want), c


def test_a_batch_stored_before_the_next_one_fails_is_counted_and_the_rollup_kept_up(tmp_path, monkeypatch):
    """classify_pending stores a batch in a thread while it enriches the next: when the next one
    fails, the stored batch stays stored and the rollup counts it (a reviewer found it left stale)."""
    path = _csv(tmp_path / "calls.csv")
    con, _ = _store(path, tmp_path / "f.duckdb", None)
    con.execute("UPDATE submissions SET category = NULL, category_source = 'pending'")  # all pending again
    rollup.refresh(con)
    before = pending.pending_count(con)
    real, calls = pending._enrich, []

    def second_fails(rows, balance=None):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError("the worker died")
        return real(rows, balance)

    monkeypatch.setattr(pending, "_enrich", second_fails)
    with pytest.raises(RuntimeError, match="worker died"):
        pending.classify_pending(con, size=5)
    assert pending.pending_count(con) == before - 5
    assert rollup.fresh(con)
    assert pending.classify_pending(con, limit=-1) == 0  # a negative limit classifies nothing
    monkeypatch.setattr(pending, "_enrich", real)
    assert pending.classify_pending(con) == before - 5 and pending.pending_count(con) == 0


def test_a_page_event_committed_while_a_batch_is_stored_does_not_hide_the_batch_from_the_rollup(tmp_path, monkeypatch):
    """Ids come from sequences: an operator's event committed (and refreshed) while the pending
    step's transaction holds lower 'created' event ids made the rollup look fresh with the batch
    still counted as pending (found by a review). classify_pending recounts from its start."""
    path = _csv(tmp_path / "calls.csv")
    db = tmp_path / "r.duckdb"
    assert main(["ingest", str(path), "--db", str(db), "--source", "hotline_109", "--no-classify"]) == 0
    con = store.connect(db)
    pending.classify_pending(con, limit=5)
    first = con.execute("SELECT min(id) FROM submissions WHERE category_source <> 'pending'").fetchall()[0][0]
    real, page = events.record_created, con.cursor()

    def and_a_page_meanwhile(c, **kw):
        n = real(c, **kw)
        events.change(page, first, {"status": "in_progress"}, "operator1")
        rollup.refresh(page)
        return n

    monkeypatch.setattr(events, "record_created", and_a_page_meanwhile)
    assert pending.classify_pending(con) > 10
    monkeypatch.setattr(events, "record_created", real)
    assert pending.pending_count(con) == 0 and rollup.fresh(con)
    assert con.execute("SELECT coalesce(sum(n), 0) FROM rollup_daily WHERE pending").fetchall()[0][0] == 0
    by_category = "SELECT category, sum(n) FROM rollup_daily GROUP BY 1 ORDER BY 1"
    counted = con.execute(by_category).fetchall()
    rollup.rebuild(con)
    assert con.execute(by_category).fetchall() == counted


def test_an_operator_change_while_a_batch_is_stored_is_kept(tmp_path, monkeypatch):
    """The pending step deletes and inserts the rows of a batch; an operator's change committed
    meanwhile was overwritten without a conflict error (a review lost 264 of 20,000). The process's
    write lock makes the operator's transaction wait for the batch's, then apply on top of it."""
    import threading
    import time

    con, _ = _store(_csv(tmp_path / "calls.csv"), tmp_path / "w.duckdb", None)
    con.execute("UPDATE submissions SET category = NULL, category_source = 'pending'")
    con.execute("DELETE FROM events WHERE field <> 'created'")
    rollup.refresh(con)
    target = con.execute("SELECT min(id) FROM submissions").fetchall()[0][0]
    real, inside, page, errors = pending._store, threading.Event(), con.cursor(), []

    def slowly(c, enriched):  # the batch is written, not yet committed: the operator acts now
        real(c, enriched)
        if not inside.is_set():
            inside.set()
            time.sleep(0.5)

    def operator():
        try:
            inside.wait(30)
            events.change(page, target, {"status": "in_progress", "district": "almaly"}, "operator1")
        except Exception as exc:  # a conflict error would also be a failure to keep the change
            errors.append(exc)

    monkeypatch.setattr(pending, "_store", slowly)
    thread = threading.Thread(target=operator)
    thread.start()
    pending.classify_pending(con, size=5)
    thread.join(30)
    assert not errors and inside.is_set()
    assert con.execute("SELECT status, district, category_source <> 'pending' FROM submissions WHERE id = ?",
                       [target]).fetchall() == [("in_progress", "almaly", True)]
    assert pending.pending_count(con) == 0 and events.inconsistencies(con).empty
    assert rollup.fresh(con)


def test_a_transaction_holds_the_write_lock_and_pending_inside_one_stores_in_it(tmp_path):
    """A transaction of another thread waits for this one; classify_pending called inside a
    transaction stores its batches in it (its store thread would wait for the lock for ever)."""
    import threading

    con, _ = _store(_csv(tmp_path / "calls.csv"), tmp_path / "l.duckdb", None)
    con.execute("UPDATE submissions SET category = NULL, category_source = 'pending'")
    order = []

    def other():
        with store.transaction(con.cursor()):
            order.append("other")

    with store.transaction(con):
        assert store.holds_writes()
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(0.3)
        assert pending.classify_pending(con, size=5) > 5  # no deadlock
        order.append("mine")
    thread.join(10)
    assert order == ["mine", "other"] and not store.holds_writes()
    assert pending.pending_count(con) == 0


def test_an_operator_category_set_while_pending_is_kept(tmp_path):
    path = _csv(tmp_path / "calls.csv", 6)
    con, _ = _store(path, tmp_path / "o.duckdb", None)
    first = con.execute("SELECT min(id) FROM submissions").fetchall()[0][0]
    con.execute("UPDATE submissions SET category = 'roads', category_source = 'operator' WHERE id = ?", [first])
    pending.classify_pending(con, size=2)
    assert con.execute("SELECT category, category_source FROM submissions WHERE id = ?", [first]).fetchall() == [
        ("roads", "operator")]
    assert pending.pending_count(con) == 0


def test_progress_is_reported(tmp_path, monkeypatch, capsys):
    path = _csv(tmp_path / "calls.csv")
    monkeypatch.setenv("SC_INGEST_BATCH", "10")
    assert main(["ingest", str(path), "--db", str(tmp_path / "g.duckdb"), "--progress"]) == 0
    err = capsys.readouterr().err.splitlines()
    reading = [line for line in err if line.startswith(str(path))]
    classifying = [line for line in err if line.startswith("classify")]
    assert len(reading) == 5 and reading[-1].split("]")[1].strip().startswith("100%")
    assert classifying and "100%" in classifying[-1] and "texts" in classifying[-1]
    # without --progress and not on a terminal: nothing on stderr
    assert main(["ingest", str(path), "--db", str(tmp_path / "h.duckdb")]) == 0
    assert capsys.readouterr().err == ""


def test_progress_bar_redraws_in_place_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    bar = Progress("calls.csv", stream=out)
    bar.update(500, share=0.5)
    bar.update(1000, share=1.0)
    bar.close()
    text = out.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and " 50% 500 rows" in text and "100% 1,000 rows" in text


def test_the_overview_leaves_pending_rows_out_of_the_shares_and_says_how_many(tmp_path):
    import datetime as dt

    from pipeline.queries import overview
    from pipeline.queries.filters import Filters

    path = _csv(tmp_path / "calls.csv")
    con, _ = _store(path, tmp_path / "v.duckdb", None)
    feb = Filters(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    stored = con.execute("SELECT count(*) FROM submissions").fetchall()[0][0]
    shares = overview.category_shares(con, feb)
    assert shares.empty and shares.attrs["pending"] == stored
    pending.classify_batch(con, size=10)
    shares = overview.category_shares(con, feb)
    assert shares["n"].sum() == 10 and shares.attrs["pending"] == stored - 10
    assert round(shares["counted_pct"].sum()) == 100


@pytest.mark.parametrize("repeat", [False, True])
def test_batches_waiting_together_are_stored_as_one_by_one(tmp_path, monkeypatch, repeat):
    """Batches spooled faster than they are applied go in one transaction (spool.apply_pending_together);
    the rows (ids in file order), events, quarantine and counts are those of applying them one at a
    time. With a row already stored (`repeat`) the group falls back to one by one."""
    from pipeline import inbox as inbox_files

    path = _csv(tmp_path / "calls.csv")
    now = pd.Timestamp("2026-03-01", tz="UTC")
    numbers = iter(range(1000))  # spool ids in the order they are made (real ones: by the second)
    monkeypatch.setattr(inbox_files, "new_spool_id", lambda: f"20260301T000000-{next(numbers):04d}")

    def run(db, together):
        con = store.connect(db)
        inbox = settings.inbox_path(db)
        if repeat:  # a row of the file already stored by an earlier export
            con.execute("INSERT INTO submissions (source, source_id, received_at, text) "
                        "VALUES ('hotline_109', '10', '2026-01-01 10:00+05', 'earlier')")
            events.record_created(con)
        receipts = []
        for prepared in ingest.prepare_batches(path, "hotline_109", now=now, batch_rows=10, classify=False):
            spool.write(prepared, inbox)
            if not together:
                receipts += spool.drain(con, inbox)
        if together:
            receipts = spool.drain(con, inbox)
        # run ids compared by their batch: a group refused and rolled back used up sequence numbers
        stored = con.execute("SELECT source_id, text, received_at, district, category_source, r.batch_key "
                             "FROM submissions s LEFT JOIN ingest_runs r ON r.id = s.ingest_run_id "
                             "ORDER BY s.id").fetchall()
        created = con.execute("SELECT s.source_id, e.new FROM events e JOIN submissions s ON s.id = e.submission_id "
                              "WHERE e.field = 'created' ORDER BY s.id").fetchall()
        runs = con.execute("SELECT read_count, inserted_count, duplicate_count, quarantined_count, batch_key "
                           "FROM ingest_runs ORDER BY id").fetchall()
        quarantine = con.execute("SELECT r.batch_key, record_no, raw, reason FROM quarantine q "
                                 "JOIN ingest_runs r ON r.id = q.ingest_run_id ORDER BY record_no").fetchall()
        assert events.inconsistencies(con).empty and not list(inbox.glob("*.spool"))
        con.close()
        return receipts, stored, created, runs, quarantine

    one = run(tmp_path / "one.duckdb", together=False)
    calls = []
    original = spool._insert_pending_many
    spool._insert_pending_many = lambda con, todo: calls.append(len(todo)) or original(con, todo)
    try:
        together = run(tmp_path / "together.duckdb", together=True)
    finally:
        spool._insert_pending_many = original
    assert calls == [spool.PENDING_TOGETHER]  # 5 batches: 4 together (or refused, then one by one), then 1
    assert together[1:] == one[1:]
    assert [{k: r[k] for k in ("read", "inserted", "duplicates", "quarantined")} for r in together[0]] == \
           [{k: r[k] for k in ("read", "inserted", "duplicates", "quarantined")} for r in one[0]]
