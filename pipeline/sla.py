"""Initial case fields for new submissions: priority, department, feedback and resolution deadlines.

Contract: initial_case_fields(frame) with columns received_at (tz-aware), category, text, district
returns a frame with the same index and columns priority, department, feedback_due_at, due_at.
This first version uses calendar days; the working-calendar rules replace it.
"""
from __future__ import annotations

import pandas as pd


def initial_case_fields(frame: pd.DataFrame) -> pd.DataFrame:
    received = pd.to_datetime(frame["received_at"], utc=True)
    return pd.DataFrame(
        {
            "priority": "normal",
            "department": frame["category"].astype(str) + "_dept",
            "feedback_due_at": received + pd.Timedelta(days=1),
            "due_at": received + pd.Timedelta(days=21),
        },
        index=frame.index,
    )
