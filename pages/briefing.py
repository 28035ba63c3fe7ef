"""Briefing: the akim's facts for a period and territory in Russian or Kazakh, every figure a link
to the explorer view that produces it; PDF and DOCX to download; briefings kept by scheduled runs."""
import datetime as dt

import streamlit as st

from pipeline.briefing import Period, parse_territory
from ui import briefing as ub, core, data

viewer = core.page_guard("page:briefing")
lang = core.lang()
st.title(core.t("nav.briefing"))
core.demo_banner()

last_day = data.date_range()[1] or dt.date.today()
c1, c2, c3, c4 = st.columns([1, 2, 2, 1])
kind = c1.selectbox(core.t("brief.page.period_kind"), ["month", "week", "quarter", "custom"], key="br_kind",
                    format_func=lambda k: core.t(f"brief.page.kind.{k}"), placeholder=core.t("widget.choose"))
if kind == "custom":
    picked = c2.date_input(core.t("brief.page.which"), value=(last_day.replace(day=1), last_day), format="DD.MM.YYYY",
                           key="br_dates")
    start, end = (picked[0], picked[-1]) if isinstance(picked, (tuple, list)) and picked else (last_day, last_day)
    period = Period("custom", start, end)
else:
    options = ub.period_options(kind, last_day)
    period = c2.selectbox(core.t("brief.page.which"), options, index=ub.default_index(options, last_day),
                          key=f"br_which_{kind}", format_func=lambda p: p.label(lang),
                          placeholder=core.t("widget.choose"))
territory_code = c3.selectbox(core.t("brief.page.territory"), ub.territory_options(lang), key="br_territory",
                              format_func=lambda c: ub.territory_name(c, lang), placeholder=core.t("widget.choose"))
text_lang = c4.selectbox(core.t("brief.page.lang"), ["ru", "kk", "en"], index=["ru", "kk", "en"].index(lang),
                         key="br_lang", format_func=lambda x: {"ru": "Русский", "kk": "Қазақша", "en": "English"}[x],
                         placeholder=core.t("widget.choose"))
territory = parse_territory(territory_code)

brief = data.briefing(period, territory, text_lang)
st.subheader(brief.title)
st.caption(brief.subtitle + " " + core.t("brief.page.links"))
d1, d2, _ = st.columns([1, 1, 3])
name = f"briefing_{period.code.replace('..', '_')}_{territory.code}_{text_lang}"
d1.download_button(core.t("brief.page.download_pdf"), data=lambda: data.briefing_document(period, territory, text_lang, "pdf"),
                   file_name=f"{name}.pdf", mime="application/pdf", icon=":material/picture_as_pdf:", key="br_pdf")
d2.download_button(core.t("brief.page.download_docx"), data=lambda: data.briefing_document(period, territory, text_lang, "docx"),
                   file_name=f"{name}.docx", icon=":material/description:", key="br_docx",
                   mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
st.html(ub.STYLE)
for sec in brief.sections:
    st.markdown(f"#### {sec.title}")  # our own heading words from data/i18n, not residents' text
    st.html(ub.section_html(sec, brief))

st.divider()
kept, folder = data.kept_briefings()
st.subheader(core.t("brief.page.kept"), help=core.t("brief.page.kept.help"))
if kept.empty:
    # the command that fills the folder is for whoever sets up the schedule (an administrator), and
    # it is this page's territory and language, not an example's
    if viewer.can("users"):
        st.caption(core.t("brief.page.kept.none"))
        st.code(f"python -m pipeline briefing --period last-month --territory {territory.code} --lang {text_lang} "
                f"--keep {folder}", language="bash")
    else:
        st.caption(core.t("brief.page.kept.none_ask"))
else:
    for row in kept.head(50).itertuples():
        k1, k2 = st.columns([4, 1])
        k1.text(f"{row.name} · {row.modified:%d.%m.%Y %H:%M} · {core.t('brief.page.kb', n=max(1, row.size // 1024))}")
        k2.download_button("⬇", data=lambda n=row.name: data.kept_briefing(n), file_name=row.name, key=f"br_kept_{row.name}")
