"""Demo data: deterministic, believable in its proportions, and consistent with its event log."""
import pandas as pd
import pytest

from pipeline import demo, events, reference, store

END = pd.Timestamp("2026-11-20 23:00", tz="Asia/Almaty")
STATUSES = {"new", "feedback_given", "in_progress", "resolved", "rejected", "forwarded", "reopened"}


@pytest.fixture(scope="module")
def demo_con():
    con = store.connect(":memory:")
    demo.build_demo(con, rows=12000, seed=7, end=END)
    yield con
    con.close()


def q(con, sql):
    return con.execute(sql).fetchall()


def test_same_seed_same_rows_other_seed_differs():
    frames = []
    for seed in (3, 3, 4):
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
    assert 0.65 < shares["hotline_109"] < 0.75 and 0.15 < shares["qr"] < 0.25
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
                           "AND received_at < TIMESTAMPTZ '2026-06-01'")[0][0]
    assert old_open == 0
    assert q(demo_con, "SELECT count(*) FROM submissions WHERE due_at IS NULL")[0][0] == 0
    late = q(demo_con, "SELECT avg((feedback_at > feedback_due_at)::int) FROM submissions WHERE feedback_at IS NOT NULL")[0][0]
    assert 0.04 < late < 0.25


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
