"""BG/NBD with customer covariates + Gamma-Gamma at the backtest cutoff
(clv_warehouse.covariate_bgnbd)."""

from clv_warehouse import covariate_bgnbd, fingerprints


def model(dbt, session):
    dbt.config(materialized="table")
    cutoffs = dbt.ref("int_cutoffs").df().set_index("cutoff_id")
    return covariate_bgnbd.score_at_backtest(
        dbt.ref("int_customer_days_aggregated").df(),
        backtest_cutoff=cutoffs.loc["backtest", "cutoff_date"],
        holdout_days=float(cutoffs.loc["backtest", "holdout_days"]),
        previous=fingerprints.previous_rows(
            session, f"{dbt.this.schema}.{dbt.this.identifier}"
        ),
    )
