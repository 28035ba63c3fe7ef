"""QR-code placements: the registry (list, add, edit, take down, CSV import), each placement's code
and poster to download, and what each placement brings in (proposals per week, silent placements)."""
import streamlit as st

from pipeline import placements, posters, reference
from ui import core
from ui import placements as ui

viewer = core.page_guard("page:placements")
t = core.t
st.title(t("placements.title"))
st.caption(t("placements.caption"))
st.code(f"{posters.form_url()}/p/{t('placements.code_word')}", language=None)
if posters.local_form_url():  # printed codes would open nothing on a resident's phone
    st.warning(t("placements.local_url", url=posters.form_url()))
regions = reference.in_order(reference.regions(), core.lang())
region = st.selectbox(t("filter.region"), [None, *regions], key="pl_region",
                      format_func=lambda r: t("filter.all") if r is None else ui.region_name(r),
                      placeholder=core.t("widget.choose"))
may_edit = viewer.can("placements")
ui.show_done()
registry_tab, codes_tab, stats_tab = st.tabs([t("placements.tab.registry"), t("placements.tab.codes"),
                                              t("placements.tab.stats")])

with registry_tab:
    left, right = st.columns(2)
    status = left.selectbox(t("placements.filter.status"), [None, True, False], key="pl_status",
                            format_func=lambda s: t("filter.all") if s is None else
                            t("placements.status.active" if s else "placements.status.inactive"),
                            placeholder=core.t("widget.choose"))
    q = right.text_input(t("placements.search"), key="pl_q")
    frame = ui.registry(viewer, region, status, q)
    st.caption(t("placements.count", n=core.num(len(frame)), active=core.num(frame["active"].sum())))
    st.dataframe(ui.registry_table(frame), hide_index=True, height=360)
    if not may_edit:
        st.info(t("placements.read_only"))
    else:
        with st.expander(t("placements.add")):
            record = ui.fields_form("pl_add", None)
            if record is not None and (code := ui.act(placements.add, viewer, record)):
                ui.done(t("placements.added", code=code))
        with st.expander(t("placements.edit")):
            everything = ui.registry(viewer)
            rows = {r["code"]: r for r in everything.to_dict("records")}
            code = st.selectbox(t("placements.pick"), list(rows), key="pl_edit_pick",
                                format_func=lambda c: ui.label(rows[c]), placeholder=core.t("widget.choose"))
            if code:
                record = ui.fields_form(f"pl_edit_{code}", rows[code])
                if record is not None:
                    changed = ui.act(placements.edit, viewer, code, record)
                    if changed:
                        ui.done(t("placements.saved", fields=", ".join(t(f"placements.col.{f}") for f in changed)))
                    elif changed is not None:
                        st.info(t("placements.unchanged"))
                active = bool(rows[code]["active"])
                if st.button(t("placements.deactivate" if active else "placements.activate"), key=f"pl_toggle_{code}"):
                    if ui.act(placements.set_active, viewer, code, not active):
                        ui.done(t("placements.deactivated" if active else "placements.activated", code=code))
        with st.expander(t("placements.import")):
            st.caption(t("placements.import_help"))
            st.code(",".join(placements.COLUMNS), language=None)
            upload = st.file_uploader(t("placements.import_file"), type=["csv", "txt"], key="pl_import_file")
            if st.button(t("placements.import_button"), key="pl_import", disabled=upload is None):
                counts = ui.act(placements.import_csv, viewer, upload.getvalue(), upload.name)
                if counts is not None:
                    ui.done(t("placements.imported", **counts))

with codes_tab:
    frame = ui.registry(viewer, region)
    if frame.empty:
        st.info(t("placements.codes.none"))
    else:
        rows = {r["code"]: r for r in frame.to_dict("records")}
        size = st.radio(t("placements.codes.size"), list(posters.SIZES), format_func=str.upper, horizontal=True,
                        key="pl_size")
        code = st.selectbox(t("placements.codes.pick"), list(rows), format_func=lambda c: ui.label(rows[c]),
                            key="pl_code", placeholder=core.t("widget.choose"))
        row = rows[code]
        left, right = st.columns([1, 2])
        left.image(ui.png(code, posters.form_url()), width=220)
        with right:
            st.caption(t("placements.codes.url"))
            st.code(posters.url(code), language=None)
            if not row["active"]:
                st.warning(t("placements.codes.inactive"))
            ui.downloads(row, size)
        st.divider()
        ui.all_posters([r for r in rows.values() if r["active"]], size, region)

with stats_tab:
    left, right = st.columns(2)
    weeks = left.number_input(t("placements.stats.weeks"), min_value=1, max_value=104, value=8, step=1, key="pl_weeks")
    page_no = right.number_input(t("placements.stats.page"), min_value=1, value=1, step=1, key="pl_page")
    page, count, weekly, silent, unknown = ui.stats(viewer, int(weeks), region, int(page_no))
    st.subheader(t("placements.stats.per_week"))
    st.caption(t("placements.stats.caption") + " " + t("placements.stats.pages", page=int(page_no), pages=ui.pages(count)))
    if weekly.empty:
        st.info(t("placements.stats.none"))
    st.dataframe(ui.week_table(page, weekly, int(weeks)), hide_index=True)
    st.subheader(t("placements.stats.silent", weeks=int(weeks)))
    if silent.empty:
        st.info(t("placements.stats.silent_none"))
    else:
        st.dataframe(ui.silent_table(silent), hide_index=True)
    if not unknown.empty:
        st.subheader(t("placements.stats.unknown"))
        st.dataframe(ui.unknown_table(unknown), hide_index=True)
