"""Backtest metrics and grades, on hand-made predictions with known answers."""

import math

import pandas as pd
import pytest

from clv_warehouse import backtest


def predictions(method, predicted, actual, spend=None, churn=None):
    count = len(predicted)
    return pd.DataFrame(
        {
            "method": method,
            "customer_id": [f"c{i:02d}" for i in range(count)],
            "predicted_purchases": predicted,
            "predicted_spend": [p * 10 for p in predicted],
            "value_score": predicted,
            "churn_score": churn if churn is not None else [-p for p in predicted],
            "actual_purchases": actual,
            "actual_spend": spend if spend is not None else [a * 10 for a in actual],
        }
    )


def test_metrics_match_hand_computation():
    frame = predictions("m", [1.0, 2.0, 0.0, 3.0], [1, 4, 0, 0])
    metrics = backtest.method_metrics(frame)
    assert metrics["count_mae"] == pytest.approx((0 + 2 + 0 + 3) / 4)
    assert metrics["count_rmse"] == pytest.approx(math.sqrt((0 + 4 + 0 + 9) / 4))
    assert metrics["total_purchases_pct_error"] == pytest.approx(100 * (6 - 5) / 5)
    assert metrics["spend_rmse"] == pytest.approx(10 * math.sqrt(13 / 4))
    # top 10% of 4 customers = 1 customer: predicted top is c03 (spent 0)
    assert metrics["top10_revenue_share"] == 0.0
    assert metrics["top10_customer_recall"] == 0.0
    # churned: c02, c03; scores -p: c02 0, c03 -3; non-churned c00 -1, c01 -2
    # pairs (churned > non-churned): c02 beats both, c03 beats none -> AUC 0.5
    assert metrics["churn_auc"] == pytest.approx(0.5)


def test_ranking_only_methods_get_ranking_metrics_only():
    frame = predictions("h", [1.0, 2.0], [0, 3])
    frame["predicted_purchases"] = None
    frame["predicted_spend"] = None
    metrics = backtest.method_metrics(frame)
    assert "count_rmse" not in metrics and "spend_rmse" not in metrics
    assert metrics["top10_revenue_share"] == 1.0


@pytest.mark.parametrize(
    ("recall", "baseline", "expected"),
    [(0.53, 0.50, "A"), (0.52, 0.50, "B"), (0.50, 0.50, "B"), (0.49, 0.50, "C")],
)
def test_grades_against_the_baseline(recall, baseline, expected):
    assert backtest.grade(recall, baseline) == expected


def test_evaluate_grades_every_method_but_the_baseline():
    actual = [0, 0, 0, 0, 0, 0, 0, 0, 1, 5] * 2
    good = predictions("good", [0.1] * 9 + [5.0] + [0.1] * 9 + [5.0], actual)
    naive = predictions("naive_rate", [float(i) for i in range(20)], actual)
    result = backtest.evaluate(pd.concat([good, naive]))
    grades = result.groupby("method")["grade"].first()
    assert grades["good"] == "A"
    assert pd.isna(grades["naive_rate"])
    assert set(result.columns) == set(backtest.METRIC_COLUMNS)


def test_missing_baseline_or_columns_is_a_clear_error():
    frame = predictions("m", [1.0], [1])
    with pytest.raises(ValueError, match="baseline method 'naive_rate'"):
        backtest.evaluate(frame)
    with pytest.raises(ValueError, match="lack column"):
        backtest.evaluate(frame.drop(columns=["value_score"]))
