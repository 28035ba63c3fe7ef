"""Demo data: deterministic, believable in its proportions, and consistent with its event log."""
import pandas as pd
import pytest

from pipeline import demo, events, metrics, reference, store, workflow
from pipeline.queries import cases, overview
from pipeline.queries.filters import Filters

# One worker runs this module: its demos share the text pools a process builds once (about 7 s, the
# classifier's pass over the demo's wordings included); spread over both workers each paid them
pytestmark = pytest.mark.xdist_group("demo")

END = pd.Timestamp("2026-11-20 23:00", tz="Asia/Almaty")
STATUSES = {"new", "feedback_given", "in_progress", "resolved", "rejected", "forwarded", "reopened"}


@pytest.fixture(scope="module")
def demo_con():
    con = store.connect(":memory:")
    demo.build_demo(con, rows=20000, seed=7, end=END, chunk_rows=4000)  # in 5 chunks, as a big demo is made
    yield con
    con.close()


def q(con, sql):
    return con.execute(sql).fetchall()


def test_same_seed_same_rows_other_seed_differs():
    frames = []
    for seed in (7, 7, 8):  # 7 as the module's demo: its text pools are built once per process
        con = store.connect(":memory:")
        demo.build_demo(con, rows=1500, seed=seed, end=END)
        frames.append(con.execute("SELECT source_id, received_at, text, district, status FROM submissions "
                                  "ORDER BY source_id").df())
        con.close()
    pd.testing.assert_frame_equal(frames[0], frames[1])
    assert not frames[0]["text"].equals(frames[2]["text"])


def test_every_district_and_plausible_shares(demo_con):
    assert {d for (d,) in q(demo_con, "SELECT DISTINCT district FROM submissions")} == set(
        reference.districts()["code"])
    shares = dict(q(demo_con, "SELECT source, count(*) / sum(count(*)) OVER () FROM submissions GROUP BY 1"))
    # qr rows are residents' proposals (issue 14), fewer than complaints from the web form
    assert 0.65 < shares["hotline_109"] < 0.75 and 0.05 < shares["qr"] < 0.12 and 0.17 < shares["web"] < 0.27
    langs = dict(q(demo_con, "SELECT language, count(*) / sum(count(*)) OVER () FROM submissions GROUP BY 1"))
    assert langs["ru"] > 0.5 and langs["kk"] > 0.15
    # Shymkent city districts are dense; a rural Aktobe district is small.
    per_10k = dict(q(demo_con, "SELECT s.district, count(*) FROM submissions s GROUP BY 1"))
    assert per_10k["karatau"] > 5 * per_10k["irgiz"]


def test_seasons_and_hours(demo_con):
    (winter,), (summer,) = [q(demo_con, f"SELECT avg((category = 'heating')::int) FROM submissions "
                                        f"WHERE month(received_at) IN {months}")[0] for months in ((1, 2, 12), (6, 7, 8))]
    assert winter > 4 * summer
    night, day = q(demo_con, "SELECT count(*) FILTER (WHERE hour(received_at) BETWEEN 1 AND 4), "
                             "count(*) FILTER (WHERE hour(received_at) BETWEEN 10 AND 13) FROM submissions")[0]
    assert day > 8 * night


def test_workflow_is_consistent_with_the_event_log(demo_con):
    assert {s for (s,) in q(demo_con, "SELECT DISTINCT status FROM submissions")} <= STATUSES
    assert events.inconsistencies(demo_con).empty
    old_open = q(demo_con, "SELECT count(*) FROM submissions WHERE status IN ('new','feedback_given') "
                           "AND received_at < TIMESTAMPTZ '2026-06-01'")[0][0]  # forgotten ones are in work
    assert old_open == 0
    assert q(demo_con, "SELECT count(*) FROM submissions WHERE due_at IS NULL")[0][0] == 0
    late = q(demo_con, "SELECT avg((feedback_at > feedback_due_at)::int) FROM submissions WHERE feedback_at IS NOT NULL")[0][0]
    assert 0.04 < late < 0.25


def _whole_history(con) -> Filters:
    return Filters(*overview.data_range(con))


def test_backlog_is_recent_and_few_open_cases_are_overdue(demo_con):
    """What the overview and the wall show: open cases are about one to three weeks of intake, and
    5-15 % of them are past their deadline."""
    k = overview.kpis(demo_con, _whole_history(demo_con), END)
    assert 0.05 <= k["overdue"] / k["open"] <= 0.15, k
    last_30 = overview.kpis(demo_con, Filters((END - pd.Timedelta(days=29)).date(), END.date()), END)["total"]
    assert 7 <= k["open"] / (last_30 / 30) <= 21, (k["open"], last_30)


def test_no_case_open_for_months_but_the_planted_forgotten_ones(demo_con):
    forgotten = demo_con.execute("SELECT * FROM demo_forgotten").df()
    assert len(forgotten) == 5 and forgotten["story"].str.len().min() > 20
    old = demo_con.execute(f"SELECT id, status FROM submissions WHERE status IN {overview.OPEN} "
                           "AND received_at < CAST(? AS TIMESTAMPTZ) - INTERVAL 90 DAY", [END]).df()
    assert set(old["id"]) == set(forgotten["submission_id"])
    assert dict(zip(old["id"], old["status"])) == dict(zip(forgotten["submission_id"], forgotten["status"]))


def test_feedback_and_resolution_mostly_in_time(demo_con):
    """The shares as the deadlines page computes them (pipeline.metrics on cases.metrics_frame)."""
    f = _whole_history(demo_con)
    s = metrics.summary(cases.metrics_frame(demo_con, f), END)
    assert 0.90 <= s["feedback_in_time"] <= 0.95, s
    assert 0.80 <= s["resolved_on_time"] <= 0.90, s
    assert 0.01 <= s["reopen_rate"] <= 0.03, s
    assert abs(overview.kpis(demo_con, f, END)["feedback_in_time_pct"] - 100 * s["feedback_in_time"]) < 0.01
    shares = dict(q(demo_con, "SELECT status, count(*) / sum(count(*)) OVER () FROM submissions GROUP BY 1"))
    assert 0.005 < shares["rejected"] < 0.03 and 0.01 < shares["forwarded"] < 0.04
    confirmed = q(demo_con, "SELECT avg((resident_confirmed_at IS NOT NULL)::int) FROM submissions WHERE status = 'resolved'")[0][0]
    assert 0.2 < confirmed < 0.6
    assert q(demo_con, "SELECT count(*) FROM submissions WHERE status = 'forwarded' AND forwarded_to IS NULL")[0][0] == 0


def test_every_status_change_is_an_allowed_event_in_order(demo_con):
    """Replaying each case's status events in order: each starts where the last ended, follows
    data/workflow.csv (with a comment where it needs one), none lies after the end, and the last
    one is the case's status."""
    ev = demo_con.execute("""
        SELECT e.submission_id, e.happened_at, e.old, e.new, e.comment, s.status,
               lag(e.new, 1, 'new') OVER w AS before,
               row_number() OVER (PARTITION BY e.submission_id ORDER BY e.happened_at DESC, e.id DESC) AS from_end
        FROM events e JOIN submissions s ON s.id = e.submission_id
        WHERE e.field = 'status' WINDOW w AS (PARTITION BY e.submission_id ORDER BY e.happened_at, e.id)""").df()
    assert (ev["old"] == ev["before"]).all()
    allowed = workflow.transitions()
    moves = ev[["old", "new"]].drop_duplicates().itertuples(index=False)
    assert all(new in allowed[old] for old, new in moves)
    needs = [allowed[o][n] for o, n in zip(ev["old"], ev["new"])]
    assert ev.loc[needs, "comment"].notna().all() and ev.loc[needs].shape[0] > 0
    last = ev[ev["from_end"] == 1]
    assert (last["new"] == last["status"]).all()
    assert q(demo_con, "SELECT count(*) FROM submissions WHERE status <> 'new' AND id NOT IN "
                       "(SELECT submission_id FROM events WHERE field = 'status')")[0][0] == 0
    assert demo_con.execute("SELECT count(*) FROM events WHERE happened_at > ?", [END]).fetchall()[0][0] == 0


def test_planted_hot_spots_hold_most_overdue_cases(demo_con):
    """The deadlines page's department x district table puts the planted hot spots first."""
    spots = demo_con.execute("SELECT * FROM demo_hotspots").df()
    assert len(spots) == 3 and (spots["stuck_cases"] > 0).all()
    table = cases.by_department(demo_con, END)  # most overdue first
    top, rest = table.head(len(spots)), table.iloc[len(spots):]
    assert set(zip(top["department"], top["district"])) == set(zip(spots["department"], spots["district"]))
    assert top["overdue"].min() >= rest["overdue"].max()  # first; a tie is broken by the open cases
    k = overview.kpis(demo_con, _whole_history(demo_con), END)
    assert top["overdue"].sum() > 0.4 * k["overdue"]


def test_texts_vary_and_are_not_one_sentence_per_category(demo_con):
    distinct, total = q(demo_con, "SELECT count(DISTINCT text), count(*) FROM submissions")[0]
    assert distinct / total > 0.8
    per_cat = q(demo_con, "SELECT min(n) FROM (SELECT count(DISTINCT text) n FROM submissions GROUP BY category)")[0][0]
    assert per_cat > 20


def test_planted_surges_are_recorded_and_visible(demo_con):
    surges = demo_con.execute("SELECT * FROM demo_surges").df()
    assert len(surges) >= 6 and (surges["end_at"] > END - pd.Timedelta(hours=24)).sum() >= 1
    for s in surges.itertuples():
        in_window = q(demo_con, f"SELECT count(*) FROM submissions s JOIN demo_truth t ON t.submission_id = s.id "
                                f"WHERE t.category = '{s.category}' AND s.district = '{s.district}' "
                                f"AND received_at >= TIMESTAMPTZ '{s.start_at}' AND received_at < TIMESTAMPTZ '{s.end_at}'")[0][0]
        assert in_window >= s.extra_count


def test_written_in_chunks_in_time_order(demo_con):
    """Chunks continue each other: ids and source ids follow the receipt time across them, and
    every submission has its demo truth and one 'created' event."""
    ordered = q(demo_con, "SELECT count(*) FROM (SELECT id, received_at, source_id, lag(received_at) OVER (ORDER BY id) AS "
                          "before, lag(source_id) OVER (ORDER BY id) AS before_id FROM submissions) "
                          "WHERE received_at < before OR source_id <= before_id")[0][0]
    assert ordered == 0
    assert q(demo_con, "SELECT count(*) FROM submissions")[0][0] == 20000
    assert q(demo_con, "SELECT count(*) FROM demo_truth")[0][0] == 20000
    assert q(demo_con, "SELECT count(*), count(DISTINCT submission_id) FROM events WHERE field = 'created'")[0] == (20000, 20000)


def test_a_file_store_gets_its_memory_limit_back(tmp_path):
    con = store.connect(tmp_path / "d.duckdb")
    before = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    demo.build_demo(con, rows=300, seed=7, end=END)
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == before
    assert q(con, "SELECT count(*) FROM submissions")[0][0] == 300
    con.close()


def test_no_address_line_names_an_emergency_word():
    """The priority is read from the message body alone (demo.case_fields): right only while no
    street, village or address style matches a word of data/emergency_words.csv."""
    import re
    from pipeline import sla
    lines = [f"{a}{name}, 12, кв. 3{b}".lower() for name in demo._csv("places.csv")["text"]
             for a, b in demo.ADDRESS_STYLES]
    patterns = sla.emergency_words()["pattern"]
    assert not [(line, p) for line in lines for p in patterns if re.search(p, line)]


def test_cli_refuses_to_overwrite_real_data(tmp_path):
    import subprocess, sys
    from pipeline import settings
    db = tmp_path / "real.duckdb"
    con = store.connect(db)
    con.execute("INSERT INTO submissions (source, source_id, received_at, text) VALUES ('import','1',now(),'x')")
    con.close()
    out = subprocess.run([sys.executable, "-m", "pipeline", "demo", "--rows", "100", "--db", str(db)],
                         capture_output=True, text=True, cwd=settings.ROOT)
    assert out.returncode == 1 and "refusing to overwrite" in out.stderr


def test_an_idea_comes_mostly_from_one_to_three_districts_and_a_few_placements_there(demo_con):
    """The demo's proposals of one idea (as the app groups them) come mostly from one to three
    districts, and within a district mostly from one or two placements."""
    frame = demo_con.execute("""
        SELECT m.idea_id AS idea, s.district, s.placement FROM idea_members m JOIN submissions s ON s.id = m.submission_id
        WHERE m.kind = 'idea' AND m.idea_id IN (SELECT idea_id FROM idea_members WHERE kind = 'idea'
                                                GROUP BY idea_id HAVING count(*) >= 20)""").df()
    assert frame["idea"].nunique() >= 5
    top3 = {idea: g["district"].value_counts().iloc[:3].sum() / len(g) for idea, g in frame.groupby("idea")}
    assert min(top3.values()) > 0.7 and sum(top3.values()) / len(top3) > 0.85, top3
    big = frame.groupby(["idea", "district"]).filter(lambda g: len(g) >= 10)
    shares = big.groupby(["idea", "district"])["placement"].agg(lambda p: p.value_counts().iloc[:2].sum() / len(p))
    assert len(shares) and shares.mean() > 0.5, shares
