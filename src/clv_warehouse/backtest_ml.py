"""The ML classifiers as a CLV backtest method, trained without the holdout.

At the backtest cutoff only labels whose window ended by the cutoff are known,
so the churn and value-tier tasks are retrained here on the feature rows of
earlier cutoffs whose label windows ended on or before the backtest cutoff
(time-validated on the latest of them), then score the customers at the
backtest cutoff. The result ranks customers: churn_probability (no purchase in
the churn window) and expected_value (the class probabilities times the mean
future spend of each tier in the training rows). It predicts no counts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging

import duckdb
import numpy as np
import pandas as pd

from clv_warehouse import fingerprints, ml, registry

log = logging.getLogger(__name__)

SCORE_COLUMNS = [
    "customer_id",
    "churn_probability",
    "expected_value",
    "input_fingerprint",
]
MIN_CUTOFFS = 3


def score_at_backtest(
    features,
    *,
    backtest_cutoff,
    churn_task: dict,
    value_task: dict,
    seed: int = 42,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """customer_id, churn_probability, expected_value at ``backtest_cutoff``;
    empty (with a log line) when the history before it is too short. When
    ``previous`` (last build's output) was computed from the same inputs, it is
    returned as it is instead of training again.

    ``features``: the feature relation (DuckDB), or a DataFrame, which is
    queried the same way. The training rows are chosen and sampled in SQL
    (``registry.load_training_rows``, the rows whose label window ended by the
    cutoff); only they and the customers at the cutoff reach pandas."""
    relation = _as_relation(features)
    missing = [
        c for c in input_columns(churn_task, value_task) if c not in relation.columns
    ]
    if missing:
        raise ValueError(
            f"ML backtest: the feature rows lack column(s) {', '.join(missing)}"
        )
    cutoff = pd.Timestamp(backtest_cutoff)
    day = registry.sql_date(cutoff)
    known = (
        f"cutoff_date < {day} and cutoff_date "
        f"+ to_days(cast(label_window_days as integer)) <= {day}"
    )
    churn_spec = _one_validation_cutoff(churn_task)
    value_spec = _one_validation_cutoff(value_task)
    known_cutoffs = (
        relation.filter(known).project("cutoff_date").distinct().aggregate("count(*)")
    ).fetchall()[0][0]
    scoring_columns = dict.fromkeys(
        ["customer_id", "cutoff_date", *churn_spec.features, *value_spec.features]
    )
    scoring = (
        relation.filter(f"cutoff_date = {day}").project(", ".join(scoring_columns)).df()
    )
    if known_cutoffs < MIN_CUTOFFS or scoring.empty:
        log.warning(
            "ML backtest skipped: %d cutoffs with labels known by %s (need %d)",
            known_cutoffs,
            cutoff.date(),
            MIN_CUTOFFS,
        )
        return pd.DataFrame(columns=SCORE_COLUMNS)
    training = {
        spec.name: registry.load_training_rows(relation, spec, seed=seed, where=known)
        for spec in (churn_spec, value_spec)
    }
    fingerprint = hashlib.sha256(
        "|".join(
            [
                training[churn_spec.name].fingerprint,
                training[value_spec.name].fingerprint,
                # the scoring rows' labels are unknown at the cutoff: not hashed
                ml.data_fingerprint(
                    scoring.assign(**{churn_spec.target: ""}), churn_spec
                ),
                str(cutoff.date()),
                str(seed),
                ml.recipe(churn_spec),
                ml.recipe(value_spec),
            ]
        ).encode()
    ).hexdigest()
    reused = fingerprints.reuse_if_unchanged(previous, fingerprint, SCORE_COLUMNS)
    if reused is not None:
        log.info("ML backtest unchanged since the last build: not retrained")
        return reused
    churn, value = (
        ml.train(training[spec.name], spec, seed=seed)
        for spec in (churn_spec, value_spec)
    )
    churn_scores = ml.predict(churn.model, scoring, churn_spec)
    tier_scores = ml.predict(value.model, scoring, value_spec)
    # the mean future spend of each tier over every known row, not the sample
    tier_means = dict(
        relation.filter(known)
        .aggregate(
            f"cast({value_spec.target} as varchar), avg(future_spend)",
            f"cast({value_spec.target} as varchar)",
        )
        .fetchall()
    )
    expected = np.zeros(len(tier_scores))
    for tier in value_spec.classes:
        expected += tier_scores[f"probability_{tier}"].to_numpy() * float(
            tier_means.get(tier) or 0.0
        )
    return pd.DataFrame(
        {
            "customer_id": scoring["customer_id"].to_numpy(),
            "churn_probability": churn_scores["probability"].to_numpy(),
            "expected_value": expected,
            "input_fingerprint": fingerprint,
        }
    )[SCORE_COLUMNS]


def _as_relation(features):
    """A DuckDB relation over ``features`` (returned as is when it is one)."""
    if hasattr(features, "project"):
        return features
    con = duckdb.connect()
    con.register("backtest_features", features)
    return con.table("backtest_features")


def input_columns(churn_task: dict, value_task: dict) -> list[str]:
    """The feature-table columns :func:`score_at_backtest` reads."""
    columns = [
        *registry.training_columns(churn_task),
        *registry.training_columns(value_task),
        "label_window_days",
        "future_spend",
    ]
    return [c for c in dict.fromkeys(columns) if c != "is_label_matured"]


def _one_validation_cutoff(task: dict) -> ml.TaskSpec:
    """The task's spec with the latest matured cutoff alone as validation."""
    return dataclasses.replace(registry.task_spec(task), validation_cutoffs=1)
