"""covariate_bgnbd: BG/NBD whose purchase-rate and dropout priors depend on
customer covariates, fitted and scored from purchases before the cutoff."""

import numpy as np
import pandas as pd
import pytest
from conftest import bgnbd_events

from clv_warehouse import covariate_bgnbd as cb
from clv_warehouse import probabilistic as pr

R, ALPHA, A, B = 0.5, 6.0, 0.8, 2.5
GAMMA_ALPHA, GAMMA_B = -0.6, 0.4


def simulate(n, horizon, seed, gamma_alpha=GAMMA_ALPHA, gamma_b=GAMMA_B):
    """Event-level simulation with one standard-normal covariate z:
    lambda ~ Gamma(r, rate alpha e^(gamma_alpha z)), p ~ Beta(a, b e^(gamma_b z)).
    Returns x, t_x, T, z and the purchases in (T, T + horizon]."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(n)
    lam = rng.gamma(R, 1.0 / (ALPHA * np.exp(gamma_alpha * z)))
    n_death = rng.geometric(rng.beta(A, B * np.exp(gamma_b * z)))
    t_obs = rng.integers(20 * 7, 39 * 7 + 1, n) / 7.0
    x, tx, holdout = bgnbd_events(rng, lam, n_death, t_obs, horizon)
    return x, tx, t_obs, z[:, None], holdout


@pytest.fixture(scope="module")
def simulated():
    return simulate(30_000, 39.0, seed=3)


@pytest.fixture(scope="module")
def simulated_fit(simulated):
    x, tx, t_obs, z, _ = simulated
    return cb.fit(x, tx, t_obs, z)


def test_fit_recovers_the_covariate_effects(simulated, simulated_fit):
    params = simulated_fit
    assert params.converged
    # coefficients act on the standardized covariate (z is ~N(0, 1) already)
    scale = params.scales[0]
    assert params.gamma_alpha[0] / scale == pytest.approx(GAMMA_ALPHA, abs=0.12)
    assert params.gamma_b[0] / scale == pytest.approx(GAMMA_B, abs=0.25)
    assert params.r == pytest.approx(R, rel=0.15)
    x, tx, t_obs, _, _ = simulated
    plain = pr.fit_bgnbd(x, tx, t_obs)
    assert params.log_likelihood > plain.log_likelihood + 50


def test_predictions_match_the_simulated_holdout(simulated, simulated_fit):
    x, tx, t_obs, z, holdout = simulated
    scored = cb.predict(simulated_fit, 39.0, x, tx, t_obs, z)
    assert scored["expected_purchases"].mean() == pytest.approx(
        holdout.mean(), rel=0.05
    )
    assert scored["prob_no_purchase"].mean() == pytest.approx(
        (holdout == 0).mean(), abs=0.01
    )
    # within covariate groups too: the covariate is what plain BG/NBD misses
    high = z[:, 0] > 1
    assert scored["expected_purchases"][high].mean() == pytest.approx(
        holdout[high].mean(), rel=0.08
    )
    assert scored[["prob_alive", "prob_no_purchase"]].stack().between(0, 1).all()


def test_constant_covariates_give_the_plain_bgnbd(simulated):
    x, tx, t_obs, _, _ = simulated
    n = 5_000
    x, tx, t_obs = x[:n], tx[:n], t_obs[:n]
    params = cb.fit(x, tx, t_obs, np.ones((n, 2)))
    plain = pr.fit_bgnbd(x, tx, t_obs)
    assert params.gamma_alpha == (0.0, 0.0)
    assert params.gamma_b == (0.0, 0.0)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(params, name) == pytest.approx(getattr(plain, name), rel=1e-3)
    scored = cb.predict(params, 39.0, x, tx, t_obs, np.ones((n, 2)))
    np.testing.assert_allclose(
        scored["expected_purchases"],
        pr.bgnbd_expected_purchases(plain, 39.0, x, tx, t_obs),
        rtol=2e-3,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        scored["prob_no_purchase"],
        pr.bgnbd_prob_no_purchase(plain, 39.0, x, tx, t_obs),
        atol=1e-3,
    )


def test_bad_covariates_are_refused():
    with pytest.raises(ValueError, match="one row per customer"):
        cb.fit([0, 1], [0.0, 1.0], [2.0, 2.0], np.zeros((3, 1)))
    with pytest.raises(ValueError, match="finite"):
        cb.fit([0, 1], [0.0, 1.0], [2.0, 2.0], np.array([[0.0], [np.nan]]))


def activity():
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "c"],
            "activity_date": pd.to_datetime(
                ["2020-01-01", "2020-01-15", "2020-03-01", "2020-01-08", "2020-02-01"]
            ),
            "gross_amount": [10.0, 30.0, 99.0, 5.0, 7.0],
            "unit_count": [1, 3, 9, 2, 0],
            "has_purchase": [True, True, True, True, False],
        }
    )


def test_customer_summary_uses_purchases_before_the_cutoff_only():
    summary = cb.customer_summary(activity(), "2020-02-01").set_index("customer_id")
    # c has no purchase (a return-only day); a's 2020-03-01 purchase is after
    assert list(summary.index) == ["a", "b"]
    a = summary.loc["a"]
    assert a["frequency"] == 1
    assert a["recency"] == pytest.approx(14 / 7)
    assert a["T"] == pytest.approx(30 / 7)  # to 2020-01-31, the day before
    assert a["monetary_value"] == pytest.approx(30.0)
    assert a["log_mean_order_value"] == pytest.approx(np.log1p(20.0))
    assert a["log_first_units"] == pytest.approx(np.log1p(1.0))
    assert summary.loc["b", "monetary_value"] == 0.0


def activity_frame(customers: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for i in range(customers):
        day = int(rng.integers(0, 60))
        units = int(rng.integers(1, 5))
        while day < 300:
            rows.append((f"c{i:03d}", day, units * 12.5 * rng.gamma(4, 0.25), units))
            day += 1 + int(rng.exponential(40 / units))
    frame = pd.DataFrame(
        rows, columns=["customer_id", "day", "gross_amount", "unit_count"]
    )
    frame["activity_date"] = pd.Timestamp("2020-01-01") + pd.to_timedelta(
        frame.pop("day"), unit="D"
    )
    frame["has_purchase"] = True
    return frame


def test_score_at_backtest_scores_every_customer_before_the_cutoff():
    frame = activity_frame()
    scores = cb.score_at_backtest(frame, backtest_cutoff="2020-07-01", holdout_days=91)
    assert list(scores.columns) == cb.SCORE_COLUMNS
    assert len(scores) == 400 and scores["customer_id"].is_unique
    assert (scores["expected_purchases"] >= 0).all()
    np.testing.assert_allclose(
        scores["expected_spend"],
        scores["expected_purchases"] * scores["expected_order_value"],
    )
    np.testing.assert_allclose(
        scores["churn_score"], np.exp(-scores["expected_purchases"])
    )
    # purchases after the cutoff change nothing
    later = frame[frame["activity_date"] < pd.Timestamp("2020-07-01")]
    again = cb.score_at_backtest(later, backtest_cutoff="2020-07-01", holdout_days=91)
    pd.testing.assert_frame_equal(scores, again)


def test_no_purchases_give_no_rows_and_missing_columns_an_error():
    empty = cb.score_at_backtest(
        activity(), backtest_cutoff="2019-01-01", holdout_days=30
    )
    assert empty.empty and list(empty.columns) == cb.SCORE_COLUMNS
    with pytest.raises(ValueError, match="unit_count"):
        cb.customer_summary(activity().drop(columns="unit_count"), "2020-02-01")


def test_the_fit_uses_a_seeded_sample_of_customers_beyond_the_cap():
    frame = activity_frame()
    options = {"backtest_cutoff": "2020-07-01", "holdout_days": 91}
    full = cb.score_at_backtest(frame, **options)
    capped = cb.score_at_backtest(frame, **options, max_fit_customers=150)
    again = cb.score_at_backtest(frame, **options, max_fit_customers=150)
    pd.testing.assert_frame_equal(capped, again)
    assert capped["customer_id"].tolist() == full["customer_id"].tolist()
    assert not np.allclose(capped["expected_purchases"], full["expected_purchases"])
    np.testing.assert_allclose(
        capped["expected_purchases"].sum(), full["expected_purchases"].sum(), rtol=0.2
    )
    unchanged = cb.score_at_backtest(frame, **options, max_fit_customers=400)
    pd.testing.assert_frame_equal(unchanged, full)


def test_an_unchanged_input_returns_last_builds_rows_without_fitting():
    frame = activity_frame()
    options = {"backtest_cutoff": "2020-07-01", "holdout_days": 91}
    first = cb.score_at_backtest(frame, **options)
    # last build's rows, marked so that a reuse shows
    previous = first.assign(expected_purchases=-1.0)
    later = frame[frame["activity_date"] < pd.Timestamp("2020-07-01")]
    reused = cb.score_at_backtest(later, **options, previous=previous)
    assert (reused["expected_purchases"] == -1.0).all()
    # another cutoff, another holdout or other purchases: fitted again
    for changed in (
        {"backtest_cutoff": "2020-06-01", "holdout_days": 91},
        {"backtest_cutoff": "2020-07-01", "holdout_days": 90},
    ):
        again = cb.score_at_backtest(frame, **changed, previous=previous)
        assert (again["expected_purchases"] >= 0).all()
    fewer = frame.iloc[1:]
    refit = cb.score_at_backtest(fewer, **options, previous=previous)
    assert (refit["expected_purchases"] >= 0).all()
