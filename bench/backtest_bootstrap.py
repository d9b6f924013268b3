"""How sure is a backtest win? A paired bootstrap over customers.

    .venv/bin/python bench/backtest_bootstrap.py [--path warehouse/backtest.duckdb]
        [--method ml_classifiers] [--against bgnbd_gg] [--rounds 500] [--seed 42]

Reads the per-customer predictions of a built backtest
(``silver.int_clv_backtest_predictions``, e.g. after ``make backtest``), draws
customers with replacement ``rounds`` times, and recomputes each metric for both
methods on the same draw (clv_warehouse.backtest.method_metrics, the code that
fills gold.clv_backtest_metrics). Prints, per metric, both methods' values on
all customers, the mean difference over the draws and its 95% interval. An
interval that excludes 0 is a win the holdout's customer sample supports; it
says nothing about other periods.
"""

from __future__ import annotations

import argparse

import duckdb
import numpy as np
import pandas as pd

from clv_warehouse import backtest

METRICS = (
    "count_rmse",
    "total_purchases_pct_error",
    "spend_rmse",
    "top10_revenue_share",
    "top10_customer_recall",
    "churn_auc",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="warehouse/backtest.duckdb")
    parser.add_argument("--method", default="ml_classifiers")
    parser.add_argument("--against", default="bgnbd_gg")
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    con = duckdb.connect(args.path, read_only=True)
    try:
        frame = con.execute(
            "select * from silver.int_clv_backtest_predictions "
            "where method in (?, ?) order by method, customer_id",
            [args.method, args.against],
        ).df()
    finally:
        con.close()
    by_method = {
        m: g.set_index("customer_id").sort_index() for m, g in frame.groupby("method")
    }
    missing = {args.method, args.against} - set(by_method)
    if missing:
        raise SystemExit(
            f"no predictions for method(s) {sorted(missing)} in {args.path}"
        )
    a, b = by_method[args.method], by_method[args.against]
    if not a.index.equals(b.index):
        raise SystemExit("the two methods scored different customers")
    full_a = backtest.method_metrics(a.reset_index())
    full_b = backtest.method_metrics(b.reset_index())
    rng = np.random.default_rng(args.seed)
    n = len(a)
    draws: dict[str, list[float]] = {m: [] for m in METRICS}
    for _ in range(args.rounds):
        take = rng.integers(0, n, n)
        # resampled customers get distinct ids, so ties break as in the metric
        ids = pd.Series(np.arange(n).astype(str))
        sample_a = a.iloc[take].reset_index(drop=True).assign(customer_id=ids)
        sample_b = b.iloc[take].reset_index(drop=True).assign(customer_id=ids)
        ma, mb = backtest.method_metrics(sample_a), backtest.method_metrics(sample_b)
        for metric in METRICS:
            if metric in ma and metric in mb:
                draws[metric].append(ma[metric] - mb[metric])
    print(
        f"{args.method} - {args.against} on {n:,} customers, "
        f"{args.rounds} paired bootstrap draws (seed {args.seed})"
    )
    header = f"{'metric':28s} {args.method:>15s} {args.against:>15s} {'diff':>9s}"
    print(f"{header}  95% interval")
    for metric in METRICS:
        if not draws[metric]:
            continue
        low, high = np.percentile(draws[metric], [2.5, 97.5])
        print(
            f"{metric:28s} {full_a[metric]:15.4f} {full_b[metric]:15.4f} "
            f"{full_a[metric] - full_b[metric]:9.4f}  [{low:.4f}, {high:.4f}]"
        )


if __name__ == "__main__":
    main()
