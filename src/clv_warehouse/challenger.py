"""Challenger CLV model: BG/NBD + Gamma-Gamma corrected by gradient boosting.

The champion (:mod:`clv_warehouse.probabilistic`) forecasts each customer's
purchases with BG/NBD and their spend per purchase with Gamma-Gamma. The
challenger keeps those forecasts as a *baseline* and learns, from the
customers' own history inside the calibration period, where the baseline is
systematically wrong:

1. **Training cutoffs inside the calibration period.** ``fit`` chooses a few
   earlier cutoffs ``c_k = calibration_end - H_k`` (label horizons ``H_k``,
   by default a quarter, three eighths and a half of the observed span, at
   least ``min_label_days``). At each one it refits BG/NBD and Gamma-Gamma on
   the data up to ``c_k``, builds customer features (:func:`build_features`)
   and takes as labels what the customers did in ``(c_k, calibration_end]``.
   Nothing after ``calibration_end`` is ever read.
2. **Horizon-free targets.** A 39-week forecast cannot be labelled inside a
   39-week calibration period, so the models learn *ratios to the baseline*
   over the label horizon rather than raw counts: a Poisson gradient-boosting
   model of ``purchases / E_bgnbd(H)`` (sample weight ``E_bgnbd(H)``, i.e. a
   Poisson regression with offset ``log E_bgnbd(H)``), and one of ``spend /
   (E_bgnbd(H) * E_gg)``. At prediction time the learned ratios multiply the
   BG/NBD (and Gamma-Gamma) forecast over the requested horizon, so the
   horizon dependence comes from the parametric model and the customer-level
   correction from the learned model.
3. **Churn** (no purchase in the horizon) is a gradient-boosting classifier
   whose features include ``logit P_bgnbd(no purchase in H)``; at prediction
   time this feature is evaluated for the requested horizon.

All functions are pure (no I/O). Inputs are customer-day transaction frames
with columns ``customer_id, date, value`` (one row per customer and day; rows
of the same customer and day are summed anyway). Everything is seeded and
deterministic.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from clv_warehouse import probabilistic as pr

__all__ = [
    "FEATURE_COLUMNS",
    "ChallengerModel",
    "build_features",
    "fit",
    "predict",
]

#: Time unit of the BG/NBD model inside this module (weeks).
_UNIT_DAYS = 7.0
#: Recent-activity windows (days) for count and spend features.
_WINDOWS = (28, 56, 91)
#: Columns of :func:`build_features` used as model inputs.
FEATURE_COLUMNS = [
    "frequency",
    "recency",
    "T",
    "days_since_last",
    "rate",
    "recency_ratio",
    "gap_mean",
    "gap_std",
    "gap_last",
    "overdue",
    "n_28",
    "n_56",
    "n_91",
    "spend_91",
    "value_mean",
    "value_first",
    "value_last",
    "value_max",
    "value_cv",
    "prob_alive",
    "bg_rate_13",
    "gg_spend",
]
_EPS = 1e-9


@dataclass(frozen=True)
class ChallengerModel:
    """A fitted challenger.

    ``bgnbd``/``gg`` are the baseline models fitted on all data up to
    ``calibration_end``; ``count_model``, ``spend_model`` and ``churn_model``
    the learned corrections (``None`` when there was too little data to train
    them, in which case the baseline is used); ``count_level`` /
    ``spend_level`` are aggregate multipliers (1.0 unless ``fit`` was asked to
    learn them); ``training`` records the cutoffs, horizons and row counts used.
    """

    calibration_end: pd.Timestamp
    bgnbd: pr.BgNbdParams
    gg: pr.GammaGammaParams | None
    count_model: Any
    spend_model: Any
    churn_model: Any
    count_level: float = 1.0
    spend_level: float = 1.0
    features: tuple[str, ...] = tuple(FEATURE_COLUMNS)
    training: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------
# Data preparation and features
# --------------------------------------------------------------------------


def _daily(transactions_df: pd.DataFrame) -> pd.DataFrame:
    """Validated customer-day frame ``customer_id, day, value`` sorted."""
    missing = [c for c in ("customer_id", "date", "value") if c not in transactions_df]
    if missing:
        raise ValueError(f"transactions_df is missing column(s): {', '.join(missing)}")
    dates = pd.to_datetime(transactions_df["date"])
    if dates.isna().any():
        raise ValueError("date has missing values")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    values = pd.to_numeric(transactions_df["value"], errors="coerce")
    if values.isna().any():
        raise ValueError("value has missing or non-numeric values")
    frame = pd.DataFrame(
        {
            "customer_id": transactions_df["customer_id"].to_numpy(),
            "day": dates.dt.normalize().to_numpy(),
            "value": values.to_numpy(dtype=float),
        }
    )
    if frame["customer_id"].isna().any():
        raise ValueError("customer_id has missing values")
    return frame.groupby(["customer_id", "day"], sort=True, as_index=False)[
        "value"
    ].sum()


def _rfm_features(daily: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per-customer history features at ``cutoff`` (data on/before it only)."""
    d = daily[daily["day"] <= cutoff]
    if d.empty:
        return pd.DataFrame(columns=["customer_id"])
    codes, uniques = pd.factorize(d["customer_id"], sort=False)
    n_cust = len(uniques)
    day_num = (d["day"].to_numpy() - cutoff.to_datetime64()) / np.timedelta64(1, "D")
    age = -day_num  # days before the cutoff (>= 0)
    val = d["value"].to_numpy(dtype=float)
    # rows are sorted by (customer, day) so within a code days ascend
    order = np.argsort(codes, kind="stable")
    codes, age, val = codes[order], age[order], val[order]
    starts = np.r_[0, np.flatnonzero(np.diff(codes)) + 1]
    ends = np.r_[starts[1:], codes.size]
    n = (ends - starts).astype(float)
    first_age = age[starts]
    last_age = age[ends - 1]
    total = np.add.reduceat(val, starts)
    value_first = val[starts]
    value_last = val[ends - 1]
    value_max = np.maximum.reduceat(val, starts)
    sq = np.add.reduceat(val * val, starts)
    value_mean = total / n
    value_sd = np.sqrt(np.maximum(sq / n - value_mean**2, 0.0))
    x = n - 1.0
    # inter-purchase gaps (days)
    gaps = -np.diff(age)
    same = codes[1:] == codes[:-1]
    gcode = codes[1:][same]
    gaps = gaps[same]
    gsum = np.bincount(gcode, weights=gaps, minlength=n_cust)
    gsq = np.bincount(gcode, weights=gaps * gaps, minlength=n_cust)
    gcnt = np.bincount(gcode, minlength=n_cust).astype(float)
    gap_last = np.full(n_cust, np.nan)
    rep = x > 0
    gap_last[rep] = age[ends[rep] - 2] - age[ends[rep] - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        gap_mean = np.where(gcnt > 0, gsum / np.maximum(gcnt, 1), np.nan)
        gap_var = np.where(gcnt > 1, gsq / np.maximum(gcnt, 1) - gap_mean**2, np.nan)
    gap_std = np.sqrt(np.maximum(gap_var, 0.0))
    recency_days = first_age - last_age
    t_days = first_age
    out = {
        "customer_id": uniques.to_numpy() if hasattr(uniques, "to_numpy") else uniques,
        "frequency": x,
        "recency": recency_days / _UNIT_DAYS,
        "T": t_days / _UNIT_DAYS,
        "days_since_last": last_age,
        "rate": x / np.maximum(t_days / _UNIT_DAYS, 1.0),
        "recency_ratio": recency_days / np.maximum(t_days, 1.0),
        "gap_mean": gap_mean,
        "gap_std": gap_std,
        "gap_last": gap_last,
        "overdue": np.where(rep, last_age / np.maximum(gap_mean, 1.0), np.nan),
        "value_mean": value_mean,
        "value_first": value_first,
        "value_last": value_last,
        "value_max": value_max,
        "value_cv": value_sd / np.maximum(np.abs(value_mean), _EPS),
        "monetary_value": np.where(rep, (total - value_first) / np.maximum(x, 1), 0.0),
    }
    for w in _WINDOWS:
        out[f"n_{w}"] = np.bincount(codes, weights=(age < w).astype(float), minlength=n_cust)
    out["spend_91"] = np.bincount(codes, weights=val * (age < 91), minlength=n_cust)
    return pd.DataFrame(out)


def _fit_baseline(
    feats: pd.DataFrame,
) -> tuple[pr.BgNbdParams | None, pr.GammaGammaParams | None]:
    """BG/NBD and Gamma-Gamma on a feature frame (None when not identifiable)."""
    x = feats["frequency"].to_numpy()
    bg = gg = None
    if len(feats) and np.any(x > 0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            bg = pr.fit_bgnbd(x, feats["recency"], feats["T"])
            m = feats["monetary_value"].to_numpy()
            if np.any((x > 0) & (m > 0)):
                try:
                    gg = pr.fit_gamma_gamma(x, np.maximum(m, 0.0))
                except ValueError:
                    gg = None
                if gg is not None and gg.q <= 1.0:
                    gg = None
    return bg, gg


def _baseline_columns(
    feats: pd.DataFrame,
    bg: pr.BgNbdParams | None,
    gg: pr.GammaGammaParams | None,
    horizon_days: float,
) -> pd.DataFrame:
    """Add BG/NBD / Gamma-Gamma outputs for ``horizon_days`` to ``feats``."""
    out = feats.copy()
    n = len(out)
    h = horizon_days / _UNIT_DAYS
    x = out["frequency"].to_numpy()
    rec = out["recency"].to_numpy()
    t_obs = out["T"].to_numpy()
    if bg is not None and n:
        e_h = pr.bgnbd_expected_purchases(bg, h, x, rec, t_obs)
        e_13 = pr.bgnbd_expected_purchases(bg, 13.0, x, rec, t_obs)
        alive = pr.bgnbd_prob_alive(bg, x, rec, t_obs)
        p0 = pr.bgnbd_prob_no_purchase(bg, h, x, rec, t_obs)
    else:  # no repeat purchase at all: fall back to the empirical rate
        rate = float(x.sum() / max(t_obs.sum(), _EPS)) if n else 0.0
        e_h = np.full(n, rate * h)
        e_13 = np.full(n, rate * 13.0)
        alive = np.ones(n)
        p0 = np.exp(-e_h)
    if gg is not None and n:
        spend = pr.gamma_gamma_expected_spend(
            gg, x, np.maximum(out["monetary_value"].to_numpy(), 0.0)
        )
    else:
        spend = np.full(n, float(out["value_mean"].mean()) if n else 0.0)
    out["bg_expected"] = np.maximum(e_h, 0.0)
    out["bg_rate_13"] = np.maximum(e_13, 0.0) / 13.0
    out["prob_alive"] = alive
    out["bg_prob_no_purchase"] = np.clip(p0, 1e-6, 1 - 1e-6)
    out["gg_spend"] = np.maximum(spend, 0.0)
    return out


def build_features(
    transactions_df: pd.DataFrame,
    cutoff_date: Any,
    *,
    horizon_days: float = 91.0,
    bgnbd: pr.BgNbdParams | None = None,
    gg: pr.GammaGammaParams | None = None,
) -> pd.DataFrame:
    """Customer features at ``cutoff_date`` from transactions on or before it.

    ``transactions_df`` has ``customer_id, date, value`` (customer-day rows;
    duplicates are summed). One row per customer with a purchase on or before
    the cutoff, in order of first appearance, with ``customer_id``, the
    :data:`FEATURE_COLUMNS` and ``monetary_value`` (mean repeat value, the
    Gamma-Gamma input), ``bg_expected`` (BG/NBD expected purchases in the
    next ``horizon_days``), ``bg_prob_no_purchase`` (BG/NBD P(no purchase in
    the next ``horizon_days``)). Times ``recency, T`` are in weeks;
    ``days_since_last, gap_*`` in days; ``n_W`` / ``spend_91`` count purchase
    days / spend in the last W days; ``overdue`` = days since last purchase /
    mean gap. BG/NBD and Gamma-Gamma are fitted on the same data unless
    ``bgnbd`` / ``gg`` are given.
    """
    cutoff = pd.Timestamp(cutoff_date).normalize()
    feats = _rfm_features(_daily(transactions_df), cutoff)
    if bgnbd is None and gg is None:
        bgnbd, gg = _fit_baseline(feats)
    return _baseline_columns(feats, bgnbd, gg, float(horizon_days))


# --------------------------------------------------------------------------
# Fit and predict
# --------------------------------------------------------------------------


def _label_horizons(
    span_days: float, fractions: tuple[float, ...], min_label_days: float
) -> list[int]:
    hs = sorted({int(round(max(f * span_days, min_label_days))) for f in fractions})
    return [h for h in hs if span_days - h >= min_label_days]


def _matrix(frame: pd.DataFrame, horizon_days: float) -> np.ndarray:
    cols = [frame[c].to_numpy(dtype=float) for c in FEATURE_COLUMNS]
    p0 = frame["bg_prob_no_purchase"].to_numpy(dtype=float)
    cols.append(np.log(p0 / (1.0 - p0)))
    cols.append(np.log(frame["bg_expected"].to_numpy(dtype=float) + 1e-6))
    return np.column_stack(cols)


def _training_rows(
    daily: pd.DataFrame,
    calibration_end: pd.Timestamp,
    horizons: list[int],
    max_rows_per_cutoff: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    parts = []
    for h in horizons:
        cut = calibration_end - pd.Timedelta(days=h)
        feats = _rfm_features(daily, cut)
        if len(feats) < 2:
            continue
        bg, gg = _fit_baseline(feats)
        if bg is None:
            continue
        feats = _baseline_columns(feats, bg, gg, float(h))
        window = daily[(daily["day"] > cut) & (daily["day"] <= calibration_end)]
        lab = window.groupby("customer_id", sort=False).agg(
            y_count=("day", "size"), y_spend=("value", "sum")
        )
        feats = feats.join(lab, on="customer_id")
        feats[["y_count", "y_spend"]] = feats[["y_count", "y_spend"]].fillna(0.0)
        feats["horizon_days"] = float(h)
        if len(feats) > max_rows_per_cutoff:
            keep = np.sort(rng.choice(len(feats), max_rows_per_cutoff, replace=False))
            feats = feats.iloc[keep]
        parts.append(feats)
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)


def fit(
    transactions_df: pd.DataFrame,
    *,
    calibration_end: Any,
    seed: int = 42,
    horizon_fractions: tuple[float, ...] = (0.25, 0.375, 0.5),
    min_label_days: float = 28.0,
    min_training_customers: int = 200,
    max_rows_per_cutoff: int = 200_000,
    learning_rate: float = 0.05,
    max_iter: int = 200,
    max_leaf_nodes: int = 15,
    min_samples_leaf: int = 100,
    l2_regularization: float = 1.0,
) -> ChallengerModel:
    """Fit the challenger on transactions up to ``calibration_end`` (inclusive).

    Rows dated after ``calibration_end`` are dropped first, so they cannot
    influence the model. The baseline BG/NBD + Gamma-Gamma are fitted on all
    data up to ``calibration_end``. Training cutoffs are ``calibration_end -
    H`` for label horizons ``H = max(f * span, min_label_days)`` days, ``f`` in
    ``horizon_fractions`` and ``span`` = days from the first transaction to
    ``calibration_end`` (horizons leaving less than ``min_label_days`` of
    history are skipped). With fewer than ``min_training_customers`` training
    rows, or no usable cutoff, the learned parts are ``None`` and
    :func:`predict` returns the plain baseline. Gradient-boosting settings are
    shared by the three models; ``seed`` fixes subsampling and the models.
    """
    end = pd.Timestamp(calibration_end).normalize()
    daily = _daily(transactions_df)
    daily = daily[daily["day"] <= end]
    feats = _rfm_features(daily, end)
    if feats.empty:
        raise ValueError("no transactions on or before calibration_end")
    bg, gg = _fit_baseline(feats)
    if bg is None:
        raise ValueError(
            "the BG/NBD baseline needs at least one repeat purchase before "
            "calibration_end"
        )
    rng = np.random.default_rng(seed)
    span = float((end - daily["day"].min()).days)
    horizons = _label_horizons(span, horizon_fractions, min_label_days)
    rows = _training_rows(daily, end, horizons, max_rows_per_cutoff, rng)
    training: dict[str, Any] = {
        "horizons_days": horizons,
        "cutoffs": [str((end - pd.Timedelta(days=h)).date()) for h in horizons],
        "rows": int(len(rows)),
    }
    count_model = spend_model = churn_model = None
    if len(rows) >= min_training_customers and rows["y_count"].sum() > 0:
        kw = {
            "learning_rate": learning_rate,
            "max_iter": max_iter,
            "max_leaf_nodes": max_leaf_nodes,
            "min_samples_leaf": min_samples_leaf,
            "l2_regularization": l2_regularization,
            "random_state": seed,
            "early_stopping": False,
        }
        xmat = np.column_stack(
            [_matrix(rows, 0.0)]
        )
        e = np.maximum(rows["bg_expected"].to_numpy(), 1e-6)
        y = rows["y_count"].to_numpy(dtype=float)
        count_model = HistGradientBoostingRegressor(loss="poisson", **kw)
        count_model.fit(xmat, y / e, sample_weight=e)
        base_spend = np.maximum(e * rows["gg_spend"].to_numpy(), 1e-6)
        ys = np.maximum(rows["y_spend"].to_numpy(dtype=float), 0.0)
        if ys.sum() > 0:
            spend_model = HistGradientBoostingRegressor(loss="poisson", **kw)
            spend_model.fit(xmat, ys / base_spend, sample_weight=base_spend)
        churn = (y == 0).astype(int)
        if 0 < churn.sum() < churn.size:
            churn_model = HistGradientBoostingClassifier(**kw)
            churn_model.fit(xmat, churn)
    return ChallengerModel(
        calibration_end=end,
        bgnbd=bg,
        gg=gg,
        count_model=count_model,
        spend_model=spend_model,
        churn_model=churn_model,
        training=training,
    )


def predict(
    model: ChallengerModel,
    transactions_df: pd.DataFrame,
    *,
    calibration_end: Any,
    horizon_days: float,
) -> pd.DataFrame:
    """Forecast each customer's next ``horizon_days`` after ``calibration_end``.

    Uses only transactions on or before ``calibration_end``. Returns one row
    per customer with a purchase by then, sorted by ``customer_id``:
    ``predicted_purchases`` (purchase days), ``predicted_spend`` and
    ``churn_probability`` (P(no purchase in the horizon)).
    """
    if not (horizon_days > 0 and math.isfinite(horizon_days)):
        raise ValueError("horizon_days must be a positive number")
    end = pd.Timestamp(calibration_end).normalize()
    daily = _daily(transactions_df)
    daily = daily[daily["day"] <= end]
    feats = _rfm_features(daily, end)
    if feats.empty:
        return pd.DataFrame(
            columns=[
                "customer_id",
                "predicted_purchases",
                "predicted_spend",
                "churn_probability",
            ]
        )
    feats = _baseline_columns(feats, model.bgnbd, model.gg, float(horizon_days))
    e = feats["bg_expected"].to_numpy()
    base_spend = e * feats["gg_spend"].to_numpy()
    p0 = feats["bg_prob_no_purchase"].to_numpy()
    xmat = _matrix(feats, float(horizon_days))
    count = e if model.count_model is None else e * model.count_model.predict(xmat)
    spend = (
        base_spend
        if model.spend_model is None
        else base_spend * model.spend_model.predict(xmat)
    )
    churn = p0 if model.churn_model is None else model.churn_model.predict_proba(xmat)[:, 1]
    out = pd.DataFrame(
        {
            "customer_id": feats["customer_id"].to_numpy(),
            "predicted_purchases": np.maximum(count * model.count_level, 0.0),
            "predicted_spend": np.maximum(spend * model.spend_level, 0.0),
            "churn_probability": np.clip(churn, 0.0, 1.0),
        }
    )
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)
