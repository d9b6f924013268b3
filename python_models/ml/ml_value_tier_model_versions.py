"""CREATE MODEL, Redshift ML style: the task is declared in _ml__models.yml;
clv_warehouse.registry trains when ml_retrain_triggers says so, registers the
version in MLflow and here, and installs the champion as SQL macros."""

from clv_warehouse import registry


def model(dbt, session):
    dbt.config(materialized="table")
    dbt.ref("ml_training_readiness")  # stops the build first when data is too short
    return registry.build_model_versions(
        session,
        features=dbt.ref("ml_customer_features"),  # read only if the task trains
        task=dbt.config.get("task"),
        this=f"{dbt.this.schema}.{dbt.this.identifier}",
        seed=dbt.config.get("seed"),
        force_retrain=dbt.config.get("force_retrain"),
        triggers=dbt.ref("ml_retrain_triggers").df(),
    )
