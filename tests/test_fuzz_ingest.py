"""Hostile ingest files: whatever arrives, the ingest never crashes, says what it could not read in
one line, and accounts for every record: read = inserted + duplicates + quarantined."""
import pandas as pd

from pipeline import ingest

HEADER = "№ обращения;Дата поступления;Текст обращения\n"


def test_dates_outside_any_plausible_year_are_quarantined_not_a_crash(tmp_path):
    # pandas parses '-1' as the year -1 and '0001-01-01' as the year 1, then cannot move either
    # to UTC (NotImplementedError): one such cell ended the whole ingest.
    path = tmp_path / "years.csv"
    path.write_text(HEADER + "1;-1;Яма\n2;0001-01-01;Яма\n3;0001-01-01T10:00:00+05:00;Яма\n"
                    "4;01.02.2026 10:00;Не горит фонарь\n", encoding="utf-8")
    prepared = ingest.prepare(path)
    assert prepared.rows["source_id"].tolist() == ["4"]
    assert [(no, reason.split(" (")[0]) for no, reason in prepared.quarantine[["record_no", "reason"]].values] == [
        (2, "unparseable date '-1'"), (3, "unparseable date '0001-01-01'"),
        (4, "unparseable date '0001-01-01T10:00:00+05:00'")]
