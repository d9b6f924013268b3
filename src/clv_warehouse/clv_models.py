"""Warehouse glue for the probabilistic CLV models: fit and score per cutoff.

The dbt Python models ``int_clv_models_fitted`` and ``int_customer_clv_scored``
call these two functions; everything here is pure pandas in, pandas out, so it
is tested without dbt. Time is measured in weeks (``TIME_UNIT_DAYS``) so the
stored parameters compare directly with the published CDNOW estimates.
"""

from __future__ import annotations

import logging
import zlib

import numpy as np
import pandas as pd

from clv_warehouse import fingerprints, probabilistic

TIME_UNIT_DAYS = 7.0

log = logging.getLogger(__name__)

PARAMETER_COLUMNS = [
    "cutoff_id",
    "model_name",
    "parameter_name",
    "parameter_value",
    "log_likelihood",
    "customer_count",
    "is_converged",
    "time_unit_days",
    "input_fingerprint",
]

SCORE_COLUMNS = [
    "cutoff_id",
    "customer_id",
    "horizon_days",
    "expected_purchases",
    "prob_alive",
    "prob_no_purchase",
    "expected_order_value",
    "expected_spend",
    "clv",
]


def _btyd_frame(summaries: pd.DataFrame) -> pd.DataFrame:
    """int_customers_summarized_at_cutoffs rows -> probabilistic.summarize shape."""
    return pd.DataFrame(
        {
            "customer_id": summaries["customer_id"].astype(str).to_numpy(),
            "frequency": summaries["frequency"].astype(float).to_numpy(),
            "recency": summaries["recency_span_days"].astype(float).to_numpy()
            / TIME_UNIT_DAYS,
            "T": summaries["tenure_days"].astype(float).to_numpy() / TIME_UNIT_DAYS,
            "monetary_value": summaries["repeat_monetary_value"]
            .astype(float)
            .to_numpy(),
        }
    )


def fit_at_cutoffs(
    summaries: pd.DataFrame, previous: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Fit BG/NBD and Gamma-Gamma once per cutoff; one row per parameter. A
    cutoff whose fit input is the same as in ``previous`` (last build's rows)
    keeps last build's parameters instead of being fitted again."""
    rows = []
    # The fit sums over rows: a fixed row order makes it bit-for-bit repeatable
    # whatever order the table's rows are stored in (incremental builds
    # rewrite rows, a full refresh writes them afresh).
    summaries = summaries.sort_values(["cutoff_id", "customer_id"], kind="stable")
    for cutoff_id, group in summaries.groupby("cutoff_id", sort=True):
        frame = _btyd_frame(group)
        fingerprint = fingerprints.columns_digest(frame, {"customer_id"})
        kept = fingerprints.reuse_if_unchanged(
            None if previous is None else previous[previous["cutoff_id"] == cutoff_id],
            fingerprint,
            PARAMETER_COLUMNS,
        )
        if kept is not None:
            log.info("CLV fit at cutoff %s: input unchanged, not refitted", cutoff_id)
            rows.extend(kept.to_dict("records"))
            continue
        bgnbd = probabilistic.fit_bgnbd(
            frame["frequency"], frame["recency"], frame["T"]
        )
        gamma_gamma = probabilistic.fit_gamma_gamma(
            frame["frequency"], frame["monetary_value"]
        )
        for model_name, params, names in (
            ("bgnbd", bgnbd, ("r", "alpha", "a", "b")),
            ("gamma_gamma", gamma_gamma, ("p", "q", "v")),
        ):
            for name in names:
                rows.append(
                    {
                        "cutoff_id": cutoff_id,
                        "model_name": model_name,
                        "parameter_name": name,
                        "parameter_value": float(getattr(params, name)),
                        "log_likelihood": float(params.log_likelihood),
                        "customer_count": int(params.n_customers),
                        "is_converged": bool(params.converged),
                        "time_unit_days": TIME_UNIT_DAYS,
                        "input_fingerprint": fingerprint,
                    }
                )
    return pd.DataFrame(rows, columns=PARAMETER_COLUMNS)


def _params_of(parameters: pd.DataFrame, cutoff_id: str):
    rows = parameters[parameters["cutoff_id"] == cutoff_id]
    values = {
        (row.model_name, row.parameter_name): row.parameter_value
        for row in rows.itertuples()
    }
    bgnbd = probabilistic.BgNbdParams(
        r=values[("bgnbd", "r")],
        alpha=values[("bgnbd", "alpha")],
        a=values[("bgnbd", "a")],
        b=values[("bgnbd", "b")],
    )
    gamma_gamma = probabilistic.GammaGammaParams(
        p=values[("gamma_gamma", "p")],
        q=values[("gamma_gamma", "q")],
        v=values[("gamma_gamma", "v")],
    )
    return bgnbd, gamma_gamma


def score_at_cutoffs(
    summaries: pd.DataFrame,
    parameters: pd.DataFrame,
    *,
    horizon_months: int,
    annual_discount_rate: float,
) -> pd.DataFrame:
    """Score every (cutoff, customer) with the parameters fitted at that cutoff.

    The horizon of expected purchases is the holdout for a backtest cutoff and
    ``horizon_months`` months of 30 days otherwise; CLV is always discounted
    over ``horizon_months`` at the monthly equivalent of the annual rate.
    """
    monthly_rate = (1.0 + annual_discount_rate) ** (1.0 / 12.0) - 1.0
    frames = []
    for cutoff_id, group in summaries.groupby("cutoff_id", sort=True):
        bgnbd, gamma_gamma = _params_of(parameters, cutoff_id)
        holdout = group["holdout_days"].dropna()
        horizon_days = float(holdout.iloc[0]) if len(holdout) else 30.0 * horizon_months
        scored = probabilistic.score_customers(
            _btyd_frame(group),
            bgnbd,
            gamma_gamma,
            horizon_days=horizon_days,
            horizon_months=horizon_months,
            discount_rate_monthly=monthly_rate,
            time_unit_days=TIME_UNIT_DAYS,
        )
        scored.insert(0, "cutoff_id", cutoff_id)
        scored["horizon_days"] = horizon_days
        scored["expected_spend"] = (
            scored["expected_purchases"] * scored["expected_order_value"]
        )
        frames.append(scored[SCORE_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    return pd.concat(frames, ignore_index=True)


ML_PARAMETER_COLUMNS = [
    "cutoff_id",
    "r",
    "alpha",
    "a",
    "b",
    "log_likelihood",
    "customer_count",
    "is_converged",
    "fit_problem",
    "time_unit_days",
    "input_fingerprint",
]


ML_MAX_FIT_CUSTOMERS = 25_000


def fit_bgnbd_at_ml_cutoffs(
    grouped: pd.DataFrame,
    previous: pd.DataFrame | None = None,
    *,
    max_fit_customers: int = ML_MAX_FIT_CUSTOMERS,
    seed: int = 42,
) -> pd.DataFrame:
    """BG/NBD parameters at every ML cutoff, one row per cutoff.

    ``grouped``: ml_bgnbd_inputs rows (cutoff_id, frequency, recency_span_days,
    tenure_days, customer_count), identical whole-day triples already counted
    together; the fit weights each row by its count. A cutoff whose rows are
    those of ``previous`` (last build's output) keeps its parameters. A cutoff
    the model cannot be fitted at (no repeat buyer yet) gets null parameters
    and the reason in ``fit_problem``: the features computed from it are then
    null, which the models read as 0, instead of the build failing.

    A cutoff with more than ``max_fit_customers`` customers is fitted on a
    seeded sample of about that many (each row's count thinned binomially):
    the parameters describe the population, and at 10M lines (86k customers,
    23 cutoffs) the whole-population fits took 10 s of the build.
    ``customer_count`` stays the whole population."""
    rows = []
    grouped = grouped.sort_values(
        ["cutoff_id", "frequency", "recency_span_days", "tenure_days"], kind="stable"
    )
    for cutoff_id, group in grouped.groupby("cutoff_id", sort=True):
        frame = group[
            ["frequency", "recency_span_days", "tenure_days", "customer_count"]
        ].reset_index(drop=True)
        total = int(frame["customer_count"].sum())
        sampled = total > max_fit_customers
        fingerprint = fingerprints.columns_digest(
            frame.assign(sample=f"{max_fit_customers}|{seed}" if sampled else ""),
            {"sample"},
        )
        kept = fingerprints.reuse_if_unchanged(
            None if previous is None else previous[previous["cutoff_id"] == cutoff_id],
            fingerprint,
            ML_PARAMETER_COLUMNS,
        )
        if kept is not None:
            rows.extend(kept.to_dict("records"))
            continue
        weights = frame["customer_count"].to_numpy(dtype=np.int64)
        if sampled:
            rng = np.random.default_rng([seed, zlib.crc32(str(cutoff_id).encode())])
            weights = rng.binomial(weights, max_fit_customers / total)
        row = {
            "cutoff_id": cutoff_id,
            "customer_count": total,
            "time_unit_days": TIME_UNIT_DAYS,
            "input_fingerprint": fingerprint,
            "fit_problem": None,
        }
        try:
            params = probabilistic.fit_bgnbd(
                frame["frequency"].astype(float),
                frame["recency_span_days"].astype(float) / TIME_UNIT_DAYS,
                frame["tenure_days"].astype(float) / TIME_UNIT_DAYS,
                weights=weights.astype(float),
            )
        except ValueError as exc:  # e.g. no repeat buyer before an early cutoff
            log.warning("BG/NBD not fitted at ML cutoff %s: %s", cutoff_id, exc)
            row.update(
                {k: None for k in ("r", "alpha", "a", "b", "log_likelihood")},
                is_converged=False,
                fit_problem=str(exc).splitlines()[0],
            )
        else:
            row.update(
                r=params.r,
                alpha=params.alpha,
                a=params.a,
                b=params.b,
                log_likelihood=params.log_likelihood,
                is_converged=bool(params.converged),
            )
        rows.append(row)
    frame = pd.DataFrame(rows, columns=ML_PARAMETER_COLUMNS)
    return frame.astype(
        {
            "cutoff_id": str,
            **{c: float for c in ("r", "alpha", "a", "b", "log_likelihood")},
            "customer_count": "int64",
            "is_converged": bool,
            "time_unit_days": float,
            "fit_problem": "string",
            "input_fingerprint": str,
        }
    )
