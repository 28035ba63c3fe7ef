"""Situation Centre data pipeline: store, ingest, classifier, workflow. Never imports streamlit."""
