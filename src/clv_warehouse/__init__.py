"""clv_warehouse: the Python side of the customer-value warehouse.

Pure, tested functions that the thin dbt Python models call:

- landing, dbt_plugin: land any input file row for row; the one-line input check
- generate: the seeded Online-Retail-II-shaped data generator
- probabilistic, clv_models: BG/NBD + Gamma-Gamma fitted and scored per cutoff
- backtest, backtest_ml: CLV methods graded on a holdout
- clusters: k-means on RFM (assigned in SQL)
- ml, tracking, sql_export, registry, factors: Redshift-ML-style tasks trained,
  logged to MLflow, and served as DuckDB SQL macros
- cli: `make run` / `make backtest` front end
"""

__version__ = "0.1.0"
