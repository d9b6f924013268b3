"""The replay's pure parts (cutoffs, monthly batches, landing, the timeline), and
a small replay end to end (slow): the churn wave fires drift and accuracy_drop."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest

from clv_warehouse import replay

PROJECT = Path(__file__).resolve().parents[2]
CUSTOMERS = 3000


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


# -- end to end --------------------------------------------------------------------
# A smaller replay than `make replay` (fewer customers, four builds instead of
# twelve, only what the retrain decisions need), with the default thresholds: the
# churn wave from 2011-04-01 must fire drift and then accuracy_drop, and neither
# may fire before it.
CHANGE_AT = date(2011, 4, 1)
CUTOFFS = [date(2010, 12, 31), date(2011, 3, 31), date(2011, 5, 31), date(2011, 8, 31)]
SELECT = [
    "--select",
    "+ml_retrain_decisions",
    "+ml_prediction_log",
    "--indirect-selection",
    "cautious",
]


@pytest.mark.slow
def test_churn_wave_fires_drift_then_accuracy_drop_and_nothing_before(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(PROJECT)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = io.StringIO()
    status = replay.run(
        tmp_path / "replay",
        change="churn_wave",
        change_at=CHANGE_AT.isoformat(),
        cutoffs=CUTOFFS,
        customers=CUSTOMERS,
        extra_args=SELECT,
        out=out,
    )
    assert status == 0, out.getvalue()[-3000:]
    rows = replay.decisions(tmp_path / "replay" / "warehouse.duckdb")
    assert [str(r["scoring_cutoff_date"])[:10] for r in rows[::2]] == [
        "2011-01-01",
        "2011-04-01",
        "2011-06-01",
        "2011-09-01",
    ], out.getvalue()
    before = [r for r in rows if r["scoring_cutoff_date"].date() <= CHANGE_AT]
    after = [r for r in rows if r["scoring_cutoff_date"].date() > CHANGE_AT]
    fired = {trigger for r in before for trigger in r["triggers"].split(",")}
    assert fired == {"no_champion", "none"}, out.getvalue()

    drift = [r for r in after if "drift" in r["triggers"].split(",")]
    accuracy = [r for r in after if "accuracy_drop" in r["triggers"].split(",")]
    assert drift and accuracy, out.getvalue()
    for row in drift:
        assert row["max_psi"] > 0.2 and row["decision"] == "retrain"
        assert row["max_psi_feature"] in (
            "purchase_days_last_90",
            "spend_last_90",
            "average_purchase_value",
        )
    for row in accuracy:
        assert row["realized_metric_value"] < row["champion_validation_metric"] - 0.05
    # features move at once, labels mature a label window later
    assert min(r["scoring_cutoff_date"] for r in drift) < min(
        r["scoring_cutoff_date"] for r in accuracy
    )
