"""BG/NBD fitted at every ML cutoff on the history before it
(clv_warehouse.clv_models.fit_bgnbd_at_ml_cutoffs): the parameters behind the
probabilistic features of ml_customer_features. A cutoff whose input is
unchanged since the last build keeps its parameters."""

from clv_warehouse import clv_models, fingerprints


def model(dbt, session):
    dbt.config(materialized="table")
    return clv_models.fit_bgnbd_at_ml_cutoffs(
        dbt.ref("ml_bgnbd_inputs").df(),
        previous=fingerprints.previous_rows(
            session, f"{dbt.this.schema}.{dbt.this.identifier}"
        ),
    )
