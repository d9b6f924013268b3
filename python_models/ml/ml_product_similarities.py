"""Item-to-item similarity per cutoff (clv_warehouse.item_similarity): the
cosine of same-invoice co-purchase as a sparse matrix product. Incremental by
cutoff: a cutoff is recomputed when its input fingerprint
(ml_product_cutoff_inputs) changed, so a daily build leaves the backtest
cutoff's pairs alone."""

from clv_warehouse import fingerprints, item_similarity


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="cutoff_id",
        on_schema_change="append_new_columns",
    )
    built = None
    if dbt.is_incremental:
        built = fingerprints.previous_rows(
            session, f"{dbt.this.schema}.{dbt.this.identifier}"
        )
    stale = item_similarity.stale_cutoffs(
        dbt.ref("int_cutoffs").df(), dbt.ref("ml_product_cutoff_inputs").df(), built
    )
    dbt.ref("int_lines_cleaned").create_view("__clv_item_lines", replace=True)
    return item_similarity.build_similarities(
        session,
        lines="__clv_item_lines",
        stale_cutoffs=stale,
        min_customers=int(dbt.config.get("min_customers")),
    )
