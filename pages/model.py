"""The classifier model: when and on what it was trained, its quality, what drives it; retrain, roll back."""
import pandas as pd
import streamlit as st

from pipeline import classify, settings, train
from pipeline.queries import review
from ui import cases, charts_model, core

viewer = core.page_guard("page:model")
st.title(core.t("model.title"))
classify.ensure_model()  # trains the first model from the corpus when there is none yet
info = classify.model_info()
b1, b2 = st.columns(2)
if viewer.can("model") and b1.button(core.t("model.retrain"), type="primary"):
    try:
        with st.spinner("…"):
            train.retrain(core.cursor(), viewer)
        st.rerun()
    except train.LabelledDataError as exc:
        if exc.code == "thin":
            st.error(core.t("model.error.thin", categories=", ".join(cases.category_name(c) for c in exc.params["categories"])))
        else:  # a corpus file the page cannot fix: the message names the file and the rows
            st.error(core.t("model.error.other", why=str(exc)))
if viewer.can("model") and info is not None and info.get("previous") and b2.button(core.t("model.rollback")):
    train.rollback(viewer)
    st.rerun()
if info is None:
    st.warning(core.t("model.none"))
    st.stop()
if train.needs_cross_validation(info):  # first use: measured in the background since the start
    with st.spinner(core.t("model.cv.running")):
        info = train.ensure_cross_validation(info["version"]) or info

def note(code: str) -> str:
    """Notes are codes (first_use, model_page, ...); older versions kept English sentences."""
    key = f"model.note.{train.note_code(code)}"
    text = core.t(key)
    return "" if text == key else text


threshold = settings.get_float("REVIEW_THRESHOLD")
own = review.own_accuracy(core.cursor(), threshold)
cv = info.get("cross_validation") or {}
cv_accuracy = (sum(cv["confusion"][i][i] for i in range(len(cv["confusion"]))) / max(cv.get("texts") or 1, 1)
               if cv.get("confusion") else None)
m = st.columns(4)
versions = [v["version"] for v in train.versions()]


def macro_f1(version: dict) -> str:
    f1 = (version.get("cross_validation") or {}).get("macro_f1")
    return "—" if f1 is None else core.decimal(f1, 3)


def number(version: str) -> str:
    """A version as staff name it: its number in the order of training (the folder's name is a UTC stamp)."""
    return f"№\u202f{versions.index(version) + 1}" if version in versions else "—"


m[0].metric(core.t("model.version"), number(info["version"]))
m[1].metric(core.t("model.trained"), cases.when(pd.Timestamp(info["trained_at"])))
m[2].metric(core.t("model.cv", folds=cv.get("folds", 5)), macro_f1(info),
            help=core.t("model.cv.help", folds=cv.get("folds", 5)))
m[3].metric(core.t("model.own"), core.share(own["accuracy"], 1),
            help=core.t("model.own.help"))
if own["decisions"]:
    st.caption(core.t("model.own.caption", n=core.num(own["decisions"]), audit=core.num(own["audit"]),
                      low=core.share(own["low"], 1), high=core.share(own["high"], 1),
                      cv=core.share(cv_accuracy, 1)))
else:  # no "right: below the threshold —, above it —"
    st.caption(core.t("model.own.caption_none", cv=core.share(cv_accuracy, 1)))
if own["accuracy"] is not None and cv_accuracy is not None and own["audit"] >= 30 and cv_accuracy - own["accuracy"] > 0.10:
    st.warning(core.t("model.own.diverge", own=core.share(own["accuracy"], 1), cv=core.share(cv_accuracy, 1)))
st.caption(core.t("model.sizes", **{k: core.num(v) for k, v in info["sizes"].items()}))
adaptation = info.get("adaptation")
if adaptation and adaptation.get("pseudo_labelled"):
    st.subheader(core.t("model.adaptation"))
    st.caption(core.t("model.adaptation.caption", n=core.num(adaptation["unlabelled"]), k=core.num(adaptation["pseudo_labelled"]),
                      changed=core.pct(adaptation["labels_changed_pct"])))
    before, after = adaptation["shares_before"], adaptation["shares_after"]
    codes = sorted(set(before) | set(after), key=lambda c: -after.get(c, 0))
    st.table(pd.DataFrame({core.t("common.category"): [cases.category_name(c) for c in codes],
                           core.t("model.adaptation.before"): [core.pct(before.get(c, 0)) for c in codes],
                           core.t("model.adaptation.after"): [core.pct(after.get(c, 0)) for c in codes]}), hide_index=True)
if cv.get("macro_f1") is None:
    st.caption(core.t("model.not_cv"))
else:
    st.subheader(core.t("model.per_class"))
    per = pd.DataFrame(cv["per_class"]).T
    # every share with three digits and the counts as counts (the grid showed 0.9 beside 0.907), in a
    # table that wraps its names on a phone instead of pushing the figures out of sight
    shown = {core.t("common.category"): [cases.category_name(c) for c in per.index]}
    shown |= {core.t(f"model.metric.{c}"): [core.num(v) if c == "support" else core.decimal(v, 3) for v in per[c]]
              for c in per.columns}
    st.table(pd.DataFrame(shown), hide_index=True)
    st.subheader(core.t("model.confusion"))
    names = [cases.category_name(c) for c in cv["classes"]]
    st.plotly_chart(charts_model.confusion(cv["confusion"], names, core.t("model.confusion.true"),
                                           core.t("model.confusion.predicted")),
                    width="stretch", config={"displayModeBar": False})
    st.caption(charts_model.key(names))
st.subheader(core.t("model.words"))
st.table(pd.DataFrame({core.t("common.category"): [cases.category_name(c) for c in info["top_words"]],
                       "": [", ".join(w) for w in info["top_words"].values()]}), hide_index=True)
st.subheader(core.t("model.versions"))
st.table(pd.DataFrame([{core.t("model.version"): number(v["version"]), core.t("model.trained"): cases.when(
    pd.Timestamp(v["trained_at"])), core.t("model.macro_f1"): macro_f1(v),
    "": note(v.get("note", ""))} for v in reversed(train.versions())]), hide_index=True)
