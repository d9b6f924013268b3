"""Top factors behind each customer's churn score, from the serving champion."""

from __future__ import annotations

import pandas as pd

from clv_warehouse import ml, registry, tracking


def champion_factors(
    versions: pd.DataFrame, task: dict, scoring: pd.DataFrame, *, k: int = 3
) -> pd.DataFrame:
    """customer_id, factor_1..factor_k for the champion of ``versions``."""
    champions = versions[versions["is_champion"].astype(bool)]
    if champions.empty:
        raise ValueError(f"task {task['name']!r} has no champion version")
    spec = registry.task_spec(task)
    model = tracking.load_model(champions.iloc[-1]["mlflow_run_id"])
    return ml.top_factors(model, scoring, spec, k=k)
