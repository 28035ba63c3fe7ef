"""Router: page config, login gate, language switch, navigation. Nothing else."""
import streamlit as st

from ui import core

st.set_page_config(page_title="Situation Centre", page_icon="📊", layout="wide")
core.app_store()
if not core.kiosk():  # a wall screen takes its language from the URL and shows no menus
    core.language_switch()
t = core.t

pages = {
    t("nav.section.monitor"): [
        st.Page("pages/overview.py", title=t("nav.overview"), url_path="overview", default=True),
        st.Page("pages/wall.py", title=t("nav.wall"), url_path="wall"),
    ],
    t("nav.section.work"): [
        st.Page("pages/intake.py", title=t("nav.intake"), url_path="intake"),
        st.Page("pages/deadlines.py", title=t("nav.deadlines"), url_path="deadlines"),
    ],
    t("nav.section.ai"): [
        st.Page("pages/review.py", title=t("nav.review"), url_path="review"),
        st.Page("pages/model.py", title=t("nav.model"), url_path="model"),
    ],
}
page = st.navigation(pages, position="hidden" if core.kiosk() else "sidebar")
with core.routed():
    page.run()
