"""Score every (cutoff, customer) with the models fitted at that cutoff."""

from clv_warehouse import clv_models


def model(dbt, session):
    dbt.config(materialized="table")
    return clv_models.score_at_cutoffs(
        dbt.ref("int_customers_summarized_at_cutoffs").df(),
        dbt.ref("int_clv_models_fitted").df(),
        horizon_months=int(dbt.config.get("clv_horizon_months")),
        annual_discount_rate=float(dbt.config.get("clv_discount_rate")),
    )
