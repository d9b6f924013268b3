"""Horizon-matched ML regression, and its blend with BG/NBD, as backtest methods.

At a cutoff only the purchases before it are known. Training examples are
built at inner cutoffs before it (every ``step_days``), each labelled with what
the customer did from that inner cutoff up to the cutoff: purchase days and
spend. Horizons differ between examples and from the one to predict, so the
targets are rates per week, fitted with a Poisson loss weighted by the
horizon in weeks (the exposure): gradient boosting (sklearn's
HistGradientBoostingRegressor, seeded) on RFM features that compare across
cutoffs (weeks since the last purchase, tenure, repeat rate, recent activity).
A classifier predicts no purchase in the window, with the horizon as a
feature.

``ensemble`` blends the ML predictions with BG/NBD + Gamma-Gamma:
``(1 - w) * bgnbd + w * ml``, with one weight for purchases, one for spend
and one for the churn ranks. The weights are chosen on an inner split, never on
the holdout: the last ``validation_days`` before the cutoff are held out, both
methods are fitted on the data before them, and the weight with the lowest
count RMSE, the lowest spend RMSE and the highest churn ROC AUC there wins
(the smaller weight on ties).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
)
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from clv_warehouse import fingerprints, probabilistic

log = logging.getLogger(__name__)

WEEK = 7.0
# bump when the method changes, so a build does not reuse the old output
METHOD_VERSION = 3
# the int_customer_days_aggregated columns the backtest reads
ACTIVITY_COLUMNS = ("customer_id", "activity_date", "gross_amount", "has_purchase")
FEATURES = [
    "frequency",
    "recency_weeks",
    "tenure_weeks",
    "weeks_since_last",
    "total_spend",
    "mean_spend",
    "repeat_mean_spend",
    "first_spend",
    "purchases_4w",
    "spend_4w",
    "purchases_13w",
    "spend_13w",
    "repeat_rate",
    "horizon_weeks",
]
SCORE_COLUMNS = [
    "customer_id",
    "ml_purchases",
    "ml_spend",
    "ml_churn_probability",
    "ensemble_purchases",
    "ensemble_spend",
    "ensemble_churn_score",
    "count_weight",
    "spend_weight",
    "churn_weight",
    "validation_cutoff",
    "input_fingerprint",
]


@dataclass(frozen=True)
class Settings:
    """How training examples are built and the boosting is sized."""

    step_days: int = 21
    min_window_days: int = 28
    max_inner_cutoffs: int = 6
    min_customers: int = 50
    validation_days: int = 91
    weights: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)
    max_training_rows: int = 40_000
    learning_rate: float = 0.1
    max_iter: int = 100
    min_samples_leaf: int = 100


def purchase_days(activity: pd.DataFrame) -> pd.DataFrame:
    """int_customer_days_aggregated rows -> customer_id, day, value (purchases)."""
    missing = [c for c in ACTIVITY_COLUMNS if c not in activity.columns]
    if missing:
        raise ValueError(f"activity lacks column(s): {', '.join(missing)}")
    rows = activity[activity["has_purchase"].astype(bool).to_numpy()]
    return pd.DataFrame(
        {
            "customer_id": rows["customer_id"].astype(str).to_numpy(),
            "day": pd.to_datetime(rows["activity_date"]).to_numpy(),
            "value": rows["gross_amount"].astype(float).to_numpy(),
        }
    ).sort_values(["customer_id", "day"], kind="stable", ignore_index=True)


def customer_features(days: pd.DataFrame, cutoff) -> pd.DataFrame:
    """One row per customer with a purchase before ``cutoff`` (index customer_id);
    times in weeks, so rows of different cutoffs compare. Tenure and weeks since
    the last purchase run to the calibration end (the day before the cutoff), as
    in int_customers_summarized_at_cutoffs, so BG/NBD fitted on these rows
    matches the warehouse's."""
    cutoff = pd.Timestamp(cutoff)
    calibration_end = cutoff - pd.Timedelta(days=1)
    before = days[days["day"] < cutoff]
    grouped = before.groupby("customer_id", sort=True)
    first = grouped["day"].min()
    last = grouped["day"].max()
    count = grouped.size()
    total = grouped["value"].sum()
    first_spend = grouped["value"].first()
    frame = pd.DataFrame(index=first.index)
    frame["frequency"] = (count - 1).astype(float)
    frame["recency_weeks"] = (last - first).dt.days / WEEK
    frame["tenure_weeks"] = (calibration_end - first).dt.days / WEEK
    frame["weeks_since_last"] = (calibration_end - last).dt.days / WEEK
    frame["total_spend"] = total
    frame["mean_spend"] = total / count
    frame["repeat_mean_spend"] = np.where(
        frame["frequency"] > 0,
        (total - first_spend) / frame["frequency"].clip(lower=1),
        0.0,
    )
    frame["first_spend"] = first_spend
    for weeks in (4, 13):
        recent = before[before["day"] >= cutoff - pd.Timedelta(weeks=weeks)]
        recent = recent.groupby("customer_id")
        frame[f"purchases_{weeks}w"] = recent.size().reindex(frame.index).fillna(0)
        frame[f"spend_{weeks}w"] = recent["value"].sum().reindex(frame.index).fillna(0)
    frame["repeat_rate"] = frame["frequency"] / frame["tenure_weeks"].clip(lower=1)
    return frame


def window_labels(days: pd.DataFrame, start, end) -> pd.DataFrame:
    """purchases (days) and spend per customer in [start, end)."""
    inside = days[
        (days["day"] >= pd.Timestamp(start)) & (days["day"] < pd.Timestamp(end))
    ].groupby("customer_id")
    return pd.DataFrame({"purchases": inside.size(), "spend": inside["value"].sum()})


def training_rows(days: pd.DataFrame, cutoff, settings: Settings) -> pd.DataFrame:
    """Feature rows at inner cutoffs before ``cutoff``, labelled up to it."""
    cutoff = pd.Timestamp(cutoff)
    frames = []
    for k in range(settings.max_inner_cutoffs):
        inner = cutoff - pd.Timedelta(
            days=settings.min_window_days + k * settings.step_days
        )
        features = customer_features(days, inner)
        if len(features) < settings.min_customers:
            break
        horizon = (cutoff - inner).days / WEEK
        labels = window_labels(days, inner, cutoff).reindex(features.index)
        frames.append(
            features.assign(
                horizon_weeks=horizon,
                purchases=labels["purchases"].fillna(0).to_numpy(),
                spend=labels["spend"].fillna(0).to_numpy(),
            )
        )
    if not frames:
        return pd.DataFrame(columns=[*FEATURES, "purchases", "spend"])
    return pd.concat(frames)


def _bgnbd(features: pd.DataFrame, horizon_days: float) -> pd.DataFrame:
    """BG/NBD + Gamma-Gamma fitted and scored on ``features``."""
    summary = pd.DataFrame(
        {
            "customer_id": features.index.to_numpy(),
            "frequency": features["frequency"].to_numpy(),
            "recency": features["recency_weeks"].to_numpy(),
            "T": features["tenure_weeks"].to_numpy(),
            "monetary_value": features["repeat_mean_spend"].to_numpy(),
        }
    )
    bgnbd = probabilistic.fit_bgnbd(
        summary["frequency"], summary["recency"], summary["T"]
    )
    gamma_gamma = probabilistic.fit_gamma_gamma(
        summary["frequency"], summary["monetary_value"]
    )
    scored = probabilistic.score_customers(
        summary, bgnbd, gamma_gamma, horizon_days=horizon_days, time_unit_days=WEEK
    )
    return pd.DataFrame(
        {
            "purchases": scored["expected_purchases"].to_numpy(),
            "spend": (
                scored["expected_purchases"] * scored["expected_order_value"]
            ).to_numpy(),
            "prob_no_purchase": scored["prob_no_purchase"].to_numpy(),
        },
        index=features.index,
    )


def fit_predict(
    days: pd.DataFrame,
    cutoff,
    horizon_days: float,
    *,
    settings: Settings = Settings(),
    seed: int = 42,
) -> pd.DataFrame | None:
    """BG/NBD and ML predictions over ``horizon_days`` for every customer seen
    before ``cutoff``, from purchases before it only; None when fewer than two
    inner cutoffs have enough customers."""
    with threadpool_limits(limits=1):  # dbt runs models in parallel threads
        return _fit_predict(days, cutoff, horizon_days, settings, seed)


def _fit_predict(days, cutoff, horizon_days, settings, seed):
    days = days[days["day"] < pd.Timestamp(cutoff)]
    training = training_rows(days, cutoff, settings)
    if training.empty or training["horizon_weeks"].nunique() < 2:
        return None
    if len(training) > settings.max_training_rows:
        training = training.sample(n=settings.max_training_rows, random_state=seed)
    scoring = customer_features(days, cutoff).assign(horizon_weeks=horizon_days / WEEK)
    boosting = {
        "learning_rate": settings.learning_rate,
        "max_iter": settings.max_iter,
        "min_samples_leaf": settings.min_samples_leaf,
        "early_stopping": False,
        "random_state": seed,
    }
    edges = _quantile_edges(training[FEATURES].to_numpy(dtype=float))
    x_train = _discretize(training[FEATURES].to_numpy(dtype=float), edges)
    x_score = _discretize(scoring[FEATURES].to_numpy(dtype=float), edges)
    exposure = training["horizon_weeks"].to_numpy(dtype=float)
    predicted = {}
    for target in ("purchases", "spend"):
        model = HistGradientBoostingRegressor(loss="poisson", **boosting)
        rate = training[target].to_numpy(dtype=float) / exposure
        model.fit(x_train, rate, sample_weight=exposure)
        predicted[target] = model.predict(x_score) * scoring["horizon_weeks"]
    churned = (training["purchases"].to_numpy() == 0).astype(int)
    if 0 < churned.sum() < len(churned):
        classifier = HistGradientBoostingClassifier(**boosting)
        classifier.fit(x_train, churned)
        churn = classifier.predict_proba(x_score)[:, 1]
    else:
        churn = np.full(len(scoring), float(churned.mean()))
    bgnbd = _bgnbd(scoring, horizon_days)
    return pd.DataFrame(
        {
            "bgnbd_purchases": bgnbd["purchases"].to_numpy(),
            "bgnbd_spend": bgnbd["spend"].to_numpy(),
            "bgnbd_prob_no_purchase": bgnbd["prob_no_purchase"].to_numpy(),
            "ml_purchases": np.asarray(predicted["purchases"], dtype=float),
            "ml_spend": np.asarray(predicted["spend"], dtype=float),
            "ml_churn_probability": churn,
        },
        index=scoring.index,
    )


@dataclass(frozen=True)
class Weights:
    """The ML share of the ensemble for each prediction (0 = BG/NBD alone)."""

    count: float
    spend: float
    churn: float


def _quantile_edges(x: np.ndarray, bins: int = 255) -> list[np.ndarray]:
    """Per column, the distinct unweighted quantiles cutting it into ``bins``."""
    levels = np.linspace(0, 1, bins + 1)[1:-1]
    return [np.unique(np.quantile(column, levels)) for column in x.T]


def _discretize(x: np.ndarray, edges: list[np.ndarray]) -> np.ndarray:
    """Each value -> its quantile bin. At most 255 distinct values a column keeps
    the boosting from binning by weighted percentiles, which sklearn does slowly
    when sample weights are given; the trees see the same order either way."""
    return np.column_stack(
        [
            np.searchsorted(e, column, side="right")
            for e, column in zip(edges, x.T, strict=True)
        ]
    ).astype(float)


def blend(predictions: pd.DataFrame, weights: Weights) -> pd.DataFrame:
    """ensemble_purchases, ensemble_spend and ensemble_churn_score (rank blend)."""
    n = max(len(predictions), 1)
    ranks_bgnbd = rankdata(predictions["bgnbd_prob_no_purchase"]) / n
    ranks_ml = rankdata(predictions["ml_churn_probability"]) / n
    return pd.DataFrame(
        {
            "ensemble_purchases": (1 - weights.count) * predictions["bgnbd_purchases"]
            + weights.count * predictions["ml_purchases"],
            "ensemble_spend": (1 - weights.spend) * predictions["bgnbd_spend"]
            + weights.spend * predictions["ml_spend"],
            "ensemble_churn_score": (1 - weights.churn) * ranks_bgnbd
            + weights.churn * ranks_ml,
        },
        index=predictions.index,
    )


def choose_weights(
    days: pd.DataFrame, cutoff, *, settings: Settings = Settings(), seed: int = 42
) -> tuple[Weights | None, pd.Timestamp, pd.DataFrame]:
    """The blend weights chosen on the inner split that holds out the last
    ``validation_days`` before ``cutoff`` (lowest count RMSE, lowest spend RMSE,
    highest churn AUC); also the inner cutoff and one row per weight with those
    metrics. None when the history is too short."""
    cutoff = pd.Timestamp(cutoff)
    validation_cutoff = cutoff - pd.Timedelta(days=settings.validation_days)
    inner = fit_predict(
        days[days["day"] < cutoff],
        validation_cutoff,
        settings.validation_days,
        settings=settings,
        seed=seed,
    )
    if inner is None:
        return None, validation_cutoff, pd.DataFrame()
    actual = window_labels(days, validation_cutoff, cutoff).reindex(inner.index)
    actual = actual.fillna(0)
    churned = (actual["purchases"].to_numpy() == 0).astype(int)
    rows = []
    for weight in settings.weights:
        blended = blend(inner, Weights(weight, weight, weight))
        score = blended["ensemble_churn_score"].to_numpy()
        rows.append(
            {
                "weight": weight,
                "count_rmse": _rmse(blended["ensemble_purchases"], actual["purchases"]),
                "spend_rmse": _rmse(blended["ensemble_spend"], actual["spend"]),
                "churn_auc": float(roc_auc_score(churned, score))
                if 0 < churned.sum() < len(churned)
                else 0.5,
            }
        )
    table = pd.DataFrame(rows)

    def best(metric: str, lower_is_better: bool) -> float:
        order = table.assign(key=table[metric] if lower_is_better else -table[metric])
        return float(order.sort_values(["key", "weight"], kind="stable").iloc[0, 0])

    weights = Weights(
        count=best("count_rmse", True),
        spend=best("spend_rmse", True),
        churn=best("churn_auc", False),
    )
    return weights, validation_cutoff, table


def _rmse(predicted: pd.Series, actual: pd.Series) -> float:
    error = predicted.to_numpy(dtype=float) - actual.to_numpy(dtype=float)
    return float(np.sqrt(np.mean(error**2)))


def fingerprint(days: pd.DataFrame, cutoff, horizon_days, seed, settings) -> str:
    """sha256 of the purchases before ``cutoff``, every setting and the method
    version."""
    before = days[days["day"] < pd.Timestamp(cutoff)]
    digest = hashlib.sha256()
    digest.update(pd.util.hash_pandas_object(before, index=False).to_numpy().tobytes())
    digest.update(repr((str(pd.Timestamp(cutoff)), horizon_days, seed)).encode())
    digest.update(repr((settings, METHOD_VERSION)).encode())
    return digest.hexdigest()


def empty_scores() -> pd.DataFrame:
    """No rows, with the column types of a scored frame (so SQL unions type)."""
    frame = pd.DataFrame({column: pd.Series(dtype=float) for column in SCORE_COLUMNS})
    return frame.astype(
        {
            "customer_id": str,
            "validation_cutoff": "datetime64[s]",
            "input_fingerprint": str,
        }
    )


def load_activity(relation, backtest_cutoff) -> pd.DataFrame:
    """The rows of ``int_customer_days_aggregated`` (a DuckDB relation) that
    :func:`score_at_backtest` uses: purchase days before the cutoff, four columns.
    At 10M lines, 260,813 of 466,503 rows and 7 of 33 MB."""
    cutoff = pd.Timestamp(backtest_cutoff).date().isoformat()
    return (
        relation.filter(f"has_purchase and activity_date < date '{cutoff}'")
        .project(", ".join(ACTIVITY_COLUMNS))
        .df()
    )


def score_at_backtest(
    activity: pd.DataFrame,
    *,
    backtest_cutoff,
    holdout_days: float,
    seed: int = 42,
    settings: Settings = Settings(),
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """ML and ensemble predictions over the holdout for every customer seen
    before ``backtest_cutoff``; empty (with a log line) when the history is too
    short. ``previous`` (last build's output) is returned as it is when it was
    computed from the same purchases and settings."""
    days = purchase_days(activity)
    cutoff = pd.Timestamp(backtest_cutoff)
    key = fingerprint(days, cutoff, float(holdout_days), seed, settings)
    reused = fingerprints.reuse_if_unchanged(previous, key, SCORE_COLUMNS)
    if reused is not None:
        log.info("ML regression backtest unchanged since the last build")
        return reused
    weights, validation_cutoff, table = choose_weights(
        days, cutoff, settings=settings, seed=seed
    )
    predictions = (
        None
        if weights is None
        else fit_predict(
            days, cutoff, float(holdout_days), settings=settings, seed=seed
        )
    )
    if predictions is None:
        log.warning(
            "ML regression backtest skipped: too little history before %s",
            cutoff.date(),
        )
        return empty_scores()
    log.info(
        "ensemble weights %s chosen on the inner split at %s:\n%s",
        weights,
        validation_cutoff.date(),
        table.to_string(index=False),
    )
    out = predictions[["ml_purchases", "ml_spend", "ml_churn_probability"]].join(
        blend(predictions, weights)
    )
    out = out.reset_index(names="customer_id")
    out["count_weight"] = weights.count
    out["spend_weight"] = weights.spend
    out["churn_weight"] = weights.churn
    out["validation_cutoff"] = validation_cutoff.date()
    out["input_fingerprint"] = key
    return out[SCORE_COLUMNS]
