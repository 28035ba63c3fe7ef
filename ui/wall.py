"""The wall display as one HTML document: a dark, high-contrast grid sized in viewport units, so the
same markup fills a 1920x1080 and a 3840x2160 screen without scrolling and stays legible from five
metres. Pure functions of a snapshot (pipeline.queries.wall.snapshot); no Streamlit here, so the
page only places the result and tests can check the markup directly."""
from __future__ import annotations

import base64
import html
from zoneinfo import ZoneInfo

import pandas as pd

from pipeline import figures, geo, grammar, i18n, reference, settings
from pipeline.queries import incidents as incident_queries
from pipeline.queries import wall as wall_queries
from ui import charts

TOP_CATEGORIES = 11
METRICS = ("per_10k", "overdue_share")
RAMP = charts.RAMP
ramp = charts.ramp

# Sized in container units (cqh, cqw) of a 16:9 frame: in kiosk mode the frame is the screen, inside
# the app it is the page's column (narrower than the screen by the menu), so the embedded wall is the
# same picture scaled down instead of a screen-sized layout cut by the column. Below 900 px wide
# (a phone) the frame gives way to one line asking for a large screen.
CSS = """
<style>
.wallframe{position:fixed;inset:0;z-index:999990;container-type:size}
.wallframe.embedded{position:relative;inset:auto;z-index:auto;width:100%;aspect-ratio:16/9}
.wallphone{display:none;background:#121c2e;color:#eef3fb;padding:16px;border-radius:8px;font-size:18px;
  font-family:"DejaVu Sans","Noto Sans",Arial,sans-serif}
@media (max-width:900px){.wallframe{display:none}.wallphone{display:block}}
.wall{position:absolute;inset:0;background:#0a101c;color:#eef3fb;overflow:hidden;
  font-family:"DejaVu Sans","Noto Sans",Arial,sans-serif;display:grid;box-sizing:border-box;
  grid-template-columns:35fr 37fr 28fr;grid-template-rows:6.5vh 16.5vh minmax(0,1fr) 6vh;
  gap:1.1vh 0.9vw;padding:1.2vh 1.1vw}
.wall *{box-sizing:border-box}
.embedded .wall{border-radius:1vh}
[data-stale="true"]{opacity:1 !important;transition:none !important}
.wall .panel{background:#121c2e;border-radius:1vh;padding:1.2vh 1vw;min-height:0;min-width:0;overflow:hidden;
  display:flex;flex-direction:column}
.wall h2{font-size:2.3vh;font-weight:700;margin:0 0 .8vh 0;color:#cfe0ff;overflow:hidden;line-height:1.2;
  display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;flex:none}
.wall .sub{font-size:1.7vh;color:#9fb2d0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;line-height:1.25}
.wall header{grid-column:1/-1;display:flex;align-items:center;gap:1.5vw;min-width:0}
.wall header .title{font-size:3.6vh;font-weight:700;white-space:nowrap;flex:none}
.wall header .scope{font-size:2.4vh;line-height:1.15;color:#9fb2d0;flex:1;min-width:0;overflow:hidden;
  display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical}
.wall header .when{display:flex;flex-direction:column;align-items:flex-end;flex:none;line-height:1.1}
.wall header .clock{font-size:3.2vh;font-weight:700;white-space:nowrap}
.wall header .updated{font-size:1.7vh;color:#9fb2d0;white-space:nowrap;flex:none}
.wall header .incidents{white-space:normal;flex:0 1 20vw;min-width:0;line-height:1.2}
.wall .demo{font-size:1.8vh;font-weight:700;background:#b5179e;color:#fff;padding:.4vh .6vw;border-radius:.6vh}
.wall .kpis{grid-column:1/-1;display:grid;grid-template-columns:repeat(5,minmax(0,1fr));gap:0.9vw}
.wall .kpi{background:#121c2e;border-radius:1vh;padding:1vh 1vw;display:flex;flex-direction:column;
  justify-content:center;min-width:0;overflow:hidden}
.wall .kpi .label{font-size:2.1vh;color:#cfe0ff;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.wall .kpi .sub{font-size:1.6vh;white-space:normal;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical}
.wall .kpi .value{font-size:6.4vh;font-weight:700;line-height:1.1;white-space:nowrap}
.wall .good{color:#52d68a}.wall .bad{color:#ff6b6b}.wall .warn{color:#ffc857}
.wall .bars{display:flex;flex-direction:column;justify-content:space-between;flex:1;min-height:0}
.wall .bar{display:grid;grid-template-columns:52% 1fr 5.4vw;align-items:center;gap:.6vw;min-height:0}
.wall .bar .name{font-size:2.05vh;line-height:1.05;overflow:hidden;display:-webkit-box;-webkit-line-clamp:2;
  -webkit-box-orient:vertical}
.wall .bar .track{height:2.6vh;background:#1b2940;border-radius:.4vh;overflow:hidden}
.wall .bar .fill{height:100%;border-radius:.4vh}
.wall .bar .pct{font-size:2.5vh;font-weight:700;text-align:right;white-space:nowrap}
.wall .mapbox{flex:1;min-height:0;display:flex;flex-direction:column}
.wall .mapbox img,.wall .trend img{flex:1;min-height:0;width:100%;object-fit:contain}
.wall .legend{display:flex;align-items:center;gap:.5vw;font-size:1.6vh;color:#9fb2d0;white-space:nowrap}
.wall .legend .ramp{flex:1;height:1.2vh;border-radius:.3vh;background:linear-gradient(90deg,%RAMP%)}
.wall .side{display:grid;grid-template-rows:minmax(0,1.15fr) minmax(0,1fr);gap:1.1vh;min-height:0}
.wall .alert{background:#3a1420;border-left:.5vw solid #ff4d6d;border-radius:.6vh;padding:.7vh .7vw;margin-bottom:.8vh}
.wall .alert .what{font-size:2.1vh;font-weight:700;overflow:hidden;display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical}
.wall .alert .how{font-size:2.0vh;color:#ffd6dd;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.wall .calm{font-size:2.2vh;color:#52d68a}
.wall .ticker{grid-column:1/-1;background:#121c2e;border-radius:1vh;overflow:hidden;display:flex;align-items:center}
.wall .ticker .label{font-size:2vh;font-weight:700;color:#cfe0ff;padding:0 1vw;white-space:nowrap;background:#121c2e;z-index:1;height:100%;display:flex;align-items:center}
.wall .ticker .track{display:flex;white-space:nowrap;animation:wall-tick var(--dur) linear infinite;animation-delay:var(--delay)}
.wall .ticker .item{font-size:2.1vh;padding-right:3vw}
.wall .ticker .item b{color:#ffc857;font-weight:700}
@keyframes wall-tick{from{transform:translateX(0)}to{transform:translateX(-50%)}}
</style>
""".replace("%RAMP%", ",".join(RAMP)).replace("vh", "cqh").replace("vw", "cqw")


KIOSK_CSS = """
<style>
header[data-testid="stHeader"],[data-testid="stSidebar"],[data-testid="stSidebarCollapsedControl"],
[data-testid="stToolbar"],[data-testid="stDecoration"],[data-testid="stStatusWidget"],footer{display:none !important}
html,body,[data-testid="stAppViewContainer"],[data-testid="stMain"]{overflow:hidden !important;background:#0a101c !important}
.block-container{padding:0 !important}
</style>
"""


def svg_image(svg: str, testid: str, alt: str) -> str:
    """An inline SVG as an <img> with a data URI: st.html sanitises <svg> away, images it keeps,
    and a data URI needs no network."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img data-testid="{testid}" alt="{_e(alt)}" src="data:image/svg+xml;base64,{data}"/>'


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _value(v, hi: float, lang: str) -> str:
    """A map value: one decimal while the scale is small, none above ten (decimal comma in ru and kk)."""
    if v is None or pd.isna(v):
        return "—"
    return grammar.decimal(v, lang, 1 if hi < 10 else 0)


def _pct(x: float, lang: str, digits: int = 0) -> str:
    """A percent as every screen writes it (pipeline.grammar.percent), with the wall's narrow space."""
    return grammar.percent(x, lang, digits).replace(grammar.NBSP + "%", "\u202f%")


def _int(n) -> str:
    return grammar.fmt_int(n).replace(grammar.NBSP, "\u202f")  # the wall's narrow no-break space


short_name = charts.short_name


# ---- panels ----------------------------------------------------------------------------------
def header(snap: dict, lang: str, demo: bool) -> str:
    tz = ZoneInfo(settings.get("TZ"))
    now = snap["now"].astimezone(tz)
    scope = (reference.name(reference.regions(), snap["region"], lang) if snap["region"]
             else i18n.t("wall.scope.all", lang))
    badge = f'<span class="demo">{_e(i18n.t("wall.demo", lang))}</span>' if demo else ""
    return (f'<header><span class="title">{_e(i18n.t("wall.title", lang))}</span>'
            f'<span class="scope">{_e(scope)}</span>{badge}'
            f'<span class="when"><span class="clock">{now:%d.%m.%Y %H:%M}</span>'
            f'<span class="updated">{_e(i18n.t("wall.updated", lang, time=now.strftime("%H:%M:%S")))}</span></span></header>')


def kpis(snap: dict, lang: str) -> str:
    t, c = snap["today"], snap["cases"]
    if t["change_pct"] is None:
        today_sub, cls = i18n.t("wall.no_typical", lang), ""
    elif t["typical"] < 20:  # a percent of a handful of calls says more noise than news
        today_sub, cls = i18n.t("wall.typical_only", lang, typical=_int(round(t["typical"]))), ""
    else:
        today_sub = i18n.t("wall.vs_typical", lang, pct=("+" if t["change_pct"] >= 0 else "−") + _pct(abs(t["change_pct"]), lang), typical=_int(round(t["typical"])))
        cls = "bad" if t["change_pct"] > 25 else ""
    overdue_pct = _pct(100 * c["overdue"] / c["open"], lang) if c["open"] else "—"
    fb = c["feedback_in_time_pct"]
    n_alerts = len(snap["alerts"])
    said = lambda population, **kw: figures.caption(population, lang, territory_shown=False, short=True, **kw)  # noqa: E731
    tiles = [  # each figure's small line says what it counts (pipeline/figures.py, as on every screen)
        ("today", i18n.t("wall.today", lang), _int(t["today"]), cls, today_sub + " · " + said("today")),
        ("open", i18n.t("wall.open", lang), _int(c["open"]), "", said("open")),
        ("overdue", i18n.t("wall.overdue", lang), _int(c["overdue"]), "bad" if c["overdue"] else "good",
         i18n.t("wall.overdue.sub", lang, pct=overdue_pct) + " · " + said("overdue")),
        ("feedback", i18n.t("wall.feedback", lang), "—" if fb is None else _pct(fb, lang),
         "" if fb is None else ("good" if fb >= 90 else "warn" if fb >= 75 else "bad"),
         said("feedback_in_time", days=wall_queries.DAYS)),
        ("alerts", i18n.t("wall.alerts.count", lang), str(n_alerts), "bad" if n_alerts else "good",
         i18n.t("wall.alerts.count.sub", lang)),
    ]
    return '<div class="kpis">' + "".join(
        f'<div class="kpi" data-kpi="{key}"><div class="label">{_e(label)}</div>'
        f'<div class="value {cls}" id="wall-{key}">{_e(value)}</div><div class="sub" title="{_e(sub)}">{_e(sub)}</div></div>'
        for key, label, value, cls, sub in tiles) + "</div>"


def shares(snap: dict, lang: str) -> str:
    df = snap["shares"]
    colors = charts.category_colors()
    total = int(df["n"].sum()) if len(df) else 0
    top = df.head(TOP_CATEGORIES)
    rows = [(charts.category_names([r.category], lang)[0], r.pct, colors.get(r.category, "#888"), r.category)
            for r in top.itertuples()]
    rest = df.iloc[TOP_CATEGORIES:]
    if len(rest):
        rows.append((i18n.t("wall.other_categories", lang), float(rest["pct"].sum()), "#5c6b84", "rest"))
    scale = max([p for _, p, _, _ in rows] + [1.0])
    bars = "".join(
        f'<div class="bar" data-category="{_e(code)}"><span class="name">{_e(name)}</span>'
        f'<span class="track"><span class="fill" style="display:block;width:{100 * pct / scale:.1f}%;background:{color}"></span></span>'
        f'<span class="pct">{_pct(pct, lang, 1)}</span></div>' for name, pct, color, code in rows)
    return (f'<section class="panel shares"><h2>{_e(i18n.t("wall.shares", lang))}</h2>'
            f'<div class="sub">{_e(i18n.t("wall.shares.period", lang, n=_int(total)))}</div>'
            f'<div class="bars">{bars}</div></section>')


def map_svg(rings: pd.DataFrame, stats: pd.DataFrame, metric: str, lang: str, alerts: set[str],
            width: int = 1000, height: int = 1000) -> tuple[str, float, float]:
    """Three schematic maps in one SVG: the Aktobe region on top, Aktobe city and Shymkent side by
    side below; districts coloured by `metric`, surge districts outlined in red."""
    values, lo, hi = charts.metric_scale(stats, metric)
    placed, areas = geo.arrange(rings, width, height)
    parts, labels = [], []
    for area, (tx, ty, _) in areas.items():
        parts.append(f'<text x="{tx:.0f}" y="{ty:.0f}" fill="#9fb2d0" font-size="32">{_e(i18n.t("map.area." + area, lang))}</text>')
    for r in placed.itertuples():
        fs = 19 if r.area == "aktobe_region" else 22  # the region's northern cells are narrow
        v = values.get(r.code)
        d = "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in r.points) + "Z"
        stroke, sw = ("#ff4d6d", 4) if r.code in alerts else ("#0a101c", 1.5)
        parts.append(f'<path d="{d}" fill="{ramp(v, lo, hi)}" stroke="{stroke}" stroke-width="{sw}"/>')
        (cx, cy), val = r.label, _value(v, hi, lang)
        labels.append(f'<text x="{cx:.0f}" y="{cy:.0f}" text-anchor="middle" font-size="{fs}" '
                      f'fill="#fff" stroke="#0a101c" stroke-width="4" paint-order="stroke" font-weight="700">'
                      f'<tspan x="{cx:.0f}">{_e(short_name(r.code, lang))}</tspan>'
                      f'<tspan x="{cx:.0f}" dy="{fs + 2}">{val}</tspan></text>')
    parts.extend(labels)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" '
            f'font-family="DejaVu Sans, Arial, sans-serif">{"".join(parts)}</svg>'), lo, hi


def map_panel(snap: dict, rings: pd.DataFrame | None, metric: str, lang: str, error: str | None = None) -> str:
    title = i18n.t("wall.map." + metric, lang)
    if rings is None:
        return (f'<section class="panel map"><h2>{_e(title)}</h2>'
                f'<div class="sub">{_e(i18n.t("map.no_geometry", lang, error=error))}</div></section>')
    alerts = set(snap["alerts"]["district"]) if len(snap["alerts"]) else set()
    svg, lo, hi = map_svg(rings, snap["districts"], metric, lang, alerts)
    note = i18n.t("wall.schematic" if bool(rings["schematic"].any()) else "wall.official", lang)
    return (f'<section class="panel map"><h2>{_e(title)}</h2><div class="mapbox">{svg_image(svg, "wall-map", title)}</div>'
            f'<div class="legend"><span>{_value(lo, hi, lang)}</span><span class="ramp"></span><span>{_value(hi, hi, lang)}</span>'
            f'<span>· {_e(note)}</span></div></section>')


def alerts_panel(snap: dict, lang: str, limit: int = 4) -> str:
    a = snap["alerts"]
    items = []
    for r in a.head(limit).itertuples():
        what = f"{charts.category_names([r.category], lang)[0]} · {short_name(r.district, lang)}"
        how = i18n.t("wall.alert.line", lang, n=int(r.observed), e=f"{r.expected:.0f}")
        items.append(f'<div class="alert" data-alert="{_e(r.category)}:{_e(r.district)}"><div class="what">{_e(what)}</div>'
                     f'<div class="how">{_e(how)}</div></div>')
    if len(a) > limit:
        items.append(f'<div class="sub">{_e(i18n.t("wall.alerts.more", lang, n=len(a) - limit))}</div>')
    body = "".join(items) or f'<div class="calm">{_e(i18n.t("wall.alerts.none", lang))}</div>'
    return f'<section class="panel alerts"><h2>{_e(i18n.t("wall.alerts", lang))}</h2>{body}</section>'


def trend_svg(trend: pd.DataFrame, lang: str, width: int = 600, height: int = 260) -> str:
    left, right, top, bottom = 62, 10, 28, 30
    ys = [v for v in list(trend["n"]) + list(trend["last_year"].dropna()) if v is not None]
    ymax = max(ys + [1]) * 1.1
    n = len(trend)
    x = lambda i: left + (width - left - right) * (i / max(n - 1, 1))  # noqa: E731
    y = lambda v: top + (height - top - bottom) * (1 - v / ymax)  # noqa: E731

    def line(values, color, dash=""):
        pts = [f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values) if v is not None and not pd.isna(v)]
        return (f'<polyline points="{" ".join(pts)}" fill="none" stroke="{color}" stroke-width="4" '
                f'stroke-linejoin="round" {dash}/>') if len(pts) > 1 else ""

    days = list(trend["day"])
    fmt = lambda d: pd.Timestamp(d).strftime("%d.%m")  # noqa: E731
    grid = "".join(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#26344d"/>'
                   f'<text x="{left - 8}" y="{y(v) + 7:.1f}" text-anchor="end" font-size="20" fill="#9fb2d0">{_int(v)}</text>'
                   for v in (0, ymax / 2 / 1.1 * 1.1, ymax / 1.1))
    axis = (f'<text x="{left}" y="{height - 4}" font-size="20" fill="#9fb2d0">{fmt(days[0]) if days else ""}</text>'
            f'<text x="{width - right}" y="{height - 4}" font-size="20" fill="#9fb2d0" text-anchor="end">{fmt(days[-1]) if days else ""}</text>')
    legend = (f'<rect x="{left}" y="4" width="26" height="5" fill="#4cc9f0"/><text x="{left + 32}" y="14" font-size="20" fill="#eef3fb">'
              f'{_e(i18n.t("wall.trend.this_year", lang))}</text>'
              f'<rect x="{left + 230}" y="4" width="26" height="5" fill="#8d99ae"/><text x="{left + 262}" y="14" font-size="20" fill="#eef3fb">'
              f'{_e(i18n.t("wall.trend.last_year", lang))}</text>')
    last_year = line(trend["last_year"].tolist(), "#8d99ae", 'stroke-dasharray="10 7"')
    this_year = line(trend["n"].tolist(), "#4cc9f0")
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" '
            f'font-family="DejaVu Sans, Arial, sans-serif">{grid}{axis}{legend}{last_year}{this_year}</svg>')


def trend_panel(snap: dict, lang: str) -> str:
    return (f'<section class="panel trend"><h2>{_e(i18n.t("wall.trend", lang))}</h2>'
            f'{svg_image(trend_svg(snap["trend"], lang), "wall-trend", i18n.t("wall.trend", lang))}</section>')


def ticker(snap: dict, lang: str) -> str:
    tz = ZoneInfo(settings.get("TZ"))
    items = "".join(
        f'<span class="item"><b>{pd.Timestamp(r.received_at).tz_convert(tz):%H:%M}</b> · '
        f'{_e(charts.category_names([r.category or "other"], lang)[0])} · {_e(short_name(r.district, lang) if r.district else "—")} · '
        f'<span class="said">{_e(r.text)}</span></span>' for r in snap["latest"].itertuples())
    # The strip's position follows the wall clock, so a refresh that replaces it does not make it jump.
    dur = max(60, 6 * len(snap["latest"]))
    delay = -(snap["now"].timestamp() % dur)
    return (f'<div class="ticker"><span class="label">{_e(i18n.t("wall.latest", lang))}</span>'
            f'<div class="track" style="--dur:{dur}s;--delay:{delay:.1f}s">{items}{items}</div></div>')


def incidents_line(snap: dict, lang: str) -> str:
    """Today's reports about one event by many people, a plain line in the header (nothing when
    there are none)."""
    c = snap.get("incidents") or {}
    if not c.get("incidents"):
        return ""
    return f'<span class="updated incidents" data-testid="wall-incidents">{_e(incident_queries.line(c, lang))}</span>'


def render(snap: dict, lang: str, rings: pd.DataFrame | None, metric: str = "per_10k", demo: bool = False,
           kiosk: bool = True, map_error: str | None = None) -> str:
    """The whole wall as HTML; `metric` is per_10k or overdue_share. Outside kiosk mode the wall
    sits inside the page (below the menus) instead of covering the screen."""
    frame = "wallframe" if kiosk else "wallframe embedded"
    head = header(snap, lang, demo).replace('<span class="when">', incidents_line(snap, lang) + '<span class="when">', 1)
    return (CSS + f'<div class="wallphone" data-testid="wall-phone">{_e(i18n.t("wall.large_screen", lang))}</div>'
            + f'<div class="{frame}"><div class="wall" data-testid="wall">' + head + kpis(snap, lang)
            + shares(snap, lang) + map_panel(snap, rings, metric, lang, map_error)
            + f'<div class="side">{alerts_panel(snap, lang)}{trend_panel(snap, lang)}</div>'
            + ticker(snap, lang) + "</div></div>")
