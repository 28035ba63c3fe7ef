"""The classifier model: when and on what it was trained, its quality, what drives it; retrain, roll back."""
import pandas as pd
import streamlit as st

from pipeline import classify, train
from ui import cases, charts_model, core

core.page_guard()
st.title(core.t("model.title"))
classify.load_model()  # trains the first model from the corpus when there is none yet
info = classify.model_info()
b1, b2 = st.columns(2)
if b1.button(core.t("model.retrain"), type="primary"):
    try:
        with st.spinner("…"):
            train.train_and_save(con=core.cursor(), note="retrained from the model page")
        st.rerun()
    except train.LabelledDataError as exc:
        st.error(str(exc))
if info is not None and info.get("previous") and b2.button(core.t("model.rollback")):
    train.rollback()
    st.rerun()
if info is None:
    st.warning(core.t("model.none"))
    st.stop()

m = st.columns(3)
m[0].metric(core.t("model.version"), info["version"][:15])
m[1].metric(core.t("model.trained"), cases.when(pd.Timestamp(info["trained_at"])))
cv = info.get("cross_validation") or {}
m[2].metric(core.t("model.cv"), "—" if cv.get("macro_f1") is None else f"{cv['macro_f1']:.3f}")
st.caption(core.t("model.sizes", **info["sizes"]))
if cv.get("macro_f1") is None:
    st.caption(core.t("model.not_cv"))
else:
    st.subheader(core.t("model.per_class"))
    per = pd.DataFrame(cv["per_class"]).T
    per.index = [cases.category_name(c) for c in per.index]
    st.dataframe(per, width="stretch")
    st.subheader(core.t("model.confusion"))
    st.plotly_chart(charts_model.confusion(cv["confusion"], [cases.category_name(c) for c in cv["classes"]]),
                    width="stretch", config={"displayModeBar": False})
st.subheader(core.t("model.words"))
st.table(pd.DataFrame({core.t("common.category"): [cases.category_name(c) for c in info["top_words"]],
                       "": [", ".join(w) for w in info["top_words"].values()]}), hide_index=True)
st.subheader(core.t("model.versions"))
st.table(pd.DataFrame([{core.t("model.version"): v["version"][:15], core.t("model.trained"): cases.when(
    pd.Timestamp(v["trained_at"])), "macro-F1": (v.get("cross_validation") or {}).get("macro_f1"),
    "": v.get("note", "")} for v in reversed(train.versions())]), hide_index=True)
