"""Score CLV methods against what customers actually did in a holdout.

Input: one row per (method, customer) with the method's predictions and the
customer's actual holdout behaviour (see :data:`PREDICTION_COLUMNS`). Output:
one row per (method, metric), plus an A/B/C grade per method against the
baseline, in the way Dynamics 365 Customer Insights grades its CLV model:
A finds at least 5% more of the actual top-10% customers than the baseline,
B finds 0-5% more, C finds fewer.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

PREDICTION_COLUMNS = [
    "method",
    "customer_id",
    "predicted_purchases",  # null for ranking-only methods
    "predicted_spend",  # null for ranking-only methods
    "value_score",  # higher = more valuable in the holdout (ranking)
    "churn_score",  # higher = more likely to make no purchase in the holdout
    "actual_purchases",
    "actual_spend",
]

METRIC_COLUMNS = ["method", "metric", "value", "grade"]

TOP_SHARE = 0.10
GRADE_A_LIFT = 0.05


def _top_mask(values: pd.Series, customer_ids: pd.Series, share: float) -> np.ndarray:
    """Boolean mask of the top ``share`` rows by value (ties by customer id)."""
    count = max(1, math.ceil(share * len(values)))
    order = pd.DataFrame({"value": values.to_numpy(), "id": customer_ids.to_numpy()})
    order = order.sort_values(["value", "id"], ascending=[False, True], kind="stable")
    mask = np.zeros(len(values), dtype=bool)
    mask[order.index[:count].to_numpy()] = True
    return mask


def method_metrics(frame: pd.DataFrame) -> dict[str, float]:
    """Metrics of one method; ``frame`` has one row per customer."""
    frame = frame.reset_index(drop=True)
    actual_purchases = frame["actual_purchases"].astype(float)
    actual_spend = frame["actual_spend"].astype(float)
    metrics: dict[str, float] = {"customers": float(len(frame))}
    if frame["predicted_purchases"].notna().all():
        error = frame["predicted_purchases"].astype(float) - actual_purchases
        metrics["count_mae"] = float(error.abs().mean())
        metrics["count_rmse"] = float(np.sqrt((error**2).mean()))
        total_actual = float(actual_purchases.sum())
        metrics["total_purchases_predicted"] = float(frame["predicted_purchases"].sum())
        metrics["total_purchases_actual"] = total_actual
        metrics["total_purchases_pct_error"] = (
            100.0 * (metrics["total_purchases_predicted"] - total_actual) / total_actual
            if total_actual
            else float("nan")
        )
    if frame["predicted_spend"].notna().all():
        error = frame["predicted_spend"].astype(float) - actual_spend
        metrics["spend_mae"] = float(error.abs().mean())
        metrics["spend_rmse"] = float(np.sqrt((error**2).mean()))
    predicted_top = _top_mask(frame["value_score"], frame["customer_id"], TOP_SHARE)
    actual_top = _top_mask(actual_spend, frame["customer_id"], TOP_SHARE)
    total_spend = float(actual_spend.sum())
    metrics["top10_revenue_share"] = (
        float(actual_spend[predicted_top].sum()) / total_spend
        if total_spend
        else float("nan")
    )
    metrics["top10_customer_recall"] = float(
        (predicted_top & actual_top).sum() / actual_top.sum()
    )
    churned = (actual_purchases == 0).to_numpy()
    if frame["churn_score"].notna().all() and 0 < churned.sum() < len(churned):
        metrics["churn_auc"] = float(
            roc_auc_score(churned, frame["churn_score"].astype(float))
        )
    return metrics


def grade(recall: float, baseline_recall: float) -> str:
    """A/B/C by how many more actual top customers than the baseline are found."""
    if baseline_recall <= 0:
        return "A" if recall > 0 else "B"
    lift = recall / baseline_recall - 1.0
    if lift >= GRADE_A_LIFT:
        return "A"
    return "B" if lift >= 0 else "C"


def evaluate(
    predictions: pd.DataFrame, *, baseline: str = "naive_rate"
) -> pd.DataFrame:
    """One row per (method, metric) with the method's grade against ``baseline``."""
    missing = [c for c in PREDICTION_COLUMNS if c not in predictions.columns]
    if missing:
        raise ValueError(f"predictions lack column(s): {', '.join(missing)}")
    if predictions.empty:
        return pd.DataFrame(columns=METRIC_COLUMNS)
    by_method = {
        method: method_metrics(frame)
        for method, frame in predictions.groupby("method", sort=True)
    }
    if baseline not in by_method:
        raise ValueError(f"baseline method {baseline!r} has no predictions")
    baseline_recall = by_method[baseline]["top10_customer_recall"]
    rows = []
    for method, metrics in by_method.items():
        method_grade = (
            None
            if method == baseline
            else grade(metrics["top10_customer_recall"], baseline_recall)
        )
        for metric, value in metrics.items():
            rows.append(
                {
                    "method": method,
                    "metric": metric,
                    "value": value,
                    "grade": method_grade,
                }
            )
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)
