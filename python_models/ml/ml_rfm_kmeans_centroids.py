"""k-means on RFM (clv_warehouse.clusters); customer_clusters assigns in SQL."""

from clv_warehouse import clusters


def model(dbt, session):
    dbt.config(materialized="table")
    rfm = dbt.ref("customer_rfm").df()
    return clusters.fit_kmeans(
        rfm, k=int(dbt.config.get("rfm_clusters")), seed=int(dbt.config.get("seed"))
    )
