"""Router: page config, sign-in, language switch, navigation. Nothing else."""
import streamlit as st

from ui import core

st.set_page_config(page_title="Situation Centre", page_icon="📊", layout="wide")
if not core.kiosk():  # a wall screen takes its language from the URL and shows no menus
    core.language_switch()
viewer = core.viewer()
t = core.t

sections = {
    "nav.section.monitor": [("pages/overview.py", "nav.overview", "overview", "page:overview"),
                            ("pages/explorer.py", "nav.explorer", "explorer", "page:explorer"),
                            ("pages/wall.py", "nav.wall", "wall", "page:wall"),
                            ("pages/briefing.py", "nav.briefing", "briefing", "page:briefing")],
    "nav.section.work": [("pages/intake.py", "nav.intake", "intake", "page:intake"),
                         ("pages/deadlines.py", "nav.deadlines", "deadlines", "page:deadlines")],
    "nav.section.ai": [("pages/review.py", "nav.review", "review", "page:review"),
                       ("pages/model.py", "nav.model", "model", "page:model")],
    "nav.section.residents": [("pages/ideas.py", "nav.ideas", "ideas", "page:ideas"),
                              ("pages/placements.py", "nav.placements", "placements", "page:placements")],
    "nav.section.admin": [("pages/admin.py", "nav.admin", "admin", "page:admin")],
}
# The pages the viewer's role allows, the first one the default (a wall token lands on the wall);
# before sign-in every page is registered but hidden, so a deep link keeps its address through the
# sign-in form, and none of them runs. Each page checks its permission again itself.
# A wall screen's only page is the wall, which Streamlit would serve at "/" alone and answer
# /wall?token=... with "page not found" over the screen: for a wall token the root is a hidden page
# that moves on to /wall. (For people the first page stays the default at "/": a hidden root
# page broke the language radio on a cold deep link.)
wall_screen = viewer is not None and viewer.role == "wall"
pages, first = {}, None
for section, items in sections.items():
    allowed = [(path, title, url) for path, title, url, permission in items if viewer is None or viewer.can(permission)]
    if allowed:
        pages[t(section)] = [st.Page(path, title=t(title), url_path=url, default=first is None and i == 0 and not wall_screen)
                             for i, (path, title, url) in enumerate(allowed)]
        first = first or pages[t(section)][0]
if wall_screen:
    pages[""] = [st.Page(lambda: core.go_to(first), title=t("app.title"), url_path="home", default=True,
                         visibility="hidden")]
page = st.navigation(pages, position="hidden" if core.kiosk() or viewer is None else "sidebar")
# The store after the menu: on the first start it builds the demo for a while, and until
# st.navigation has run Streamlit shows its own list of the files in pages/ in the sidebar.
core.app_store()
if viewer is None:
    core.sign_in_form()  # stops the run
core.sign_out_button()
core.run_page(page)
