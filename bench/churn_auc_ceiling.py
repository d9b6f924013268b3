"""How high can a churn AUC go on this holdout? Models fitted on its own labels.

    .venv/bin/python bench/churn_auc_ceiling.py [--path warehouse/backtest.duckdb]
        [--folds 5] [--seed 42] [--wide]

A reference, not a method: every backtest method must predict the holdout from
history alone, while this cross-validates models on the holdout's own churn
labels (positive = no purchase in the holdout), customers split into
``--folds`` stratified folds, each predicted by models fitted on the others. It
reads a built backtest (e.g. after ``make backtest``):

* ``ml.ml_customer_features`` at the backtest cutoff (the churn task's features,
  listed in python_models/ml/_ml__models.yml);
* ``silver.int_customer_days_aggregated``: purchase days, spend and units in
  each of the ten 30-day spans before the cutoff, a richer view of the history;
* ``silver.int_clv_backtest_predictions``: the holdout's actual purchases;
* ``gold.clv_backtest_metrics``: each method's churn AUC, printed beside.

``--wide`` adds higher-capacity models (500 boosting rounds of depth 4; depth 6;
a 300-tree random forest), in case the two default models underfit.

If the cross-validated AUC on the holdout's own labels stays below a target,
no method that sees only the history before the cutoff can be expected to reach
it with these inputs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import yaml
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[1]
SPANS = 10  # 30-day spans before the cutoff


def churn_features() -> list[str]:
    """The churn task's declared features."""
    models = yaml.safe_load((ROOT / "python_models/ml/_ml__models.yml").read_text())
    for model in models["models"]:
        if model["name"] == "ml_churn_model_versions":
            return list(model["config"]["task"]["features"])
    raise SystemExit("no ml_churn_model_versions in python_models/ml/_ml__models.yml")


def span_features_sql(cutoff: str) -> str:
    """Per customer: purchase days, spend and units in each 30-day span before
    the cutoff (span 0 = the 30 days just before it)."""
    columns = []
    for k in range(SPANS):
        inside = (
            f"date '{cutoff}' - activity_date between {30 * k + 1} and {30 * k + 30}"
        )
        columns += [
            f"count(case when {inside} then 1 end) as purchase_days_{k}",
            f"sum(case when {inside} then gross_amount else 0 end)::double "
            f"as spend_{k}",
            f"sum(case when {inside} then unit_count else 0 end)::double as units_{k}",
        ]
    return (
        "select customer_id, " + ", ".join(columns) + " "
        "from silver.int_customer_days_aggregated "
        f"where has_purchase and activity_date < date '{cutoff}' group by 1"
    )


def models(seed: int, *, wide: bool = False) -> dict:
    chosen = {
        "logistic_regression": make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=2000)
        ),
        "gradient_boosting": HistGradientBoostingClassifier(
            max_iter=200, max_depth=3, learning_rate=0.05, random_state=seed
        ),
    }
    if wide:
        chosen.update(
            {
                "boosting_500_depth4": HistGradientBoostingClassifier(
                    max_iter=500, max_depth=4, learning_rate=0.03, random_state=seed
                ),
                "boosting_depth6": HistGradientBoostingClassifier(
                    max_iter=300,
                    max_depth=6,
                    learning_rate=0.05,
                    min_samples_leaf=100,
                    random_state=seed,
                ),
                "random_forest": RandomForestClassifier(
                    n_estimators=300, min_samples_leaf=20, n_jobs=2, random_state=seed
                ),
            }
        )
    return chosen


def ceiling_auc(
    x: pd.DataFrame,
    y: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 42,
    wide: bool = False,
):
    """{model name: ROC AUC of its out-of-fold churn probabilities}."""
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    out = {}
    for name, model in models(seed, wide=wide).items():
        p = cross_val_predict(
            model, x.astype(float), y, cv=split, method="predict_proba"
        )[:, 1]
        out[name] = float(roc_auc_score(y, p))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="warehouse/backtest.duckdb")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--wide", action="store_true", help="add three higher-capacity models"
    )
    args = parser.parse_args()
    if not Path(args.path).exists():
        raise SystemExit(f"no {args.path}: run `make backtest` first")
    con = duckdb.connect(args.path, read_only=True)
    methods = con.sql(
        "select dataset, backtest_cutoff, method, value from gold.clv_backtest_metrics "
        "where metric = 'churn_auc' order by value desc"
    ).df()
    if methods.empty:
        raise SystemExit(f"{args.path}: gold.clv_backtest_metrics has no churn_auc")
    cutoff = str(pd.Timestamp(methods["backtest_cutoff"].iloc[0]).date())
    features = churn_features()
    rows = con.sql(
        f"select customer_id, {', '.join(features)} from ml.ml_customer_features "
        f"where cutoff_date = date '{cutoff}'"
    ).df()
    spans = con.sql(span_features_sql(cutoff)).df()
    actual = con.sql(
        "select customer_id, actual_purchases from silver.int_clv_backtest_predictions "
        "where method = 'bgnbd_gg'"
    ).df()
    table = rows.merge(spans, on="customer_id", how="left").merge(
        actual, on="customer_id"
    )
    if table.empty:
        raise SystemExit(
            f"{args.path}: no ML feature rows at the backtest cutoff {cutoff}"
        )
    # a scan's row order is not stable: sort, so the folds are the same each run
    table = table.fillna(0).sort_values("customer_id", ignore_index=True)
    y = (table["actual_purchases"] == 0).to_numpy(dtype=int)
    span_columns = [c for c in spans.columns if c != "customer_id"]
    print(
        f"{methods['dataset'].iloc[0]}: {len(table):,} customers at cutoff {cutoff}, "
        f"{y.mean():.1%} without a purchase in the holdout"
    )
    print("\nbacktest methods (history before the cutoff only):")
    for row in methods.itertuples():
        print(f"  {row.method:<22} churn AUC {row.value:.4f}")
    print(
        f"\nfitted on the holdout's own labels ({args.folds}-fold cross-validation; "
        "a ceiling, not a method):"
    )
    for label, columns in (
        (f"the churn task's {len(features)} features", features),
        (f"+ {len(span_columns)} per-30-day-span features", features + span_columns),
    ):
        for name, auc in ceiling_auc(
            table[columns], y, folds=args.folds, seed=args.seed, wide=args.wide
        ).items():
            print(f"  {label:<40} {name:<20} AUC {auc:.4f}")


if __name__ == "__main__":
    main()
