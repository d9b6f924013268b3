"""Benchmark: score N synthetic customers with scikit-learn vs the DuckDB SQL macro.

    .venv/bin/python bench/bench_sql_scoring.py [--rows 1000000] [--threads 2]

Trains the champion candidates (exact gradient boosting and logistic regression) on
100k rows, installs the SQL macros in an in-memory DuckDB, then times
``predict_proba`` on a pandas frame vs ``create table ... as select * from
predict_churn_table(features)``, and checks the max abs difference.
"""

from __future__ import annotations

import argparse
import time

import duckdb
import numpy as np
import pandas as pd

from clv_warehouse import ml, sql_export

FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "tenure_days",
    "orders_90d",
    "orders_365d",
    "spend_90d",
    "spend_365d",
    "distinct_products",
    "returns",
    "days_between_orders",
)


def synthetic(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frequency = rng.poisson(4, n) + 1
    monetary = np.round(rng.gamma(2.0, 80.0, n) * frequency / 4, 2)
    orders_365d = rng.binomial(frequency, 0.6)
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1, dtype="int64"),
            "recency_days": rng.integers(0, 700, n),
            "frequency": frequency,
            "monetary": monetary,
            "avg_order_value": np.round(monetary / frequency, 2),
            "tenure_days": rng.integers(1, 1000, n),
            "orders_90d": rng.binomial(orders_365d, 0.3),
            "orders_365d": orders_365d,
            "spend_90d": np.round(rng.gamma(1.0, 30.0, n), 2),
            "spend_365d": np.round(rng.gamma(2.0, 60.0, n), 2),
            "distinct_products": rng.poisson(8, n),
            "returns": rng.poisson(0.3, n),
            "days_between_orders": np.round(rng.gamma(2.0, 40.0, n), 1),
        }
    )
    risk = (
        frame.recency_days / 200
        - frame.orders_365d * 0.3
        - np.log1p(frame.spend_365d) * 0.2
        + rng.normal(0, 1, n)
    )
    frame["churned"] = (risk > np.median(risk)).astype(int)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-rows", type=int, default=100_000)
    args = parser.parse_args()

    spec = ml.TaskSpec(
        name="churn",
        target="churned",
        problem_type="binary",
        features=FEATURES,
        sql_function="predict_churn",
    )
    train = synthetic(args.train_rows, seed=1)
    x_train = ml.prepare_features(train, spec)
    score = synthetic(args.rows, seed=2)
    con = duckdb.connect()
    con.execute(f"set threads = {args.threads}")
    con.register("score_df", score)
    con.execute("create table features as select * from score_df")
    con.unregister("score_df")
    print(f"{args.rows:,} rows x {len(FEATURES)} features, {args.threads} threads")

    for algorithm in ("gradient_boosting", "logistic_regression"):
        model = ml.make_pipeline(algorithm)
        t = time.perf_counter()
        n_fit = min(len(train), spec.gb_max_training_rows)
        if algorithm == "gradient_boosting":
            model.fit(x_train.iloc[:n_fit], train.churned.iloc[:n_fit])
        else:
            model.fit(x_train, train.churned)
        fit_s = time.perf_counter() - t

        t = time.perf_counter()
        sql_export.install_macros(con, model, spec)
        install_s = time.perf_counter() - t

        t = time.perf_counter()
        x = ml.prepare_features(score, spec)
        expected = model.predict_proba(x)[:, 1]
        sklearn_s = time.perf_counter() - t

        t = time.perf_counter()
        con.execute(
            "create or replace table scored as "
            "select * from predict_churn_table(features)"
        )
        sql_s = time.perf_counter() - t

        got = (
            con.execute("select probability from scored order by customer_id")
            .df()
            .probability.to_numpy()
        )
        diff = float(np.abs(got - expected).max())
        print(
            f"{algorithm:20s} fit {fit_s:5.1f}s  compile+install {install_s:5.1f}s  "
            f"sklearn (prepare+predict_proba) {sklearn_s:6.2f}s  "
            f"duckdb table macro {sql_s:6.2f}s  "
            f"sklearn/sql {sklearn_s / sql_s:5.2f}x  max|diff| {diff:.1e}"
        )


if __name__ == "__main__":
    main()
