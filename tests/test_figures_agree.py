"""One number, one meaning: the same figure computed through every screen's path agrees.

On a tiny database whose cases are placed relative to now: open and overdue now (received at any
time), received in the last 30 days, and the share of a category, as the overview, the deadlines
page, the wall, the metrics and the explorer compute them; then the numbers the pages render
(AppTests) against each other. And every figure's caption says what it counts."""
from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from streamlit.testing.v1 import AppTest

from pipeline import figures, metrics, settings, store
from pipeline.queries import cases, explore, overview, wall
from pipeline.queries.filters import Filters
from tests.conftest import signed_in

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
CATEGORIES = ("water", "roads", "heating", "waste")
DISTRICTS = (("abai", "shymkent"), ("turan", "shymkent"), ("alga", "aktobe"), ("aktobe_astana", "aktobe"))
STATUSES = ("new", "feedback_given", "in_progress", "resolved", "reopened", "rejected", "resolved", "forwarded")


def rows():
    """40 cases over the last 80 days (half in the last 30), every fourth open one past its deadline."""
    out = []
    for i in range(40):
        received = NOW - dt.timedelta(days=2 * i, hours=3)
        status = STATUSES[i % len(STATUSES)]
        due = received + dt.timedelta(days=1 if i % 3 == 0 else 200)  # overdue when open and i % 3 == 0
        district, region = DISTRICTS[i % len(DISTRICTS)]
        feedback = received + dt.timedelta(hours=2 if i % 5 else 40) if status != "new" else None
        out.append((f"s{i}", received, CATEGORIES[i % 3 if i % 7 else 3], district, region, status,
                    received + dt.timedelta(days=1), feedback, due, "dept_" + CATEGORIES[i % 2]))
    return out


def fill(con):
    con.executemany(
        "INSERT INTO submissions (source, source_id, received_at, text, category, district, region, status, "
        "feedback_due_at, feedback_at, due_at, department, category_source, category_confidence) "
        "VALUES ('hotline_109', ?, ?, 'текст', ?, ?, ?, ?, ?, ?, ?, ?, 'model', 0.9)", rows())


@pytest.fixture
def small(con):
    fill(con)
    return con


def _today():
    from pipeline import calendar
    return calendar.local(NOW).date()


def all_time(**kw) -> Filters:
    return Filters(_today() - dt.timedelta(days=400), _today(), **kw)


def last_30(**kw) -> Filters:
    return Filters(_today() - dt.timedelta(days=29), _today(), **kw)


@pytest.mark.parametrize("region", [None, "aktobe"])
def test_open_and_overdue_now_agree_on_every_screen(small, region):
    by_hand_open = sum(1 for r in rows() if r[5] in ("new", "feedback_given", "in_progress", "reopened")
                       and region in (None, r[4]))
    by_hand_overdue = sum(1 for r in rows() if r[5] in ("new", "feedback_given", "in_progress", "reopened")
                          and r[8] < NOW and region in (None, r[4]))
    assert 0 < by_hand_overdue < by_hand_open
    k = overview.kpis(small, all_time(region=region), NOW)
    w = wall.case_figures(small, NOW, region)
    buckets = cases.bucket_counts(small, NOW, region=region)
    listed = cases.bucket_cases(small, "overdue", NOW, region=region)
    dept = cases.by_department(small, NOW)
    if region:
        dept = dept[dept["district"].isin([d for d, r in DISTRICTS if r == region])]
    m = cases.summary(small, all_time(region=region), NOW)
    ov_map = overview.district_stats(small, all_time(region=region), NOW)
    wall_map = wall.district_stats(small, NOW, region=region)
    opens = {"overview": k["open"], "wall": w["open"], "explorer": explore.count(small, all_time(region=region, status="open"), NOW),
             "by_department": int(dept["open"].sum()), "metrics": m["backlog"],
             "overview map": int(ov_map["open"].sum()), "wall map": int(wall_map["open"].sum())}
    overdues = {"overview": k["overdue"], "wall": w["overdue"], "deadlines": buckets["overdue"],
                "deadlines list": len(listed), "by_department": int(dept["overdue"].sum()), "metrics": m["overdue"],
                "explorer": explore.count(small, all_time(region=region, status="open", overdue=True), NOW),
                "overview map": int(ov_map["overdue"].sum()), "wall map": int(wall_map["overdue"].sum())}
    assert opens == dict.fromkeys(opens, by_hand_open)
    assert overdues == dict.fromkeys(overdues, by_hand_overdue)


def test_received_in_the_last_30_days_and_a_category_share_agree(small):
    f = last_30()
    k = overview.kpis(small, f, NOW)
    shares = wall.shares(small, NOW)  # the wall's 30 days
    received = {"overview": k["total"], "explorer": explore.count(small, f, NOW), "wall": int(shares["n"].sum()),
                "metrics": cases.summary(small, f, NOW)["cases"],
                "overview map": int(overview.district_stats(small, f, NOW)["n"].sum()),
                "wall map": int(wall.district_stats(small, NOW)["n"].sum())}
    by_hand = sum(1 for r in rows() if r[1] >= dt.datetime.combine(f.start, dt.time(), _local_tz()))
    assert received == dict.fromkeys(received, by_hand)
    ov = overview.category_shares(small, f).set_index("category")
    wl = shares.set_index("category")
    for category in ("water", "roads"):
        explorer_pct = 100 * explore.count(small, Filters(f.start, f.end, category=category), NOW) / received["explorer"]
        assert ov.loc[category, "counted_pct"] == pytest.approx(explorer_pct)
        assert wl.loc[category, "counted_pct"] == pytest.approx(explorer_pct)
        assert ov.loc[category, "pct"] == pytest.approx(wl.loc[category, "pct"])


def _local_tz():
    from zoneinfo import ZoneInfo
    return ZoneInfo(settings.get("TZ"))


# ---- the numbers the pages render ----------------------------------------------------------------
def _page(path, page, params=None):
    at = signed_in(AppTest.from_file(str(settings.ROOT / "app.py"), default_timeout=90), "admin")
    for key, value in (params or {}).items():  # before the first run: the side panel reads them once
        at.query_params[key] = value
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def _int(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def test_the_pages_render_the_same_figures(tmp_path, monkeypatch):
    path = tmp_path / "agree.duckdb"
    con = store.connect(path)
    fill(con)
    store.set_meta(con, "dataset", "real")
    expected = {"open": overview.kpis(con, all_time(), NOW)["open"],
                "overdue": overview.kpis(con, all_time(), NOW)["overdue"],
                "received_30": overview.kpis(con, last_30(), NOW)["total"]}
    con.close()
    monkeypatch.setenv("SC_DB", str(path))

    ov = _page(path, "overview", {"period": "all"})
    shown = {m.label: m.value for m in ov.metric}
    assert _int(shown["Открыто"]) == expected["open"] and _int(shown["Просрочено"]) == expected["overdue"]
    captions = [c.value for c in ov.caption]
    assert any(c.startswith("Открыты сейчас, из поступивших с ") for c in captions), captions
    ov30 = _page(path, "overview", {"period": "30d"})
    assert _int({m.label: m.value for m in ov30.metric}["Обращений за период"]) == expected["received_30"]
    assert any(c.value.startswith("Поступило с ") for c in ov30.caption)

    w = _page(path, "wall")
    body = html.unescape(" ".join(h.proto.body for h in w.get("html")))
    assert _int(re.search(r'id="wall-open">([^<]+)<', body).group(1)) == expected["open"]
    assert _int(re.search(r'id="wall-overdue">([^<]+)<', body).group(1)) == expected["overdue"]
    assert figures.caption("open", "ru", territory_shown=False, short=True) in body
    assert re.search(r"30\s*дней,\s*" + str(expected["received_30"]) + r"\s*обращений", body)

    dl = _page(path, "deadlines")
    labels = " ".join(str(e.proto) for e in dl.get("button_group"))
    assert f"Просрочено: {expected['overdue']}" in labels, labels
    assert any("Открыты сейчас, поступили когда угодно" in c.value and "не применяется" in c.value for c in dl.caption)

    ex = _page(path, "explorer", {**all_time(status="open", overdue=True).params()})
    assert f"Найдено обращений: {expected['overdue']}" in " ".join(m.value for m in ex.markdown)


def test_captions_name_period_population_and_territory():
    assert figures.caption("open", "ru") == "Открыты сейчас, поступили когда угодно · все районы"
    assert figures.caption("overdue", "ru", days=30, region="aktobe") == \
        "Просрочены сейчас, из поступивших за последние 30 дн. · Актюбинская область"
    assert figures.caption_for("received", "ru", Filters(dt.date(2026, 11, 1), dt.date(2026, 11, 30), district="abai")) == \
        "Поступило с 01.11.2026 по 30.11.2026 · Абайский район"
    kk = figures.caption("feedback_in_time", "kk", days=30, territory_shown=False)
    assert kk[0].isupper() and "30" in kk
    with pytest.raises(ValueError):
        figures.caption("everything", "ru")
