"""Grade every CLV method on the backtest holdout (clv_warehouse.backtest)."""

from clv_warehouse import backtest


def model(dbt, session):
    dbt.config(materialized="table")
    predictions = dbt.ref("int_clv_backtest_predictions").df()
    return backtest.evaluate(predictions, baseline="naive_rate")
