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
    features: pd.DataFrame,
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
    returned as it is instead of training again."""
    cutoff = pd.Timestamp(backtest_cutoff)
    dates = pd.to_datetime(features["cutoff_date"])
    window = pd.to_timedelta(features["label_window_days"].astype(int), unit="D")
    known = (dates + window <= cutoff) & (dates < cutoff)
    training = features[known.to_numpy()]
    scoring = features[(dates == cutoff).to_numpy()]
    if training["cutoff_date"].nunique() < MIN_CUTOFFS or scoring.empty:
        log.warning(
            "ML backtest skipped: %d cutoffs with labels known by %s (need %d)",
            training["cutoff_date"].nunique(),
            cutoff.date(),
            MIN_CUTOFFS,
        )
        return pd.DataFrame(columns=SCORE_COLUMNS)
    churn_spec = _one_validation_cutoff(churn_task)
    value_spec = _one_validation_cutoff(value_task)
    training_fingerprints = {
        spec.name: ml.data_fingerprint(training, spec)
        for spec in (churn_spec, value_spec)
    }
    fingerprint = hashlib.sha256(
        "|".join(
            [
                training_fingerprints[churn_spec.name],
                training_fingerprints[value_spec.name],
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
        ml.train(
            training, spec, seed=seed, fingerprint=training_fingerprints[spec.name]
        )
        for spec in (churn_spec, value_spec)
    )
    churn_scores = ml.predict(churn.model, scoring, churn_spec)
    tier_scores = ml.predict(value.model, scoring, value_spec)
    tier_means = training.groupby(value_spec.target)["future_spend"].mean()
    expected = np.zeros(len(tier_scores))
    for tier in value_spec.classes:
        expected += tier_scores[f"probability_{tier}"].to_numpy() * float(
            tier_means.get(tier, 0.0)
        )
    return pd.DataFrame(
        {
            "customer_id": scoring["customer_id"].to_numpy(),
            "churn_probability": churn_scores["probability"].to_numpy(),
            "expected_value": expected,
            "input_fingerprint": fingerprint,
        }
    )[SCORE_COLUMNS]


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
