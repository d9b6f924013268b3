"""Horizon-matched ML regression and its BG/NBD blend at the backtest cutoff
(clv_warehouse.backtest_regression)."""

from clv_warehouse import backtest_regression, fingerprints


def model(dbt, session):
    dbt.config(materialized="table")
    cutoffs = dbt.ref("int_cutoffs").df().set_index("cutoff_id")
    cutoff = cutoffs.loc["backtest", "cutoff_date"]
    return backtest_regression.score_at_backtest(
        backtest_regression.load_activity(
            dbt.ref("int_customer_days_aggregated"), cutoff
        ),
        backtest_cutoff=cutoff,
        holdout_days=float(cutoffs.loc["backtest", "holdout_days"]),
        seed=int(dbt.config.get("seed")),
        previous=fingerprints.previous_rows(
            session, f"{dbt.this.schema}.{dbt.this.identifier}"
        ),
    )
