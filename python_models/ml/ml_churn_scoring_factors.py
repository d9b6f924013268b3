"""The 3 features pushing each customer's churn score up the most (champion)."""

from clv_warehouse import factors


def model(dbt, session):
    dbt.config(materialized="table")
    return factors.champion_factors(
        dbt.ref("ml_churn_model_versions").df(),
        dbt.config.get("task"),
        dbt.ref("ml_scoring_features").df(),
    )
