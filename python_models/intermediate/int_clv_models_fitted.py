"""Fit BG/NBD and Gamma-Gamma at every cutoff (clv_warehouse.clv_models)."""

from clv_warehouse import clv_models


def model(dbt, session):
    dbt.config(materialized="table")
    summaries = dbt.ref("int_customers_summarized_at_cutoffs").df()
    return clv_models.fit_at_cutoffs(summaries)
