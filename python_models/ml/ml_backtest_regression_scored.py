"""Horizon-matched ML regression and its BG/NBD blend at the backtest cutoff
(clv_warehouse.backtest_regression)."""

from clv_warehouse import backtest_regression, fingerprints


def model(dbt, session):
    dbt.config(materialized="table")
    cutoffs = dbt.ref("int_cutoffs").df().set_index("cutoff_id")
    return backtest_regression.score_at_backtest(
        dbt.ref("int_customer_days_aggregated").df(),
        backtest_cutoff=cutoffs.loc["backtest", "cutoff_date"],
        holdout_days=float(cutoffs.loc["backtest", "holdout_days"]),
        seed=int(dbt.config.get("seed")),
        previous=fingerprints.previous_rows(
            session, f"{dbt.this.schema}.{dbt.this.identifier}"
        ),
    )
