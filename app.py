"""Router: page config, sign-in, language switch, navigation. Nothing else."""
import streamlit as st

from ui import core

st.set_page_config(page_title="Situation Centre", page_icon="📊", layout="wide")
core.app_store()
if not core.kiosk():  # a wall screen takes its language from the URL and shows no menus
    core.language_switch()
viewer = core.viewer()
t = core.t

sections = {
    "nav.section.monitor": [("pages/overview.py", "nav.overview", "overview", "page:overview"),
                            ("pages/explorer.py", "nav.explorer", "explorer", "page:explorer"),
                            ("pages/wall.py", "nav.wall", "wall", "page:wall")],
    "nav.section.work": [("pages/intake.py", "nav.intake", "intake", "page:intake"),
                         ("pages/deadlines.py", "nav.deadlines", "deadlines", "page:deadlines")],
    "nav.section.ai": [("pages/review.py", "nav.review", "review", "page:review"),
                       ("pages/model.py", "nav.model", "model", "page:model")],
    "nav.section.admin": [("pages/admin.py", "nav.admin", "admin", "page:admin")],
}
# The pages the viewer's role allows, the first one the default (a wall token lands on the wall);
# before sign-in every page is registered but hidden, so a deep link keeps its address through the
# sign-in form, and none of them runs. Each page checks its permission again itself.
pages, default_set = {}, False
for section, items in sections.items():
    allowed = [(path, title, url) for path, title, url, permission in items if viewer is None or viewer.can(permission)]
    if allowed:
        pages[t(section)] = [st.Page(path, title=t(title), url_path=url, default=not default_set and i == 0)
                             for i, (path, title, url) in enumerate(allowed)]
        default_set = True
page = st.navigation(pages, position="hidden" if core.kiosk() or viewer is None else "sidebar")
if viewer is None:
    core.sign_in_form()  # stops the run
core.sign_out_button()
with core.routed():
    page.run()
