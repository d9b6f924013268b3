"""Warehouse glue: fit and score per cutoff from the summary table's columns."""

import numpy as np
import pandas as pd
import pytest

from clv_warehouse import clv_models, probabilistic


@pytest.fixture(scope="module")
def summaries():
    truth = probabilistic.BgNbdParams(r=0.25, alpha=4.4, a=0.8, b=2.4)
    gg = probabilistic.GammaGammaParams(p=6.25, q=3.74, v=15.44)
    simulated = probabilistic.simulate_customers(4000, truth, gg, T=52.0, seed=7)
    frames = []
    for cutoff_id, holdout in (("backtest", 273), ("scoring", None)):
        frames.append(
            pd.DataFrame(
                {
                    "cutoff_id": cutoff_id,
                    "customer_id": simulated["customer_id"].astype(str),
                    "frequency": simulated["frequency"].astype(int),
                    "recency_span_days": np.round(simulated["recency"] * 7),
                    "tenure_days": np.round(simulated["T"] * 7),
                    "repeat_monetary_value": simulated["monetary_value"],
                    "holdout_days": holdout,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def test_fit_gives_one_row_per_parameter_and_cutoff(summaries):
    params = clv_models.fit_at_cutoffs(summaries)
    assert list(params.columns) == clv_models.PARAMETER_COLUMNS
    assert len(params) == 2 * 7
    assert params["is_converged"].all()
    backtest = params[params["cutoff_id"] == "backtest"].set_index("parameter_name")
    assert backtest.loc["r", "parameter_value"] == pytest.approx(0.25, rel=0.25)
    assert backtest.loc["p", "parameter_value"] == pytest.approx(6.25, rel=0.3)


def test_score_uses_the_holdout_as_horizon_for_backtests(summaries):
    params = clv_models.fit_at_cutoffs(summaries)
    scores = clv_models.score_at_cutoffs(
        summaries, params, horizon_months=12, annual_discount_rate=0.1
    )
    assert list(scores.columns) == clv_models.SCORE_COLUMNS
    assert len(scores) == len(summaries)
    horizons = scores.groupby("cutoff_id")["horizon_days"].first()
    assert horizons["backtest"] == 273
    assert horizons["scoring"] == 360
    assert scores["prob_no_purchase"].between(0, 1).all()
    assert (scores["clv"] >= 0).all()
    expected = scores["expected_purchases"] * scores["expected_order_value"]
    assert np.allclose(scores["expected_spend"], expected)


def test_scoring_is_deterministic(summaries):
    params = clv_models.fit_at_cutoffs(summaries)
    first = clv_models.score_at_cutoffs(
        summaries, params, horizon_months=12, annual_discount_rate=0.1
    )
    second = clv_models.score_at_cutoffs(
        summaries,
        clv_models.fit_at_cutoffs(summaries),
        horizon_months=12,
        annual_discount_rate=0.1,
    )
    pd.testing.assert_frame_equal(first, second)


def test_fit_does_not_depend_on_row_order(summaries):
    shuffled = summaries.sample(frac=1.0, random_state=7).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        clv_models.fit_at_cutoffs(summaries),
        clv_models.fit_at_cutoffs(shuffled),
        check_exact=True,
    )


def test_a_cutoff_with_unchanged_input_keeps_last_builds_parameters(summaries):
    first = clv_models.fit_at_cutoffs(summaries)
    previous = first.assign(parameter_value=-1.0)  # marked, so a reuse shows
    changed = summaries.copy()
    scoring = changed["cutoff_id"] == "scoring"
    changed.loc[scoring.idxmax(), "frequency"] += 1  # one scoring customer
    again = clv_models.fit_at_cutoffs(changed, previous=previous)
    reused = again["cutoff_id"] == "backtest"
    assert (again.loc[reused, "parameter_value"] == -1.0).all()
    assert (again.loc[~reused, "parameter_value"] > 0).all()
    assert (
        again.loc[~reused, "input_fingerprint"]
        != first.loc[first["cutoff_id"] == "scoring", "input_fingerprint"].to_numpy()
    ).all()
    # the same rows in another order are the same input
    shuffled = summaries.sample(frac=1.0, random_state=3)
    assert (
        clv_models.fit_at_cutoffs(shuffled, previous=previous)["parameter_value"] == -1
    ).all()


def grouped_inputs(summaries: pd.DataFrame) -> pd.DataFrame:
    """ml_bgnbd_inputs' shape: identical (x, span, tenure) triples counted."""
    return (
        summaries.groupby(
            ["cutoff_id", "frequency", "recency_span_days", "tenure_days"],
            as_index=False,
        )
        .size()
        .rename(columns={"size": "customer_count"})
    )


def test_ml_cutoff_fit_on_grouped_rows_equals_the_per_customer_fit(summaries):
    params = clv_models.fit_bgnbd_at_ml_cutoffs(grouped_inputs(summaries))
    assert list(params.columns) == clv_models.ML_PARAMETER_COLUMNS
    assert list(params["cutoff_id"]) == ["backtest", "scoring"]
    assert params["is_converged"].all() and params["fit_problem"].isna().all()
    assert (params["customer_count"] == 4000).all()
    one = summaries[summaries["cutoff_id"] == "backtest"]
    direct = probabilistic.fit_bgnbd(
        one["frequency"].astype(float),
        one["recency_span_days"] / clv_models.TIME_UNIT_DAYS,
        one["tenure_days"] / clv_models.TIME_UNIT_DAYS,
    )
    row = params.iloc[0]
    for name in ("r", "alpha", "a", "b"):
        assert row[name] == pytest.approx(getattr(direct, name), rel=1e-4)


def test_ml_cutoff_fit_keeps_unchanged_cutoffs_and_survives_an_unfittable_one(
    summaries,
):
    grouped = grouped_inputs(summaries)
    first = clv_models.fit_bgnbd_at_ml_cutoffs(grouped)
    marked = first.assign(r=-1.0)  # shows where last build's rows are kept
    # a new early cutoff whose customers all bought once: not identifiable
    early = pd.DataFrame(
        {
            "cutoff_id": "early",
            "frequency": [0, 0],
            "recency_span_days": [0, 0],
            "tenure_days": [10, 20],
            "customer_count": [5, 3],
        }
    )
    changed = grouped.copy()
    changed.loc[changed["cutoff_id"] == "scoring", "customer_count"] += 1
    again = clv_models.fit_bgnbd_at_ml_cutoffs(
        pd.concat([changed, early], ignore_index=True), previous=marked
    ).set_index("cutoff_id")
    assert again.loc["backtest", "r"] == -1.0  # unchanged: kept
    assert again.loc["scoring", "r"] > 0  # changed: refitted
    assert pd.isna(again.loc["early", "r"]) and not again.loc["early", "is_converged"]
    assert (
        "at least one customer with frequency > 0" in again.loc["early", "fit_problem"]
    )
    assert again.loc["early", "customer_count"] == 8


def test_ml_cutoff_fit_samples_large_cutoffs_reproducibly(summaries):
    grouped = grouped_inputs(summaries)
    full = clv_models.fit_bgnbd_at_ml_cutoffs(grouped).set_index("cutoff_id")
    sampled = clv_models.fit_bgnbd_at_ml_cutoffs(grouped, max_fit_customers=1500)
    again = clv_models.fit_bgnbd_at_ml_cutoffs(grouped, max_fit_customers=1500)
    pd.testing.assert_frame_equal(sampled, again)
    sampled = sampled.set_index("cutoff_id")
    assert (sampled["customer_count"] == 4000).all()  # the population, not the sample
    assert (sampled["r"] != full["r"]).all()  # fitted on fewer customers
    assert sampled["r"].to_numpy() == pytest.approx(full["r"].to_numpy(), rel=0.3)
    # the sample setting is part of the fingerprint: no reuse across settings
    assert (sampled["input_fingerprint"] != full["input_fingerprint"]).all()
