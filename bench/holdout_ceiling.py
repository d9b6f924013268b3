"""How far can any method go on this holdout? Models fitted on its own outcomes.

    .venv/bin/python bench/holdout_ceiling.py [--path warehouse/backtest.duckdb]
        [--folds 5] [--seed 42] [--wide]

A reference, not a method: every backtest method must predict the holdout from
history alone, while this cross-validates models on the holdout's own outcomes
(purchase count, spend, and churn = no purchase), customers split into
``--folds`` folds, each predicted by models fitted on the others. Their
out-of-fold predictions are scored by the backtest's own metric code
(``clv_warehouse.backtest.method_metrics``), so the figures compare one to one
with ``gold.clv_backtest_metrics``. It reads a built backtest (e.g. after
``make backtest``):

* ``ml.ml_customer_features`` at the backtest cutoff (the churn task's features,
  listed in python_models/ml/_ml__models.yml);
* ``silver.int_customer_days_aggregated``: purchase days, spend and units in
  each of the ten 30-day spans before the cutoff, a richer view of the history;
* ``silver.int_clv_backtest_predictions``: every method's predictions (used as
  features too, so the ceiling stacks them) and the holdout's actual outcomes;
* ``gold.clv_backtest_metrics``: each method's figures, printed beside.

Per metric it prints the issue's target, the best backtest method, and the best
cross-validated model. For the two RMSEs it also prints a least-squares fit
scored on the rows it was fitted on: the lowest RMSE any linear combination of
these inputs can reach on this holdout, an even looser bound. ``--wide`` adds
higher-capacity models (500 boosting rounds of depth 4; depth 6; a random
forest), in case the default ones underfit.

If a figure fitted on the holdout's own outcomes stays on the wrong side of a
target, no method that sees only the history before the cutoff can be expected
to reach it with these inputs. The total-purchases error is not bounded this
way: a fit to the holdout's own counts gets the total right by construction.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ is not a package
from bench_training_rows import tasks as declared_tasks  # noqa: E402

from clv_warehouse.backtest import method_metrics  # noqa: E402

SPANS = 10  # 30-day spans before the cutoff

# issue 4's targets on the CDNOW standard split: (metric, bound, "<=" or ">=")
TARGETS = {
    "count_rmse": (1.60, "<="),
    "spend_rmse": (88.0, "<="),
    "top10_revenue_share": (0.55, ">="),
    "churn_auc": (0.78, ">="),
}


def churn_features() -> list[str]:
    """The churn task's declared features."""
    for task in declared_tasks():
        if task["name"] == "churn":
            return list(task["features"])
    raise SystemExit("no churn task in python_models/ml/_ml__models.yml")


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


def models(seed: int, *, wide: bool = False) -> dict[str, dict]:
    """{model name: {"count", "spend": regressor, "churn": classifier}}."""

    def boosting(kind, **params):
        params = {"max_iter": 200, "max_depth": 3, "learning_rate": 0.05} | params
        if kind == "churn":
            return HistGradientBoostingClassifier(random_state=seed, **params)
        # counts and spend are non-negative and heavy-tailed: a Poisson loss
        return HistGradientBoostingRegressor(
            loss="poisson", random_state=seed, **params
        )

    def family(make):
        return {kind: make(kind) for kind in ("count", "spend", "churn")}

    chosen = {
        "linear": {
            "count": make_pipeline(StandardScaler(), LinearRegression()),
            "spend": make_pipeline(StandardScaler(), LinearRegression()),
            "churn": make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)),
        },
        "gradient_boosting": family(boosting),
    }
    if wide:
        chosen["boosting_500_depth4"] = family(
            lambda kind: boosting(kind, max_iter=500, max_depth=4, learning_rate=0.03)
        )
        chosen["boosting_depth6"] = family(
            lambda kind: boosting(kind, max_iter=300, max_depth=6, min_samples_leaf=100)
        )

        def forest(kind):
            params = {"n_estimators": 300, "min_samples_leaf": 20, "n_jobs": 2}
            if kind == "churn":
                return RandomForestClassifier(random_state=seed, **params)
            return RandomForestRegressor(random_state=seed, **params)

        chosen["random_forest"] = family(forest)
    return chosen


def out_of_fold(
    x: pd.DataFrame,
    table: pd.DataFrame,
    *,
    folds: int = 5,
    seed: int = 42,
    wide: bool = False,
) -> dict[str, pd.DataFrame]:
    """{model name: one row per customer in the backtest's prediction shape},
    every prediction made by a model fitted on the other folds. ``table`` has
    customer_id, actual_purchases and actual_spend, row-aligned with ``x``."""
    x = x.astype(float)
    counts = table["actual_purchases"].to_numpy(dtype=float)
    spend = table["actual_spend"].to_numpy(dtype=float)
    churned = (counts == 0).astype(int)
    plain = KFold(n_splits=folds, shuffle=True, random_state=seed)
    stratified = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    out = {}
    for name, kinds in models(seed, wide=wide).items():
        predicted_spend = cross_val_predict(kinds["spend"], x, spend, cv=plain)
        out[name] = _prediction_frame(
            table,
            purchases=cross_val_predict(kinds["count"], x, counts, cv=plain),
            spend=predicted_spend,
            churn=cross_val_predict(
                kinds["churn"], x, churned, cv=stratified, method="predict_proba"
            )[:, 1],
        )
    return out


def in_sample_least_squares(x: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Least squares fitted on every row and scored on the same rows: the lowest
    RMSE any linear combination of ``x`` reaches on this holdout."""
    x = x.astype(float)
    fit = {
        column: make_pipeline(StandardScaler(), LinearRegression())
        .fit(x, table[column])
        .predict(x)
        for column in ("actual_purchases", "actual_spend")
    }
    return _prediction_frame(
        table,
        purchases=fit["actual_purchases"],
        spend=fit["actual_spend"],
        churn=None,
    )


def _prediction_frame(table, *, purchases, spend, churn) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": table["customer_id"].to_numpy(),
            "predicted_purchases": purchases,
            "predicted_spend": spend,
            "value_score": spend,
            "churn_score": np.nan if churn is None else churn,
            "actual_purchases": table["actual_purchases"].to_numpy(),
            "actual_spend": table["actual_spend"].to_numpy(),
        }
    )


def ceiling_rows(
    backtest: pd.DataFrame, ceilings: dict[str, dict[str, float]]
) -> list[dict]:
    """Per target metric: the target, the best backtest method and the best
    ceiling model. ``backtest`` has method, metric, value; ``ceilings`` maps a
    model name to its method_metrics."""
    rows = []
    for metric, (bound, direction) in TARGETS.items():
        pick = min if direction == "<=" else max
        methods = backtest[backtest["metric"] == metric]
        method = (
            pick(methods.itertuples(), key=lambda r: r.value) if len(methods) else None
        )
        scored = {n: m[metric] for n, m in ceilings.items() if metric in m}
        model = pick(scored, key=scored.get)
        value = scored[model]
        rows.append(
            {
                "metric": metric,
                "target": f"{direction} {bound:g}",
                "best_method": f"{method.method} {method.value:.4f}" if method else "-",
                "ceiling": f"{model} {value:.4f}",
                "target_within_ceiling": value <= bound
                if direction == "<="
                else value >= bound,
            }
        )
    return rows


def load(con: duckdb.DuckDBPyConnection) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """(cutoff, backtest metrics, one row per customer: features, every
    method's predictions, and the holdout's actual outcomes)."""
    backtest = con.sql(
        "select dataset, backtest_cutoff, method, metric, value "
        "from gold.clv_backtest_metrics"
    ).df()
    if backtest.empty:
        raise SystemExit("gold.clv_backtest_metrics is empty: run `make backtest`")
    cutoff = str(pd.Timestamp(backtest["backtest_cutoff"].iloc[0]).date())
    features = churn_features()
    rows = con.sql(
        f"select customer_id, {', '.join(features)} from ml.ml_customer_features "
        f"where cutoff_date = date '{cutoff}'"
    ).df()
    if rows.empty:
        raise SystemExit(f"no ML feature rows at the backtest cutoff {cutoff}")
    spans = con.sql(span_features_sql(cutoff)).df()
    # every method's history-only predictions, one column per (method, output)
    predictions = con.sql(
        "pivot (select customer_id, method, predicted_purchases, predicted_spend, "
        "value_score, churn_score from silver.int_clv_backtest_predictions) "
        "on method using first(predicted_purchases) as purchases, "
        "first(predicted_spend) as spend, first(value_score) as value, "
        "first(churn_score) as churn group by customer_id"
    ).df()
    actual = con.sql(
        "select customer_id, any_value(actual_purchases) as actual_purchases, "
        "any_value(actual_spend) as actual_spend "
        "from silver.int_clv_backtest_predictions group by 1"
    ).df()
    table = (
        rows.merge(spans, on="customer_id", how="left")
        .merge(predictions, on="customer_id", how="left")
        .merge(actual, on="customer_id")
    )
    # a scan's row order is not stable: sort, so the folds are the same each run
    table = table.fillna(0).sort_values("customer_id", ignore_index=True)
    return cutoff, backtest, table


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
    cutoff, backtest, table = load(con)
    outcome = {"customer_id", "actual_purchases", "actual_spend"}
    inputs = [c for c in table.columns if c not in outcome]
    churn_rate = (table["actual_purchases"] == 0).mean()
    print(
        f"{backtest['dataset'].iloc[0]}: {len(table):,} customers at cutoff {cutoff}, "
        f"{churn_rate:.1%} without a purchase in the holdout; {len(inputs)} inputs "
        "(the churn task's features, 30-day spans, every method's predictions)"
    )
    ceilings = {
        name: method_metrics(frame)
        for name, frame in out_of_fold(
            table[inputs], table, folds=args.folds, seed=args.seed, wide=args.wide
        ).items()
    }
    print(f"\nfitted on the holdout's own outcomes ({args.folds}-fold, out of fold):")
    metrics = [*TARGETS, "total_purchases_pct_error"]
    print(pd.DataFrame(ceilings).loc[metrics].round(4).to_string())
    loose = method_metrics(in_sample_least_squares(table[inputs], table))
    print(
        "\nleast squares scored on the rows it was fitted on: "
        f"count RMSE {loose['count_rmse']:.4f}, spend RMSE {loose['spend_rmse']:.4f}"
    )
    dataset = str(backtest["dataset"].iloc[0])
    if not dataset.startswith("cdnow"):
        print(
            f"\nissue 4's targets are for the CDNOW standard split; {dataset} is "
            "not compared with them"
        )
        return
    print("\nagainst issue 4's targets (CDNOW standard split):")
    print(pd.DataFrame(ceiling_rows(backtest, ceilings)).to_string(index=False))


if __name__ == "__main__":
    main()
