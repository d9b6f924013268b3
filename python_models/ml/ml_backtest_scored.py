"""The ML classifiers as a backtest method (clv_warehouse.backtest_ml)."""

from clv_warehouse import backtest_ml, fingerprints


def model(dbt, session):
    dbt.config(materialized="table")
    cutoffs = dbt.ref("int_cutoffs").df().set_index("cutoff_id")
    churn_task = dbt.config.get("churn_task")
    value_task = dbt.config.get("value_task")
    return backtest_ml.score_at_backtest(
        dbt.ref("ml_customer_features"),  # read in SQL, narrowly
        backtest_cutoff=cutoffs.loc["backtest", "cutoff_date"],
        churn_task=churn_task,
        value_task=value_task,
        seed=int(dbt.config.get("seed")),
        previous=fingerprints.previous_rows(
            session, f"{dbt.this.schema}.{dbt.this.identifier}"
        ),
    )
