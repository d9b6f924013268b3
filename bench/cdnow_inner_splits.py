"""Model selection for the CDNOW backtest on inner splits of the calibration period.

Every candidate is fitted on purchases before an inner cutoff and scored on the
window from it to 1997-09-30, the end of the standard calibration period; the
holdout (1997-10-01..1998-06-30) is never read. The figures printed here are
what chose the ``bgnbd_cov`` backtest method and its churn score (README,
Backtest). Candidates:

* ``bgnbd_gg``: BG/NBD + Gamma-Gamma, churn ranked by P(no purchase);
* ``bgnbd_gg/E``: the same, churn ranked by expected purchases;
* ``bgnbd_cov``: BG/NBD with covariates (clv_warehouse.covariate_bgnbd), churn
  ranked by expected purchases (the method kept); ``bgnbd_cov/P0`` ranks churn
  by its P(no purchase) instead;
* ``bgnbd_cov+gg_all``: spend from a Gamma-Gamma fitted on every purchase
  (first included);
* ``pareto_nbd``: Pareto/NBD (Schmittlein, Morrison & Colombo 1987) + Gamma-Gamma,
  implemented below (checked against the published CDNOW-sample estimates);
* ``bgnbd_hardcore``: BG/NBD with a share of customers who never drop out;
* with ``--with-ml`` (about 10 minutes on 2 cores): the horizon-matched gradient
  boosting of clv_warehouse.backtest_regression (``ml_rate``), with BG/NBD outputs
  as features (``ml_rate+bg``) and as a multiplicative baseline (``ml_offset``).

Run: ``.venv/bin/python bench/cdnow_inner_splits.py [--with-ml]``
"""

from __future__ import annotations

import argparse
import math
import warnings

import numpy as np
import pandas as pd
from scipy import optimize, special
from sklearn.ensemble import HistGradientBoostingClassifier as Classifier
from sklearn.ensemble import HistGradientBoostingRegressor as Regressor
from sklearn.metrics import roc_auc_score

from clv_warehouse import backtest_regression as br
from clv_warehouse import covariate_bgnbd as cb
from clv_warehouse import probabilistic as pr

CALIBRATION_END = pd.Timestamp("1997-10-01")  # exclusive: the holdout starts here
INNER_CUTOFFS = ["1997-05-01", "1997-06-01", "1997-07-01"]


def activity(path: str) -> pd.DataFrame:
    """CDNOW rows -> int_customer_days_aggregated-shaped rows (same day merged),
    purchases before the end of the calibration period only."""
    tx = pr.load_cdnow(path)
    tx = tx[tx["date"] < CALIBRATION_END]
    days = tx.groupby(["customer_id", "date"], as_index=False).agg(
        gross_amount=("value", "sum"), unit_count=("quantity", "sum")
    )
    return days.rename(columns={"date": "activity_date"}).assign(has_purchase=True)


def metrics(purchases, spend, value, churn, actual_n, actual_s) -> dict:
    out = {}
    if purchases is not None:
        error = purchases - actual_n
        out["count_rmse"] = math.sqrt(np.mean(error**2))
        out["total_pct"] = 100 * (purchases.sum() - actual_n.sum()) / actual_n.sum()
    if spend is not None:
        out["spend_rmse"] = math.sqrt(np.mean((spend - actual_s) ** 2))
    k = math.ceil(0.1 * len(actual_s))
    top = np.lexsort((np.arange(len(value)), -np.asarray(value)))[:k]
    out["top10_share"] = actual_s[top].sum() / actual_s.sum()
    out["churn_auc"] = roc_auc_score(actual_n == 0, churn)
    return out


# ---------------------------------------------------------------- Pareto/NBD


def _pnbd_log_a0(r, alpha, s, beta, x, tx, t_obs):
    lo, hi, b2 = (alpha, beta, r + x) if alpha < beta else (beta, alpha, s + 1.0)
    rsx = r + s + x
    p1 = special.hyp2f1(rsx, b2, rsx + 1.0, (hi - lo) / (hi + tx))
    p2 = special.hyp2f1(rsx, b2, rsx + 1.0, (hi - lo) / (hi + t_obs))
    first = np.log(p1) + rsx * np.log(hi + t_obs)
    second = np.log(p2) + rsx * np.log(hi + tx)
    with np.errstate(all="ignore"):
        diff = np.where(
            first > second, first + np.log(-np.expm1(second - first)), -np.inf
        )
    return diff - rsx * np.log((hi + tx) * (hi + t_obs))


def _pnbd_ll(params, x, tx, t_obs):
    r, alpha, s, beta = params
    head = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + s * np.log(beta)
    )
    log_a0 = _pnbd_log_a0(r, alpha, s, beta, x, tx, t_obs)
    return head + np.logaddexp(
        -(r + x) * np.log(alpha + t_obs) - s * np.log(beta + t_obs),
        np.log(s) + log_a0 - np.log(r + s + x),
    )


def fit_pareto_nbd(x, tx, t_obs):
    rows, counts = np.unique(
        np.column_stack([x, tx, t_obs]), axis=0, return_counts=True
    )
    ux, utx, ut = rows.T

    def objective(theta):
        with np.errstate(all="ignore"):
            value = -(counts * _pnbd_ll(np.exp(theta), ux, utx, ut)).sum() / len(x)
        return value if np.isfinite(value) else 1e300

    best = min(
        (
            optimize.minimize(
                objective, np.log(start), method="L-BFGS-B", bounds=[(-10, 10)] * 4
            )
            for start in ([0.5, 10.0, 0.5, 10.0], [0.3, 5.0, 1.0, 20.0])
        ),
        key=lambda result: result.fun,
    )
    return np.exp(best.x), -best.fun * len(x)


def pareto_nbd_expected(params, t, x, tx, t_obs):
    r, alpha, s, beta = params
    log_a0 = _pnbd_log_a0(r, alpha, s, beta, x, tx, t_obs)
    alive = special.expit(
        -(
            np.log(s)
            - np.log(r + s + x)
            + (r + x) * np.log(alpha + t_obs)
            + s * np.log(beta + t_obs)
            + log_a0
        )
    )
    span = np.log((beta + t_obs + t) / (beta + t_obs))
    grow = -np.expm1(-(s - 1) * span) / (s - 1) if abs(s - 1) > 1e-8 else span
    return (r + x) * (beta + t_obs) / (alpha + t_obs) * grow * alive


# ------------------------------------------------------- BG/NBD + hardcore


def _hardcore_parts(theta, x, tx, t_obs):
    r, alpha, a, b = np.exp(theta[:4])
    share = special.expit(theta[4])
    head = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    alive = special.betaln(a, b + x) - special.betaln(a, b)
    alive = alive - (r + x) * np.log(alpha + t_obs)
    with np.errstate(all="ignore"):
        dead = np.where(
            x > 0,
            special.betaln(a + 1, np.maximum(b + x - 1, 1e-12))
            - special.betaln(a, b)
            - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    never = head - (r + x) * np.log(alpha + t_obs)
    return share, head + np.logaddexp(alive, dead), never


def fit_hardcore(x, tx, t_obs):
    plain = pr.fit_bgnbd(x, tx, t_obs)
    start = np.r_[np.log([plain.r, plain.alpha, plain.a, plain.b]), -3.0]

    def objective(theta):
        share, bg, never = _hardcore_parts(theta, x, tx, t_obs)
        return -np.logaddexp(np.log(share) + never, np.log1p(-share) + bg).mean()

    result = optimize.minimize(
        objective, start, method="L-BFGS-B", bounds=[(-13, 13)] * 4 + [(-12, 5)]
    )
    return result.x, -result.fun * len(x)


def hardcore_expected(theta, t, x, tx, t_obs):
    share, bg, never = _hardcore_parts(theta, x, tx, t_obs)
    weight = special.expit(np.log(share) + never - np.log1p(-share) - bg)
    r, alpha, a, b = np.exp(theta[:4])
    params = pr.BgNbdParams(r=r, alpha=alpha, a=a, b=b)
    bgnbd = pr.bgnbd_expected_purchases(params, t, x, tx, t_obs)
    return weight * (r + x) / (alpha + t_obs) * t + (1 - weight) * bgnbd


# ------------------------------------------------------------------- ML


def ml_candidates(act: pd.DataFrame, cutoff, horizon_days: float, seed: int = 42):
    """The horizon-matched boosting variants at ``cutoff`` (inner-inner cutoffs
    28..133 days before it, labelled up to it)."""
    days = br.purchase_days(act)
    cutoff = pd.Timestamp(cutoff)
    days = days[days["day"] < cutoff]

    def features(at, horizon_weeks):
        frame = br.customer_features(days, at)
        bgnbd = br._bgnbd(frame, horizon_weeks * br.WEEK)
        return frame.assign(
            horizon_weeks=horizon_weeks,
            bg_exp=bgnbd["purchases"].to_numpy(),
            bg_spend=bgnbd["spend"].to_numpy(),
            bg_p0=bgnbd["prob_no_purchase"].to_numpy(),
            bg_rate=bgnbd["purchases"].to_numpy() / horizon_weeks,
        )

    rows = []
    for back in (28, 49, 70, 91, 112, 133):
        inner = cutoff - pd.Timedelta(days=back)
        if days["day"].lt(inner).sum() < 50:  # before the cohort's first weeks
            break
        frame = features(inner, back / br.WEEK)
        labels = br.window_labels(days, inner, cutoff).reindex(frame.index).fillna(0)
        rows.append(frame.assign(y=labels["purchases"], sp=labels["spend"]))
    train = pd.concat(rows)
    score = features(cutoff, horizon_days / br.WEEK)
    base = br.FEATURES[:-1]
    boosting = dict(
        learning_rate=0.05,
        max_iter=200,
        min_samples_leaf=200,
        random_state=seed,
        early_stopping=False,
    )
    out = {}
    for name, cols, offset in (
        ("ml_rate", [*base, "horizon_weeks"], False),
        ("ml_rate+bg", [*base, "horizon_weeks", "bg_rate", "bg_p0"], False),
        ("ml_offset", [*base, "horizon_weeks", "bg_rate", "bg_p0"], True),
    ):
        x_train, x_score = train[cols].to_numpy(float), score[cols].to_numpy(float)
        predicted = {}
        for target, baseline in (("y", "bg_exp"), ("sp", "bg_spend")):
            if offset:
                exposure = np.maximum(train[baseline].to_numpy(), 1e-6)
                scale = score[baseline].to_numpy()
            else:
                exposure = train["horizon_weeks"].to_numpy()
                scale = score["horizon_weeks"].to_numpy()
            model = Regressor(loss="poisson", **boosting)
            model.fit(x_train, train[target] / exposure, sample_weight=exposure)
            predicted[target] = model.predict(x_score) * scale
        churn = Classifier(**boosting).fit(x_train, (train["y"] == 0).astype(int))
        out[name] = (
            pd.Series(predicted["y"], index=score.index),
            pd.Series(predicted["sp"], index=score.index),
            pd.Series(churn.predict_proba(x_score)[:, 1], index=score.index),
        )
    return out


# ------------------------------------------------------------------- main


def evaluate(act: pd.DataFrame, cutoff: str, with_ml: bool) -> list[dict]:
    cutoff_ts = pd.Timestamp(cutoff)
    horizon = (CALIBRATION_END - cutoff_ts).days / 7.0
    summary = cb.customer_summary(act, cutoff_ts)
    purchases = br.purchase_days(act)
    actual = br.window_labels(purchases, cutoff_ts, CALIBRATION_END)
    actual = actual.reindex(summary["customer_id"]).fillna(0)
    actual_n = actual["purchases"].to_numpy()
    actual_s = actual["spend"].to_numpy()
    x = summary["frequency"].to_numpy()
    tx = summary["recency"].to_numpy()
    t_obs = summary["T"].to_numpy()
    m = summary["monetary_value"].to_numpy()
    gg = pr.fit_gamma_gamma(x, m)
    value = pr.gamma_gamma_expected_spend(gg, x, m)
    bg = pr.fit_bgnbd(x, tx, t_obs)
    e_bg = pr.bgnbd_expected_purchases(bg, horizon, x, tx, t_obs)
    p0_bg = pr.bgnbd_prob_no_purchase(bg, horizon, x, tx, t_obs)
    covariates = summary[list(cb.COVARIATES)].to_numpy()
    cov = cb.fit(x, tx, t_obs, covariates)
    scored = cb.predict(cov, horizon, x, tx, t_obs, covariates)
    e_cov = scored["expected_purchases"].to_numpy()
    total = np.expm1(summary["log_mean_order_value"].to_numpy())
    gg_all = pr.fit_gamma_gamma(x + 1, total)
    value_all = pr.gamma_gamma_expected_spend(gg_all, x + 1, total)
    pnbd, pnbd_ll = fit_pareto_nbd(x, tx, t_obs)
    e_pnbd = pareto_nbd_expected(pnbd, horizon, x, tx, t_obs)
    hard, hard_ll = fit_hardcore(x, tx, t_obs)
    e_hard = hardcore_expected(hard, horizon, x, tx, t_obs)
    candidates = {
        "bgnbd_gg": (e_bg, e_bg * value, p0_bg, bg.log_likelihood),
        "bgnbd_gg/E": (e_bg, e_bg * value, -e_bg, bg.log_likelihood),
        "bgnbd_cov": (e_cov, e_cov * value, -e_cov, cov.log_likelihood),
        "bgnbd_cov/P0": (
            e_cov,
            e_cov * value,
            scored["prob_no_purchase"].to_numpy(),
            cov.log_likelihood,
        ),
        "bgnbd_cov+gg_all": (e_cov, e_cov * value_all, -e_cov, cov.log_likelihood),
        "pareto_nbd": (e_pnbd, e_pnbd * value, -e_pnbd, pnbd_ll),
        "bgnbd_hardcore": (e_hard, e_hard * value, -e_hard, hard_ll),
    }
    if with_ml:
        ids = summary["customer_id"].to_numpy()
        for name, (n, s, churn) in ml_candidates(
            act, cutoff_ts, (CALIBRATION_END - cutoff_ts).days
        ).items():
            candidates[name] = (
                n.reindex(ids).to_numpy(),
                s.reindex(ids).to_numpy(),
                churn.reindex(ids).to_numpy(),
                float("nan"),
            )
    rows = []
    for name, (n, s, churn, loglik) in candidates.items():
        rows.append(
            {
                "cutoff": cutoff,
                "method": name,
                "log_lik": loglik,
                **metrics(n, s, s, churn, actual_n, actual_s),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="data/cdnow/CDNOW_master.txt")
    parser.add_argument("--with-ml", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore", RuntimeWarning)
    act = activity(args.path)
    rows = [r for c in INNER_CUTOFFS for r in evaluate(act, c, args.with_ml)]
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print("\nmean over the inner splits, relative to bgnbd_gg (count and spend RMSE)")
    base = table[table["method"] == "bgnbd_gg"].set_index("cutoff")
    rel = table.set_index("cutoff")
    for col in ("count_rmse", "spend_rmse"):
        rel[col] = rel[col] / base[col]
    summary = rel.groupby("method", sort=False)[
        ["count_rmse", "spend_rmse", "top10_share", "churn_auc"]
    ].mean()
    print(summary.to_string(float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
