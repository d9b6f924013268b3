"""Tests of the BG/NBD + Gamma-Gamma engine (clv_warehouse.probabilistic).

Published targets (CDNOW 1/10 sample, 2,357 customers):

* BG/NBD, Fader, Hardie & Lee (2005), "Counting your customers the easy way":
  r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4, on the 39-week
  calibration period 1997-01-01..1997-09-30, same-day purchases merged, time
  in weeks, T = (1997-09-30 - first purchase) / 7 days (the ``lifetimes``
  convention: the calibration end date itself, *not* the day after; with
  T + 1 day the fit gives r = 0.242, a = 0.814, LL = -9589.9).
* Gamma-Gamma, Fader & Hardie (2013) "The Gamma-Gamma model of monetary
  value" / ``lifetimes``' ``cdnow_customers_summary_with_transactions``:
  p = 6.25, q = 3.74, v = 15.44 on the 946 customers. Those 946 are the
  customers with at least one repeat purchase in the same 39-week
  *calibration* period (2,357 - 1,411 with x = 0), with monetary value = mean
  value of the repeat transactions in that period (first purchase excluded,
  same-day purchases merged). The whole 78-week period does *not* reproduce
  it: it has 1,139 repeat customers and gives p = 4.68, q = 4.19, v = 24.39.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import bgnbd_events
from scipy import integrate, optimize, special

from clv_warehouse import probabilistic as pr

DATA = Path(__file__).resolve().parents[2] / "data" / "cdnow"
CALIBRATION_END = "1997-09-30"
HOLDOUT_END = "1998-06-30"

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LL = -9582.4
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "v": 15.44}

TRUE_BG = pr.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
TRUE_GG = pr.GammaGammaParams(p=6.25, q=3.74, v=15.44)


def sig3(value: float) -> str:
    return f"{value:.3g}"


@pytest.fixture(scope="module")
def sample_summary() -> pd.DataFrame:
    tx = pr.load_cdnow(DATA / "CDNOW_sample.txt", sample=True)
    return pr.summarize(tx, calibration_end=CALIBRATION_END)


@pytest.fixture(scope="module")
def sample_fit(sample_summary):
    s = sample_summary
    return pr.fit_bgnbd(s["frequency"], s["recency"], s["T"])


@pytest.fixture(scope="module")
def sample_gg(sample_summary):
    return pr.fit_gamma_gamma(
        sample_summary["frequency"], sample_summary["monetary_value"]
    )


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    n = 30_000
    t_obs = np.random.default_rng(11).integers(26 * 7, 52 * 7 + 1, n) / 7.0
    return pr.simulate_customers(n, TRUE_BG, TRUE_GG, T=t_obs, seed=2024)


def simulate_with_holdout(n, params, t_obs, horizon, seed):
    """Event-level BG/NBD simulation: calibration (x, t_x, T) and the number
    of purchases in (T, T + horizon]."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)
    n_death = rng.geometric(rng.beta(params.a, params.b, n))
    t_obs = np.broadcast_to(np.asarray(t_obs, float), (n,)).copy()
    x, tx, holdout = bgnbd_events(rng, lam, n_death, t_obs, horizon)
    return x, tx, t_obs, holdout


# --------------------------------------------------------------------------
# Published CDNOW figures
# --------------------------------------------------------------------------


def test_sample_summary_matches_lifetimes(sample_summary):
    s = sample_summary
    assert len(s) == 2357
    assert int((s["frequency"] > 0).sum()) == 946
    # lifetimes' customer 1 (original id 00004): x=2, t_x=30.43, T=38.86, m=22.35
    row = s.set_index("customer_id").loc["00004"]
    assert row["frequency"] == 2
    assert row["recency"] == pytest.approx(213 / 7)
    assert row["T"] == pytest.approx(272 / 7)
    assert row["monetary_value"] == pytest.approx((29.73 + 14.96) / 2)


def test_bgnbd_reproduces_published_sample_fit(sample_fit):
    fit = sample_fit
    assert fit.converged
    assert fit.n_customers == 2357
    for name, target in PUBLISHED_BGNBD.items():
        assert sig3(getattr(fit, name)) == sig3(target), name
        assert getattr(fit, name) == pytest.approx(target, rel=2e-3), name
    assert sig3(fit.log_likelihood) == sig3(PUBLISHED_LL)
    assert fit.log_likelihood == pytest.approx(PUBLISHED_LL, abs=0.05)


def test_log_likelihood_matches_per_customer_sum(sample_summary, sample_fit):
    s = sample_summary
    ll = pr.bgnbd_log_likelihood(sample_fit, s["frequency"], s["recency"], s["T"])
    assert ll.sum() == pytest.approx(sample_fit.log_likelihood, rel=1e-10)


def test_gamma_gamma_reproduces_published_fit(sample_gg):
    gg = sample_gg
    assert gg.converged
    assert gg.n_customers == 946
    for name, target in PUBLISHED_GG.items():
        assert sig3(getattr(gg, name)) == sig3(target), name
        assert getattr(gg, name) == pytest.approx(target, rel=2e-3), name


def test_full_cdnow_fit_converges():
    tx = pr.load_cdnow(DATA / "CDNOW_master.txt")
    assert tx["customer_id"].nunique() == 23570
    assert len(tx) == 69659
    s = pr.summarize(tx, calibration_end=CALIBRATION_END)
    bg = pr.fit_bgnbd(s["frequency"], s["recency"], s["T"])
    gg = pr.fit_gamma_gamma(s["frequency"], s["monetary_value"])
    assert bg.converged and gg.converged
    assert bg.n_customers == 23570
    # close to the 1/10 sample's estimates, as the sample is random
    assert 0.2 < bg.r < 0.3 and 3.5 < bg.alpha < 6
    assert 0.5 < bg.a < 1.0 and 1.5 < bg.b < 3.5
    assert 4 < gg.p < 9 and 2.5 < gg.q < 5 and 10 < gg.v < 25
    assert np.isfinite(bg.log_likelihood) and np.isfinite(gg.log_likelihood)


# --------------------------------------------------------------------------
# Fitting machinery
# --------------------------------------------------------------------------


def test_analytic_gradients_match_finite_differences(simulated):
    s = simulated
    w = np.random.default_rng(3).uniform(0.5, 2.0, len(s))
    bg_obj = pr._BgNbdObjective(
        s["frequency"].to_numpy(float), s["recency"].to_numpy(), s["T"].to_numpy(), w
    )
    for theta in (np.log([0.4, 4.0, 1.3, 2.5]), np.log([2.0, 0.5, 0.2, 9.0])):
        err = optimize.check_grad(lambda t: bg_obj(t)[0], lambda t: bg_obj(t)[1], theta)
        assert err < 1e-5
    rep = s[s["frequency"] > 0]
    gg_obj = pr._GammaGammaObjective(
        rep["frequency"].to_numpy(float),
        rep["monetary_value"].to_numpy(),
        np.ones(len(rep)),
    )
    for theta in (np.log([5.0, 3.0, 10.0]), np.log([0.5, 12.0, 200.0])):
        err = optimize.check_grad(lambda t: gg_obj(t)[0], lambda t: gg_obj(t)[1], theta)
        assert err < 1e-5


def test_recovers_simulated_parameters(simulated):
    s = simulated
    bg = pr.fit_bgnbd(s["frequency"], s["recency"], s["T"])
    assert bg.converged
    for name in ("r", "alpha", "a", "b"):
        assert getattr(bg, name) == pytest.approx(getattr(TRUE_BG, name), rel=0.15)
    gg = pr.fit_gamma_gamma(s["frequency"], s["monetary_value"])
    assert gg.converged
    for name in ("p", "q", "v"):
        assert getattr(gg, name) == pytest.approx(getattr(TRUE_GG, name), rel=0.15)


def test_weights_equal_repeated_rows(sample_summary):
    s = sample_summary.iloc[:800]
    counts = np.arange(len(s)) % 3 + 1
    weighted = pr.fit_bgnbd(s["frequency"], s["recency"], s["T"], weights=counts)
    rep = s.loc[s.index.repeat(counts)]
    expanded = pr.fit_bgnbd(rep["frequency"], rep["recency"], rep["T"])
    for name in ("r", "alpha", "a", "b", "log_likelihood"):
        assert getattr(weighted, name) == pytest.approx(
            getattr(expanded, name), rel=1e-6
        )


def test_fits_are_deterministic(sample_summary):
    s = sample_summary
    first = pr.fit_bgnbd(s["frequency"], s["recency"], s["T"])
    second = pr.fit_bgnbd(s["frequency"], s["recency"], s["T"])
    assert first == second
    g1 = pr.fit_gamma_gamma(s["frequency"], s["monetary_value"])
    g2 = pr.fit_gamma_gamma(s["frequency"], s["monetary_value"])
    assert g1 == g2
    a = pr.simulate_customers(1000, TRUE_BG, TRUE_GG, seed=5)
    b = pr.simulate_customers(1000, TRUE_BG, TRUE_GG, seed=5)
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------
# Predictions
# --------------------------------------------------------------------------


def _expected_by_quadrature(par, t, x, tx, t_obs):
    """E[X(T, T+t)] by integrating E[(1 - exp(-lambda p t)) / p] over the
    posterior p ~ Beta(a, b + x), lambda ~ Gamma(r + x, alpha + T) given alive."""
    r, al, a, b = par.r, par.alpha, par.a, par.b

    def integrand(p):
        none = ((al + t_obs) / (al + t_obs + p * t)) ** (r + x)
        log_beta = (
            (a - 1) * np.log(p) + (b + x - 1) * np.log1p(-p) - special.betaln(a, b + x)
        )
        return (1 - none) / p * np.exp(log_beta)

    given_alive, _ = integrate.quad(integrand, 0, 1, limit=500, epsrel=1e-11)
    return given_alive * float(pr.bgnbd_prob_alive(par, x, tx, t_obs))


@pytest.mark.parametrize(
    "par",
    [
        TRUE_BG,
        pr.BgNbdParams(r=2.0, alpha=3.0, a=3.5, b=1.2),
        pr.BgNbdParams(r=0.5, alpha=10.0, a=1.0, b=5.0),
        pr.BgNbdParams(r=0.5, alpha=10.0, a=1.000003, b=5.0),
    ],
)
def test_expected_purchases_match_quadrature(par):
    points = [
        (39.0, 0, 0.0, 38.0),
        (39.0, 2, 30.0, 38.0),
        (52.0, 50, 50.0, 52.0),
        (1000.0, 200, 300.0, 300.0),
        (5000.0, 0, 0.0, 0.0),
    ]
    for t, x, tx, t_obs in points:
        got = float(pr.bgnbd_expected_purchases(par, t, x, tx, t_obs))
        want = _expected_by_quadrature(par, t, x, tx, t_obs)
        assert got == pytest.approx(want, rel=1e-7), (t, x, tx, t_obs)


def test_quadrature_fallback_agrees_and_covers_extreme_parameters():
    x = np.array([0.0, 2.0, 50.0, 200.0])
    t_obs = np.array([38.0, 38.0, 52.0, 300.0])
    t = np.array([39.0, 39.0, 52.0, 1000.0])
    for par in (TRUE_BG, pr.BgNbdParams(r=0.05, alpha=1.0, a=0.01, b=1.0)):
        closed = pr._expected_given_alive(par, t, x, t_obs)
        quad = pr._expected_given_alive_quadrature(
            par.r, par.alpha, par.a, par.b, t, x, t_obs
        )
        np.testing.assert_allclose(quad, closed, rtol=1e-5)
    # a degenerate fit (tiny data) where scipy's hyp2f1 returns NaN
    extreme = pr.BgNbdParams(r=333333.6, alpha=1e6, a=0.000953, b=31828.7)
    e = pr.bgnbd_expected_purchases(extreme, 10.0, [3, 5, 2], [10.0] * 3, [10.0] * 3)
    assert np.all(np.isfinite(e))
    # no dropout in sight: about (r + x) t / (alpha + T) purchases
    np.testing.assert_allclose(e, 3.3333, rtol=1e-4)


def test_unconditional_is_conditional_at_zero():
    t = np.array([0.0, 1.0, 10.0, 39.0, 78.0])
    uncond = pr.bgnbd_expected_purchases_unconditional(TRUE_BG, t)
    cond = pr.bgnbd_expected_purchases(TRUE_BG, t, 0, 0.0, 0.0)
    np.testing.assert_allclose(uncond, cond, rtol=1e-12)
    assert uncond[0] == 0.0
    assert np.all(np.diff(uncond) > 0)


def test_predictions_match_simulated_holdout():
    n, horizon = 60_000, 39.0
    t_obs = np.random.default_rng(5).integers(26 * 7, 52 * 7 + 1, n) / 7.0
    x, tx, t_obs, holdout = simulate_with_holdout(n, TRUE_BG, t_obs, horizon, 9)
    expected = pr.bgnbd_expected_purchases(TRUE_BG, horizon, x, tx, t_obs)
    none = pr.bgnbd_prob_no_purchase(TRUE_BG, horizon, x, tx, t_obs)
    assert expected.mean() == pytest.approx(holdout.mean(), rel=0.05)
    assert none.mean() == pytest.approx((holdout == 0).mean(), abs=0.01)
    unconditional = pr.bgnbd_expected_purchases_unconditional(TRUE_BG, 52.0)
    x52, *_ = simulate_with_holdout(n, TRUE_BG, 52.0, 0.0, 10)
    assert float(unconditional) == pytest.approx(x52.mean(), rel=0.05)


def test_prob_alive_properties(sample_summary, sample_fit):
    s = sample_summary
    alive = pr.bgnbd_prob_alive(sample_fit, s["frequency"], s["recency"], s["T"])
    assert np.all((alive >= 0) & (alive <= 1))
    # dropout only happens after a repeat purchase: x = 0 => alive for sure
    assert np.all(alive[s["frequency"].to_numpy() == 0] == 1.0)
    # for a repeat buyer, the longer the silence since the last purchase, the
    # less likely alive
    t_obs = np.linspace(10, 200, 50)
    curve = pr.bgnbd_prob_alive(sample_fit, 3, 10.0, t_obs)
    assert np.all(np.diff(curve) < 0)
    assert float(pr.bgnbd_prob_alive(sample_fit, 3, 10.0, 10.0)) > 0.5
    # extreme inputs stay finite
    assert np.isfinite(pr.bgnbd_prob_alive(sample_fit, 10_000, 1.0, 1e6))


def test_expected_purchases_monotone_in_t(sample_fit):
    t = np.linspace(0, 200, 101)
    for x, tx, t_obs in [(0, 0.0, 38.0), (2, 30.0, 38.0), (20, 37.0, 38.0)]:
        e = pr.bgnbd_expected_purchases(sample_fit, t, x, tx, t_obs)
        assert e[0] == 0.0
        assert np.all(np.diff(e) > 0)
        assert np.all(np.isfinite(e))


def test_prob_no_purchase_properties(sample_fit):
    t = np.linspace(0, 500, 201)
    for x, tx, t_obs in [(0, 0.0, 38.0), (2, 30.0, 38.0), (5, 3.0, 38.0)]:
        p = pr.bgnbd_prob_no_purchase(sample_fit, t, x, tx, t_obs)
        assert p[0] == 1.0
        assert np.all((p >= 0) & (p <= 1))
        assert np.all(np.diff(p) < 0)
        # long run: only the dead make no purchase
        dead = 1 - pr.bgnbd_prob_alive(sample_fit, x, tx, t_obs)
        far = pr.bgnbd_prob_no_purchase(sample_fit, 1e40, x, tx, t_obs)
        assert float(far) == pytest.approx(float(dead), abs=1e-6)


def test_gamma_gamma_expected_spend(sample_gg):
    gg = sample_gg
    pop = gg.p * gg.v / (gg.q - 1)
    assert gg.population_mean_spend == pytest.approx(pop)
    spend = pr.gamma_gamma_expected_spend(gg, [0, 1, 10, 1000], [0.0, 50, 50, 50])
    assert spend[0] == pytest.approx(pop)
    # shrinks towards the customer's own mean as x grows
    assert pop < spend[1] < spend[2] < spend[3] < 50
    assert spend[3] == pytest.approx(50, rel=1e-3)


def test_clv_matches_lifetimes_loop_and_is_nonnegative(
    sample_summary, sample_fit, sample_gg
):
    s = sample_summary
    args = (s["frequency"], s["recency"], s["T"])
    clv = pr.customer_lifetime_value(
        sample_fit, sample_gg, *args, s["monetary_value"], horizon_months=12
    )
    assert np.all(clv >= 0) and np.all(np.isfinite(clv))
    spend = pr.gamma_gamma_expected_spend(
        sample_gg, s["frequency"], s["monetary_value"]
    )
    month = 30 / 7
    manual = np.zeros(len(s))
    for i in range(1, 13):
        later = pr.bgnbd_expected_purchases(sample_fit, i * month, *args)
        earlier = pr.bgnbd_expected_purchases(sample_fit, (i - 1) * month, *args)
        manual += (later - earlier) * spend / 1.01**i
    np.testing.assert_allclose(clv, manual, rtol=1e-10)
    zero = pr.customer_lifetime_value(
        sample_fit, sample_gg, *args, s["monetary_value"], horizon_months=0
    )
    assert np.all(zero == 0)


def test_score_customers_consistent(sample_summary, sample_fit, sample_gg):
    s = sample_summary
    scores = pr.score_customers(
        s, sample_fit, sample_gg, horizon_days=273, horizon_months=12
    )
    assert list(scores.columns) == [
        "customer_id",
        "expected_purchases",
        "prob_alive",
        "prob_no_purchase",
        "expected_order_value",
        "clv",
    ]
    assert scores["customer_id"].tolist() == s["customer_id"].tolist()
    args = (s["frequency"], s["recency"], s["T"])
    np.testing.assert_allclose(
        scores["expected_purchases"],
        pr.bgnbd_expected_purchases(sample_fit, 39.0, *args),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        scores["prob_no_purchase"],
        pr.bgnbd_prob_no_purchase(sample_fit, 39.0, *args),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        scores["clv"],
        pr.customer_lifetime_value(sample_fit, sample_gg, *args, s["monetary_value"]),
        rtol=1e-12,
    )
    assert scores[["prob_alive", "prob_no_purchase"]].stack().between(0, 1).all()
    assert (scores["clv"] >= 0).all()


# --------------------------------------------------------------------------
# Data preparation
# --------------------------------------------------------------------------


def test_summarize_conventions():
    tx = pd.DataFrame(
        {
            "cust": ["A", "A", "A", "A", "B", "C", "D"],
            "when": pd.to_datetime(
                [
                    "2020-01-01 09:00",
                    "2020-01-01 17:00",  # same day: merged with the first
                    "2020-01-08",
                    "2020-01-15",
                    "2020-01-29",
                    "2020-02-05",  # after calibration end: ignored
                    "2019-12-01",  # before observation_start: ignored
                ],
                format="ISO8601",
            ),
            "amount": [10.0, 5.0, 20.0, 40.0, 7.0, 3.0, 1.0],
        }
    )
    s = pr.summarize(
        tx,
        customer_col="cust",
        date_col="when",
        value_col="amount",
        calibration_end="2020-01-29",
        observation_start="2020-01-01",
    )
    assert s["customer_id"].tolist() == ["A", "B"]
    a, b = s.iloc[0], s.iloc[1]
    assert a["frequency"] == 2
    assert a["recency"] == pytest.approx(2.0)  # 14 days
    assert a["T"] == pytest.approx(4.0)  # 28 days to the calibration end date
    assert a["monetary_value"] == pytest.approx(30.0)  # first purchase excluded
    assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (0, 0, 0, 0)
    in_days = pr.summarize(
        tx,
        customer_col="cust",
        date_col="when",
        value_col="amount",
        calibration_end="2020-01-29",
        time_unit_days=1.0,
    )
    assert in_days.set_index("customer_id").loc["A", "T"] == 28.0
    assert "D" in set(in_days["customer_id"])

    holdout = pr.summarize_holdout(
        tx,
        customer_col="cust",
        date_col="when",
        value_col="amount",
        calibration_end="2020-01-29",
        holdout_end="2020-03-01",
    )
    assert holdout.to_dict("records") == [
        {"customer_id": "C", "frequency_holdout": 1, "value_holdout": 3.0}
    ]


def test_load_cdnow_rejects_wrong_layout():
    with pytest.raises(ValueError, match="sample=False"):
        pr.load_cdnow(DATA / "CDNOW_master.txt", sample=True)
    with pytest.raises(ValueError, match="sample=True"):
        pr.load_cdnow(DATA / "CDNOW_sample.txt", sample=False)


# --------------------------------------------------------------------------
# Invalid input
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "tx", "t_obs", "message"),
    [
        ([1, -1], [1.0, 0.0], [2.0, 2.0], "non-negative whole number"),
        ([1, 1.5], [1.0, 1.0], [2.0, 2.0], "non-negative whole number"),
        ([1, 1], [1.0, 3.0], [2.0, 2.0], "must not exceed T"),
        ([1, 0], [1.0, 1.0], [2.0, 2.0], "recency must be 0 when frequency is 0"),
        ([1, 1], [1.0, -1.0], [2.0, 2.0], "recency must be >= 0"),
        ([1, 1], [1.0, 1.0], [2.0, -2.0], "T must be >= 0"),
        ([1, 1], [1.0, np.nan], [2.0, 2.0], "non-finite"),
        ([1, 1], [1.0, 1.0], [2.0], "same length"),
        ([0, 0], [0.0, 0.0], [2.0, 2.0], "at least one customer with frequency > 0"),
    ],
)
def test_fit_bgnbd_rejects_invalid_input(x, tx, t_obs, message):
    with pytest.raises(ValueError, match=message):
        pr.fit_bgnbd(x, tx, t_obs)


def test_other_invalid_input_raises():
    with pytest.raises(ValueError, match="weights must be >= 0"):
        pr.fit_bgnbd([1, 0], [1.0, 0.0], [2.0, 2.0], weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="frequency > 0 and monetary_value > 0"):
        pr.fit_gamma_gamma([0, 1], [0.0, 0.0])
    with pytest.raises(ValueError, match="non-finite"):
        pr.fit_gamma_gamma([1, 1], [1.0, math.nan])
    with pytest.raises(ValueError, match="expected spend is infinite"):
        pr.gamma_gamma_expected_spend(pr.GammaGammaParams(p=1, q=0.9, v=1), [1], [1])
    with pytest.raises(ValueError, match="horizon t must be >= 0"):
        pr.bgnbd_expected_purchases(TRUE_BG, -1.0, 1, 1.0, 2.0)
    with pytest.raises(ValueError, match="must not exceed T"):
        pr.bgnbd_prob_alive(TRUE_BG, 1, 3.0, 2.0)
    with pytest.raises(ValueError, match="missing column"):
        pr.score_customers(pd.DataFrame({"customer_id": [1]}), TRUE_BG, TRUE_GG)
    with pytest.raises(ValueError, match="missing column"):
        pr.summarize(pd.DataFrame({"x": [1]}), calibration_end="2020-01-01")


def test_restart_path_still_returns_the_optimum(sample_summary, monkeypatch):
    # an impossible convergence tolerance forces every restart (second start,
    # Nelder-Mead + L-BFGS-B); the best point is still returned, flagged.
    s = sample_summary
    monkeypatch.setattr(pr, "_GRAD_TOL", 0.0)
    fit = pr.fit_bgnbd(s["frequency"], s["recency"], s["T"])
    assert not fit.converged
    assert fit.log_likelihood == pytest.approx(PUBLISHED_LL, abs=0.05)
    assert fit.r == pytest.approx(PUBLISHED_BGNBD["r"], rel=2e-3)
