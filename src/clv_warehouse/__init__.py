"""clv_warehouse: the Python side of the customer-value warehouse.

Pure, tested functions that the dbt Python models call: input landing,
the sample data generator and (later) probabilistic CLV and ML training.
"""

__version__ = "0.1.0"
