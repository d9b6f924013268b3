"""The replay's pure parts: cutoffs, monthly batches, landing, the timeline."""

from __future__ import annotations

import csv
from datetime import date

from clv_warehouse import replay


def test_default_cutoffs_are_the_month_ends_of_the_second_year():
    cutoffs = replay.default_cutoffs(date(2009, 12, 1))
    assert cutoffs[0] == date(2010, 12, 31)
    assert cutoffs[-1] == date(2011, 11, 30)
    assert len(cutoffs) == 12
    assert date(2011, 2, 28) in cutoffs


def test_month_ends_cross_the_year_and_leap_february():
    assert replay.month_ends(date(2011, 11, 15), date(2012, 2, 1)) == [
        date(2011, 11, 30),
        date(2011, 12, 31),
        date(2012, 1, 31),
        date(2012, 2, 29),
    ]


def test_split_by_month_keeps_every_row_and_quoting(tmp_path):
    source = tmp_path / "lines.csv"
    rows = [
        ["Invoice", "StockCode", "Description", "InvoiceDate", "Customer ID"],
        ["1", "A", "BALL, RED", "2010-01-31 23:59:00", "12346.0"],
        ["2", "B", 'SAY "HI"', "2010-02-01 00:00:00", ""],
        ["3", "C", "CUP", "2010-01-02 10:00:00", "7"],
    ]
    with source.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    batches = replay.split_by_month(source, tmp_path / "batches")
    assert list(batches) == ["2010-01", "2010-02"]
    with batches["2010-01"].open(newline="") as fh:
        assert list(csv.reader(fh)) == [rows[0], rows[1], rows[3]]
    with batches["2010-02"].open(newline="") as fh:
        assert list(csv.reader(fh)) == [rows[0], rows[2]]

    landing = tmp_path / "landing"
    assert replay.land(batches, landing, date(2010, 1, 31)) == 1
    assert sorted(p.name for p in landing.iterdir()) == ["batch_2010_01.csv"]
    assert replay.land(batches, landing, date(2010, 2, 28)) == 2
    assert len(list(landing.iterdir())) == 2


def test_timeline_lines_show_decisions_versions_and_reasons():
    rows = [
        {
            "scoring_cutoff_date": "2011-01-01",
            "task": "churn",
            "decision": "retrain",
            "triggers": "no_champion",
            "reasons": "no champion yet",
            "champion_version_before": None,
            "trained_version": 1,
            "champion_version_after": 1,
            "registry_decision": "new champion: no champion yet",
            "realized_metric_value": float("nan"),
            "max_psi": None,
        },
        {
            "scoring_cutoff_date": "2011-02-01",
            "task": "churn",
            "decision": "keep",
            "triggers": "none",
            "reasons": "no trigger",
            "champion_version_before": 1,
            "trained_version": None,
            "champion_version_after": 1,
            "registry_decision": None,
            "realized_metric_value": 0.8123,
            "max_psi": 0.0412,
        },
    ]
    header, first, second = replay.timeline_lines(rows)
    assert "decision" in header
    assert "-->v1" in first
    assert first.endswith("no champion yet => v1 new champion: no champion yet")
    assert "keep" in second and "0.812" in second and "0.041" in second
