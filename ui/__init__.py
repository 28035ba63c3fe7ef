"""Shared Streamlit code: app state, widgets and chart builders. Pages import from here."""
