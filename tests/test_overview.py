"""Overview queries and page on a tiny database whose numbers are computed by hand."""
import datetime as dt

import pandas as pd
import pytest

from pipeline.queries import overview
from pipeline.queries.filters import Filters

# received_at in local time (UTC+5): 6 in March 2026, one just outside the period either side.
ROWS = [
    ("1", "2026-03-01 00:10:00+05", "water", "abai", "shymkent", "resolved"),
    ("2", "2026-03-10 12:00:00+05", "water", "abai", "shymkent", "new"),
    ("3", "2026-03-15 12:00:00+05", "water", "turan", "shymkent", "new"),
    ("4", "2026-03-20 12:00:00+05", "roads", "turan", "shymkent", "in_progress"),
    ("5", "2026-03-25 12:00:00+05", "roads", "alga", "aktobe", "resolved"),
    ("6", "2026-03-31 23:30:00+05", "heating", "alga", "aktobe", "rejected"),
    ("7", "2026-04-01 00:10:00+05", "heating", "alga", "aktobe", "new"),      # next day, local
    ("8", "2026-02-28 23:50:00+05", "gas", "abai", "shymkent", "new"),        # previous period
]
MARCH = Filters(dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def fill(con):
    con.executemany(
        "INSERT INTO submissions (source, source_id, received_at, text, category, district, region, status, "
        "feedback_due_at, feedback_at, due_at) VALUES ('hotline_109', ?, ?, 'x', ?, ?, ?, ?, "
        "CAST(? AS TIMESTAMPTZ) + INTERVAL 1 DAY, CAST(? AS TIMESTAMPTZ) + INTERVAL 2 HOUR, "
        "CAST(? AS TIMESTAMPTZ) + INTERVAL 10 DAY)",
        [[sid, at, cat, d, r, s, at, at, at] for sid, at, cat, d, r, s in ROWS])


@pytest.fixture
def small(con):
    fill(con)
    return con


def test_shares_are_percent_of_the_period_with_local_day_bounds(small):
    shares = overview.category_shares(small, MARCH).set_index("category")
    assert shares["n"].to_dict() == {"water": 3, "roads": 2, "heating": 1}
    assert shares["counted_pct"].round(4).to_dict() == {"water": 50.0, "roads": 33.3333, "heating": 16.6667}
    assert shares["counted_pct"].sum() == pytest.approx(100.0)
    # The corrected share (what screens show) also sums to 100 and lies inside its interval.
    assert shares["pct"].sum() == pytest.approx(100.0)
    assert ((shares["low"] <= shares["pct"] + 1e-9) & (shares["pct"] <= shares["high"] + 1e-9)).all()


def test_filters_by_region_and_district(small):
    aktobe = overview.category_shares(small, Filters(MARCH.start, MARCH.end, region="aktobe"))
    assert aktobe.set_index("category")["counted_pct"].to_dict() == {"roads": 50.0, "heating": 50.0}
    turan = overview.category_shares(small, Filters(MARCH.start, MARCH.end, district="turan"))
    assert turan["n"].sum() == 2


def test_kpis(small):
    now = dt.datetime(2026, 3, 29, tzinfo=dt.timezone.utc)
    k = overview.kpis(small, MARCH, now)
    # open: 2, 3 (new), 4 (in_progress); overdue: due (received + 10 days) before 29 March -> 2, 3
    assert k == {"total": 6, "previous": 1, "open": 3, "overdue": 2, "feedback_in_time_pct": 100.0}


def test_top_rising_and_trend(small):
    rising = overview.top_rising(small, MARCH, min_count=2)
    assert rising[["category", "district", "n", "previous"]].values.tolist() == [["water", "abai", 2, 0]] or \
        len(rising) == 0 or rising["n"].min() >= 2
    trend = overview.trend(small, MARCH)
    assert trend["n"].sum() == 6 and str(trend["at"].min())[:10] == "2026-03-01"


def test_trend_on_a_cursor_has_only_the_periods_local_days_each_category_on_every_day(small):
    # The app runs every query on a cursor of its one connection: a cursor cut days at UTC midnight,
    # so row 1 (00:10 local on 1 March) became a stray 28 February before the period.
    trend = overview.trend(small.cursor(), MARCH)
    assert trend.attrs["grain"] == "day"
    days = sorted(set(trend["at"].dt.date))
    assert days[0] == MARCH.start and days[-1] == MARCH.end and len(days) == 31
    assert len(trend) == 31 * 3  # water, roads, heating each on every day, zeros where none
    assert trend.groupby("category")["n"].sum().to_dict() == {"heating": 1, "roads": 2, "water": 3}


def test_trend_of_one_day_is_per_hour_up_to_now_and_the_chart_has_bars_for_every_legend_name(small):
    from ui import charts

    day = Filters(dt.date(2026, 3, 31), dt.date(2026, 3, 31))
    now = dt.datetime(2026, 3, 31, 23, 40, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    trend = overview.trend(small.cursor(), day, now)
    assert trend.attrs["grain"] == "hour" and len(trend) == 24
    assert trend.loc[trend["n"] > 0, "at"].dt.hour.tolist() == [23]
    early = overview.trend(small.cursor(), day, now.replace(hour=10))
    assert early["at"].max().hour == 23  # a row after `now` still shows; no empty hours after it
    assert len(early) == 12  # 00-10 and 23
    fig = charts.trend_chart(trend, "ru")
    assert {tr.type for tr in fig.data} == {"bar"} and fig.layout.barmode == "stack"
    assert all(sum(tr.y) > 0 for tr in fig.data)
    assert fig.layout.xaxis.tickformat == "%H:%M"
    many = overview.trend(small.cursor(), MARCH)
    fig = charts.trend_chart(many, "ru", top=2)  # lines of water and roads; no line of the rest to dwarf them
    assert [tr.name for tr in fig.data] == ["Водоснабжение и канализация", "Дороги и тротуары"]
    assert all(tr.type == "scatter" and len(tr.x) == 31 and sum(tr.y) > 0 for tr in fig.data)
    fig = charts.trend_chart(trend, "ru", top=0)  # per hour: the rest summed is a bar of its own
    assert [tr.name for tr in fig.data] == ["Остальные категории"] and sum(fig.data[0].y) == 1


def test_all_time_has_no_previous_period_rising_compares_the_last_30_days():
    first = dt.date(2024, 12, 1)
    month = Filters(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert overview.comparison(month, first) == (month, month.previous())
    everything = Filters(first, dt.date(2026, 11, 30))
    current, previous = overview.comparison(everything, first)
    assert (current.start, current.end) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert (previous.start, previous.end) == (dt.date(2026, 10, 2), dt.date(2026, 10, 31))
    assert overview.comparison(Filters(first, dt.date(2024, 12, 20)), first) is None  # too little data
    assert overview.comparison(everything, None) is None


def test_overview_page_shows_percentages_that_sum_to_100(real_app):
    at = real_app(fill)
    at.query_params["period"] = "custom"
    at.run()
    assert not at.exception
    at.sidebar.date_input(key="f_range").set_value((MARCH.start, MARCH.end)).run()
    assert not at.exception
    table = at.table[0].value
    counted = dict(zip(table.iloc[:, 0], table["Меток (доля)"]))
    # written as the briefing writes them: decimal comma, a no-break space before "%" (it never wraps alone)
    assert counted == {"Водоснабжение и канализация": "3 · 50,0\u00a0%", "Дороги и тротуары": "2 · 33,3\u00a0%",
                       "Отопление": "1 · 16,7\u00a0%", "Итого": "6 · 100,0\u00a0%"}
    assert dict(zip(table.iloc[:, 0], table["Оценка доли"]))["Итого"] == "100,0\u00a0%"
    at.sidebar.selectbox(key="f_region").set_value("aktobe").run()
    assert dict(zip(at.table[0].value.iloc[:, 0], at.table[0].value["Меток (доля)"]))["Отопление"] == "1 · 50,0\u00a0%"
    assert not at.info  # real data: no demo banner


def test_overview_for_all_time_shows_no_change_against_a_period_before_the_data(real_app):
    at = real_app(fill)
    at.query_params["period"] = "all"
    at.run()
    assert not at.exception
    assert not at.metric[0].delta  # was "+8 к прошлому периоду" against the empty days before the data
    captions = [c.value for c in at.caption]
    assert "Предыдущего периода в данных нет: сравнивать не с чем" in captions
    # the rising problems say what they compare (the last 30 days against the 30 before, when the
    # data reach back that far: it depends on today's date) or that there is nothing to compare with
    assert any(c.startswith(("Предыдущего периода той же длины в данных нет", "За всё время предыдущего периода нет"))
               for c in captions)


def test_trend_of_a_long_period_is_per_week_or_month_with_local_month_names_on_the_axis(small):
    from ui import charts

    half_year = Filters(dt.date(2026, 1, 1), dt.date(2026, 6, 30))
    weekly = overview.trend(small.cursor(), half_year)
    assert weekly.attrs["grain"] == "week" and set(weekly["at"].dt.weekday) == {0}  # Mondays
    count = lambda f: small.execute("SELECT count(*) FROM submissions WHERE received_at >= ? AND received_at < ?",  # noqa: E731
                                    list(f.bounds())).fetchone()[0]
    assert weekly["n"].sum() == count(half_year)    # nothing lost or doubled
    assert str(weekly["at"].min())[:10] == "2025-12-29"  # the week 1 January falls in
    years = Filters(dt.date(2025, 1, 1), dt.date(2026, 12, 31))
    monthly = overview.trend(small.cursor(), years)
    assert monthly.attrs["grain"] == "month" and set(monthly["at"].dt.day) == {1}
    assert monthly["at"].nunique() == 24 and monthly["n"].sum() == count(years)
    fig = charts.trend_chart(monthly, "kk")
    assert all(len(tr.x) == 24 for tr in fig.data)
    assert fig.layout.xaxis.ticktext[0].startswith("қаң")    # Kazakh month names, not plotly's "Jan"
    assert fig.layout.xaxis.hoverformat == "%m.%Y"
    assert overview.trend_grain(MARCH) == "day"


def test_a_long_legend_sits_above_the_plot_and_the_figure_grows_by_its_rows():
    """Below the plot, plotly placed the legend by a fraction of the plot's height and it covered
    the month labels and the lowest bars (twenty categories in four rows, seen in a browser)."""
    from ui import charts
    months = pd.date_range("2025-01-01", periods=12, freq="MS")
    codes = [f"c{i}" for i in range(20)]
    series = pd.DataFrame([(m, c, 5 + i) for m in months for i, c in enumerate(codes)], columns=["period", "category", "n"])
    few = charts.timeline_bars(series[series["category"].isin(codes[:2])], "ru", "month")
    many = charts.timeline_bars(series, "ru", "month")
    trend = charts.trend_chart(series.rename(columns={"period": "at"}), "ru")
    for fig in (few, many, trend):
        assert fig.layout.legend.y > 1 and fig.layout.legend.yanchor == "bottom"
    assert len(many.data) == 20 and many.layout.height - few.layout.height == 20 * 9


def test_map_labels_of_neighbouring_districts_are_moved_apart():
    """charts.label_shifts: a label goes above its marker where that is free, else below or beside
    it; the labels of markers closer than a label's width do not share a place."""
    from ui import charts

    shifts = charts.label_shifts([(100, 100), (130, 100), (100, 130), (600, 600)],
                                 ["Хромтау 14", "Айтекеби 7", "Мартук 8", "Шалкар 7"], 0.4, 8)
    assert shifts[0] == shifts[3] == (0, 13)  # above, where nothing else is
    assert len(set(shifts[:3])) == 3
