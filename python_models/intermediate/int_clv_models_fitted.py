"""Fit BG/NBD and Gamma-Gamma at every cutoff (clv_warehouse.clv_models)."""

from clv_warehouse import clv_models, fingerprints


def model(dbt, session):
    dbt.config(materialized="table")
    summaries = dbt.ref("int_customers_summarized_at_cutoffs").df()
    return clv_models.fit_at_cutoffs(
        summaries,
        previous=fingerprints.previous_rows(
            session, f"{dbt.this.schema}.{dbt.this.identifier}"
        ),
    )
