"""Wall display: its numbers on a database built by hand, the markup it renders, and the page."""
import datetime as dt

import pandas as pd

from pipeline import geo
from pipeline.queries import wall as q
from ui import wall

# Wednesday 18 March 2026, 17:00 local (UTC+5)
NOW = dt.datetime(2026, 3, 18, 12, 0, tzinfo=dt.timezone.utc)


def add(con, sid, at, category="water", district="abai", region="shymkent", status="new", due_days=10,
        text="x", feedback_hours=None):
    con.execute(
        "INSERT INTO submissions (source, source_id, received_at, text, category, district, region, status, due_at, "
        "feedback_due_at, feedback_at) VALUES ('web', ?, ?, ?, ?, ?, ?, ?, CAST(? AS TIMESTAMPTZ) + to_days(?), "
        "CAST(? AS TIMESTAMPTZ) + INTERVAL 1 DAY, CAST(? AS TIMESTAMPTZ) + to_hours(CAST(? AS INTEGER)))",
        [sid, at, text, category, district, region, status, at, due_days, at, at, feedback_hours])


def build(con):
    local_midnight = dt.datetime(2026, 3, 17, 19, 0, tzinfo=dt.timezone.utc)
    for i in range(3):  # today so far
        add(con, f"t{i}", local_midnight + dt.timedelta(hours=2 + i), feedback_hours=2)
    for week, n in zip(range(1, 9), (2, 2, 4, 1, 2, 6, 2, 2)):  # same weekday, before 17:00 local
        for i in range(n):
            add(con, f"w{week}-{i}", local_midnight - dt.timedelta(days=7 * week) + dt.timedelta(hours=3))
    add(con, "late-last-week", local_midnight - dt.timedelta(days=7) + dt.timedelta(hours=20))  # after 17:00
    add(con, "old-open-overdue", NOW - dt.timedelta(days=60), category="roads", district="alga", region="aktobe")
    add(con, "closed", NOW - dt.timedelta(days=5), category="roads", district="alga", region="aktobe", status="resolved",
        feedback_hours=48)
    add(con, "phone", NOW - dt.timedelta(minutes=5), text="Меня зовут Иван Петров, 8 701 123 45 67, кв. 5")


def test_today_against_the_median_of_the_same_weekday_so_far(con):
    build(con)
    t = q.today_vs_typical(con, NOW)
    assert t["today"] == 4 and t["typical"] == 2 and t["change_pct"] == 100.0
    assert q.today_vs_typical(con, NOW, region="aktobe")["today"] == 0


def test_case_figures_shares_trend_and_districts(con):
    build(con)
    c = q.case_figures(con, NOW)
    # open: everything but "closed"; overdue: open and received over 10 days ago (weeks 2-8: 19, and the old one)
    assert c["open"] == 27 and c["overdue"] == 20
    # feedback due in the last 30 days: today's 3 (in time), weeks 1-4 (9), late-last-week, closed (48 h late)
    assert round(c["feedback_in_time_pct"], 2) == round(100 * 3 / 14, 2)
    shares = q.shares(con, NOW).set_index("category")
    assert shares["n"].to_dict() == {"water": 3 + 9 + 1 + 1, "roads": 1} and abs(shares["pct"].sum() - 100.0) < 1e-9
    trend = q.trend_vs_last_year(con, NOW)
    assert len(trend) == 30 and pd.Timestamp(trend["day"].iloc[-1]) == pd.Timestamp("2026-03-18")
    assert trend["n"].iloc[-1] == 4 and trend["last_year"].isna().all()
    d = q.district_stats(con, NOW).set_index("district")
    assert len(d) == 19 and d.loc["alga", "n"] == 1 and d.loc["alga", "overdue_share"] == 100.0


def test_latest_is_masked(con):
    build(con)
    text = q.latest(con, NOW)["text"].iloc[0]
    assert "Петров" not in text and "123 45 67" not in text and "***" in text


def test_render_has_every_panel_in_both_languages(con):
    build(con)
    snap = q.snapshot(con, NOW)
    for lang, word in (("ru", "Обращений сегодня"), ("kk", "Бүгінгі өтініштер")):
        page = wall.render(snap, lang, geo.load(), demo=True)
        for marker in ('data-kpi="today"', 'data-kpi="open"', 'data-kpi="overdue"', 'data-kpi="feedback"',
                       'data-kpi="alerts"', 'class="panel shares"', 'data-testid="wall-map"', 'data-testid="wall-trend"',
                       'class="panel alerts"', 'class="ticker"', word):
            assert marker in page, (lang, marker)
        assert "Петров" not in page and "<script" not in page
    broken = wall.render(snap, "ru", None, map_error="bad.geojson: not valid JSON")
    assert "bad.geojson: not valid JSON" in broken


def test_snapshot_handles_an_empty_database(con):
    snap = q.snapshot(con, NOW)
    html = wall.render(snap, "ru", geo.load())
    assert 'id="wall-today">0<' in html and "Всплесков нет" in html


def test_wall_page_runs_in_kiosk_mode(real_app):
    at = real_app(build)
    at.switch_page("pages/wall.py")
    at.query_params["kiosk"] = "1"
    at.query_params["lang"] = "kk"
    at.run()
    assert not at.exception
    html = " ".join(str(e.proto) for e in at.get("html"))
    assert "Бүгінгі өтініштер" in html and "wall-map" in html
    assert not at.sidebar.radio  # kiosk: no language switch, no menus
