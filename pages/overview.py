"""Placeholder until its issue lands."""
import streamlit as st

from ui import core

core.page_guard()
st.title(core.t("nav.overview"))
core.demo_banner()
