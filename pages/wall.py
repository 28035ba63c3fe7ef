"""Wall display: the centre's big screen, refreshed in place every SC_WALL_REFRESH seconds.

URL: /wall?kiosk=1 (no menus, no scrolling), &lang=kk, &region=shymkent, &metric=overdue_share.
Without a metric the map alternates between submissions per 10,000 residents and overdue share.
"""
import datetime as dt

import streamlit as st

from pipeline import reference, settings
from ui import core, data, wall

core.page_guard("page:wall")
lang = core.lang()
kiosk = core.kiosk()
region = st.query_params.get("region")
region = region if region in reference.regions()["code"].tolist() else None  # unknown: the whole area
fixed_metric = st.query_params.get("metric")
refresh = max(2, settings.get_int("WALL_REFRESH"))
if kiosk:
    st.html(wall.KIOSK_CSS)
else:
    st.link_button(core.t("wall.open_kiosk"), f"?kiosk=1&lang={lang}")


@st.fragment(run_every=refresh)
def screen() -> None:
    now = dt.datetime.now(dt.timezone.utc)
    snap = data.wall_snapshot(region, now, refresh)
    rings, error = data.district_rings()
    metric = fixed_metric if fixed_metric in wall.METRICS else wall.METRICS[int(now.timestamp() // (2 * refresh)) % 2]
    st.html(wall.render(snap, lang, rings, metric, demo=core.is_demo(), kiosk=kiosk, map_error=error))


screen()
