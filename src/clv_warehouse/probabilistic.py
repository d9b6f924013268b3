"""Probabilistic customer-lifetime-value engine: BG/NBD and Gamma-Gamma.

Two classical "buy till you die" models, fitted by maximum likelihood:

* **BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way:
  an alternative to the Pareto/NBD model", *Marketing Science* 24(2)) for the
  number of repeat purchases and the probability that a customer is still
  active. While alive, a customer buys as a Poisson process with rate
  ``lambda ~ Gamma(r, rate=alpha)``; after every *repeat* purchase they drop out
  with probability ``p ~ Beta(a, b)``. A customer can therefore only drop out
  right after a purchase: with no repeat purchase they are alive for sure.
* **Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value
  curves for customer base analysis", *JMR* 42(4); Fader & Hardie 2013, "The
  Gamma-Gamma model of monetary value") for the spend per transaction:
  transaction values ``z ~ Gamma(p, rate=nu)`` with ``nu ~ Gamma(q, rate=v)``
  across customers, so the mean of ``x`` transactions ``m_x`` is informative
  about ``nu``.

Inputs follow the conventions of the Python ``lifetimes`` package, which
reproduce the published CDNOW figures:

* purchases of one customer on the same day are one transaction;
* ``frequency`` (x) = number of *repeat* transaction days = distinct purchase
  days - 1;
* ``recency`` (t_x) = time from the first to the last purchase (0 when x = 0);
* ``T`` = time from the first purchase to the end of the calibration period
  (``calibration_end - first_purchase``, in days, divided by the time unit);
* ``monetary_value`` = mean value of the *repeat* transactions (the first
  purchase is excluded; 0 when x = 0).

The fitting functions compress identical input rows into unique rows with
counts and maximise the weighted log-likelihood over log-parameters with
L-BFGS-B and an analytic gradient (Nelder-Mead restart if that does not
converge), so fitting millions of customers whose times are whole days takes
seconds. Everything here is a pure function of its arguments; the only I/O is
:func:`load_cdnow`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special

__all__ = [
    "BgNbdParams",
    "GammaGammaParams",
    "bgnbd_expected_purchases",
    "bgnbd_expected_purchases_unconditional",
    "bgnbd_log_likelihood",
    "bgnbd_prob_alive",
    "bgnbd_prob_no_purchase",
    "customer_lifetime_value",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "gamma_gamma_expected_spend",
    "gamma_gamma_log_likelihood",
    "load_cdnow",
    "score_customers",
    "simulate_customers",
    "summarize",
    "summarize_holdout",
]

#: Parameters are optimised as log(param) inside these bounds (1e-6 .. 1e6).
_LOG_BOUND = math.log(1e6)
#: A fit counts as converged when the projected gradient of the mean negative
#: log-likelihood (w.r.t. the log-parameters) is below this.
_GRAD_TOL = 1e-5
#: Days per month in :func:`customer_lifetime_value`.
DAYS_PER_MONTH = 30.0


# --------------------------------------------------------------------------
# Parameter containers
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters.

    ``r, alpha`` shape and rate of the Gamma distribution of purchase rates
    (per time unit of the data, weeks by default); ``a, b`` the Beta
    distribution of dropout probabilities. ``log_likelihood`` is the total
    (weighted, unpenalised) log-likelihood at the optimum, ``n_customers`` the
    number of input rows used (rows with positive weight), ``converged``
    whether the optimiser reached a stationary point, ``iterations`` the total
    number of optimiser iterations. Only ``r, alpha, a, b`` are needed for
    predictions, so parameters loaded from storage can be built with
    ``BgNbdParams(r=..., alpha=..., a=..., b=...)``.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")
    n_customers: int = 0
    converged: bool = True
    iterations: int = 0


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma spend parameters.

    Transaction values are ``Gamma(p, rate=nu)`` with ``nu ~ Gamma(q,
    rate=v)``; the population mean spend per transaction is ``p * v / (q - 1)``
    (finite only for ``q > 1``). The other fields are as in
    :class:`BgNbdParams`; ``n_customers`` counts the customers used in the fit
    (frequency > 0 and monetary value > 0).
    """

    p: float
    q: float
    v: float
    log_likelihood: float = float("nan")
    n_customers: int = 0
    converged: bool = True
    iterations: int = 0

    @property
    def population_mean_spend(self) -> float:
        """Mean spend per transaction across the population, ``p v / (q - 1)``."""
        if self.q <= 1.0:
            return float("inf")
        return self.p * self.v / (self.q - 1.0)


# --------------------------------------------------------------------------
# Input validation and compression
# --------------------------------------------------------------------------


def _to_float(name: str, values: Any) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} has {bad} missing or non-finite value(s)")
    return arr


def _first_bad(mask: np.ndarray) -> int:
    return int(np.flatnonzero(np.ravel(mask))[0])


def _validate_rfm(
    frequency: Any, recency: Any, T: Any, *, same_length: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check (frequency, recency, T) against the BG/NBD data definition.

    * ``frequency`` (x) is a non-negative whole number of repeat purchases;
    * ``0 <= recency <= T``: the last purchase happens inside the window;
    * ``x == 0`` implies ``recency == 0`` (recency is the time of the last
      *repeat* purchase, measured from the first purchase).

    ``x > 0`` with ``recency == 0`` cannot come out of a same-day-merged
    summary, but it is accepted: the likelihood is finite there.
    """
    x = _to_float("frequency", frequency)
    tx = _to_float("recency", recency)
    t_obs = _to_float("T", T)
    if same_length:
        sizes = {x.shape, tx.shape, t_obs.shape}
        if len(sizes) != 1 or x.ndim != 1:
            raise ValueError(
                "frequency, recency and T must be 1-D arrays of the same length, "
                f"got shapes {x.shape}, {tx.shape}, {t_obs.shape}"
            )
    else:
        try:
            x, tx, t_obs = np.broadcast_arrays(x, tx, t_obs)
        except ValueError:
            raise ValueError(
                "frequency, recency and T cannot be broadcast together: shapes "
                f"{np.shape(x)}, {np.shape(tx)}, {np.shape(t_obs)}"
            ) from None
    if np.any(x < 0) or np.any(x != np.floor(x)):
        i = _first_bad((x < 0) | (x != np.floor(x)))
        raise ValueError(
            "frequency must be a non-negative whole number (repeat purchases), "
            f"got {x.ravel()[i]!r} at position {i}"
        )
    if np.any(tx < 0):
        i = _first_bad(tx < 0)
        raise ValueError(f"recency must be >= 0, got {tx.ravel()[i]!r} at position {i}")
    if np.any(t_obs < 0):
        i = _first_bad(t_obs < 0)
        raise ValueError(f"T must be >= 0, got {t_obs.ravel()[i]!r} at position {i}")
    too_late = tx > t_obs * (1.0 + 1e-12) + 1e-12
    if np.any(too_late):
        i = _first_bad(too_late)
        raise ValueError(
            "recency must not exceed T (the last purchase lies inside the "
            f"observation window): recency={tx.ravel()[i]!r} > "
            f"T={t_obs.ravel()[i]!r} at position {i}"
        )
    orphan = (x == 0) & (tx != 0)
    if np.any(orphan):
        i = _first_bad(orphan)
        raise ValueError(
            "recency must be 0 when frequency is 0 (recency is the time of the "
            f"last repeat purchase): recency={tx.ravel()[i]!r} at position {i}"
        )
    return x, np.minimum(tx, t_obs), t_obs


def _validate_weights(weights: Any, n: int) -> np.ndarray:
    if weights is None:
        return np.ones(n)
    w = _to_float("weights", weights)
    if w.shape != (n,):
        raise ValueError(f"weights must have length {n}, got shape {w.shape}")
    if np.any(w < 0):
        raise ValueError("weights must be >= 0")
    return w


def _compress(
    columns: Sequence[np.ndarray], weights: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Collapse identical rows: (unique columns, summed weights, inverse index).

    Groups are numbered in order of first appearance (hash grouping, much
    faster than ``np.unique(axis=0)`` on millions of rows); ``columns[j]
    [first_row_of_group]`` gives the unique values.
    """
    n = len(columns[0])
    if n == 0:
        return (
            [np.asarray(c, dtype=float) for c in columns],
            np.zeros(0),
            np.zeros(0, int),
        )
    frame = pd.DataFrame({f"c{j}": col for j, col in enumerate(columns)})
    inverse = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
    n_groups = int(inverse.max()) + 1
    first = np.empty(n_groups, dtype=np.int64)
    first[inverse[::-1]] = np.arange(n - 1, -1, -1)
    counts = np.bincount(inverse, weights=weights, minlength=n_groups)
    return [np.asarray(c, dtype=float)[first] for c in columns], counts, inverse


# --------------------------------------------------------------------------
# Optimiser
# --------------------------------------------------------------------------


def _projected_grad_norm(theta: np.ndarray, grad: np.ndarray) -> float:
    pg = np.array(grad, dtype=float)
    at_low = theta <= -_LOG_BOUND + 1e-9
    at_high = theta >= _LOG_BOUND - 1e-9
    pg[at_low & (pg > 0)] = 0.0
    pg[at_high & (pg < 0)] = 0.0
    return float(np.max(np.abs(pg)))


def _maximize(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    starts: Sequence[np.ndarray],
) -> tuple[np.ndarray, bool, int]:
    """Minimise ``objective`` (mean negative log-likelihood, with gradient) over
    log-parameters. Returns (theta, converged, iterations)."""
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(starts[0])
    scored = []
    for s in starts:
        s = np.clip(np.asarray(s, dtype=float), -_LOG_BOUND, _LOG_BOUND)
        f, _ = objective(s)
        if np.isfinite(f):
            scored.append((f, s))
    if not scored:
        raise ValueError("log-likelihood is not finite at any starting point")
    scored.sort(key=lambda item: item[0])

    def value(th: np.ndarray) -> float:
        f, _ = objective(th)
        return f if np.isfinite(f) else 1e300

    options = {"maxiter": 5000, "maxfun": 10000, "ftol": 1e-15, "gtol": 1e-10}
    iterations = 0
    best_theta, best_f = scored[0][1], scored[0][0]

    def lbfgs(start: np.ndarray) -> bool:
        """One L-BFGS-B run; keeps the best point; True when it is stationary."""
        nonlocal iterations, best_theta, best_f
        res = optimize.minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options=options,
        )
        iterations += int(res.nit)
        f, _ = objective(res.x)
        if np.isfinite(f) and f <= best_f:
            best_theta, best_f = res.x, f
        _, g = objective(best_theta)
        return _projected_grad_norm(best_theta, g) < _GRAD_TOL

    # L-BFGS-B from the best start; if it stops short of a stationary point,
    # from the second-best start; then from a Nelder-Mead polish of the best.
    for _, start in scored[:2]:
        if lbfgs(start):
            return best_theta, True, iterations
    nm = optimize.minimize(
        value,
        best_theta,
        method="Nelder-Mead",
        bounds=bounds,
        options={"maxiter": 20000, "xatol": 1e-10, "fatol": 1e-14},
    )
    iterations += int(nm.nit)
    if lbfgs(nm.x):
        return best_theta, True, iterations
    return best_theta, False, iterations


def _warn_on_bounds(theta: np.ndarray, names: Sequence[str], model: str) -> None:
    hit = [n for n, t in zip(names, theta, strict=True) if abs(t) >= _LOG_BOUND - 1e-6]
    if hit:
        warnings.warn(
            f"{model} fit: parameter(s) {', '.join(hit)} reached the bound "
            "(1e-6 or 1e6); the data barely identify them",
            RuntimeWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------


class _BgNbdObjective:
    """Weighted BG/NBD log-likelihood on compressed rows, with gradient.

    Per customer (Fader, Hardie & Lee 2005, eq. 6 in log form)::

        ll = A1 + A2 + log(exp(A3) + [x > 0] exp(A4))
        A1 = lgamma(r + x) - lgamma(r) + r log(alpha)
        A2 = lbeta(a, b + x) - lbeta(a, b)
        A3 = -(r + x) log(alpha + T)
        A4 = log(a) - log(b + x - 1) - (r + x) log(alpha + t_x)

    The x-only terms are evaluated once per distinct x; the log-sum-exp only
    for repeat customers.
    """

    def __init__(self, x: np.ndarray, tx: np.ndarray, t_obs: np.ndarray, w: np.ndarray):
        self.total = float(w.sum())
        self.ux, xi = np.unique(x, return_inverse=True)
        self.wx = np.bincount(xi, weights=w, minlength=len(self.ux))
        zero = x == 0
        self.w0, self.T0 = w[zero], t_obs[zero]
        rep = ~zero
        self.w1, self.x1, self.tx1, self.T1 = w[rep], x[rep], tx[rep], t_obs[rep]
        self.xi1 = xi[rep]
        ux_rep = np.where(self.ux > 0, self.ux, 1.0)
        self._ux_rep = ux_rep

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(theta)
        ux, wx, W = self.ux, self.wx, self.total
        # x-only terms
        a1 = special.gammaln(r + ux) - special.gammaln(r) + r * math.log(alpha)
        a2 = (
            special.gammaln(b + ux)
            + special.gammaln(a + b)
            - special.gammaln(b)
            - special.gammaln(a + b + ux)
        )
        ll = float(np.dot(wx, a1 + a2))
        psi_rx = special.digamma(r + ux)
        psi_abx = special.digamma(a + b + ux)
        d_r = float(np.dot(wx, psi_rx)) - W * special.digamma(r) + W * math.log(alpha)
        d_alpha = W * r / alpha
        d_a = W * special.digamma(a + b) - float(np.dot(wx, psi_abx))
        d_b = d_a + float(np.dot(wx, special.digamma(b + ux))) - W * special.digamma(b)
        # customers without repeat purchases: A3 only
        if self.w0.size:
            log_at0 = np.log(alpha + self.T0)
            ll -= r * float(np.dot(self.w0, log_at0))
            d_r -= float(np.dot(self.w0, log_at0))
            d_alpha -= r * float(np.dot(self.w0, 1.0 / (alpha + self.T0)))
        # repeat customers: log(exp(A3) + exp(A4))
        if self.w1.size:
            rx = r + self.x1
            log_at = np.log(alpha + self.T1)
            log_atx = np.log(alpha + self.tx1)
            c4 = math.log(a) - np.log(b + self._ux_rep - 1.0)
            a3 = -rx * log_at
            a4 = c4[self.xi1] - rx * log_atx
            lse = np.logaddexp(a3, a4)
            w4 = np.exp(a4 - lse)
            w3 = 1.0 - w4
            ll += float(np.dot(self.w1, lse))
            d_r -= float(np.dot(self.w1, w3 * log_at + w4 * log_atx))
            d_alpha -= float(
                np.dot(self.w1, rx * (w3 / (alpha + self.T1) + w4 / (alpha + self.tx1)))
            )
            ww4 = self.w1 * w4
            d_a += float(ww4.sum()) / a
            d_b -= float(np.dot(ww4, 1.0 / (b + self.x1 - 1.0)))
        grad = np.array([r * d_r, alpha * d_alpha, a * d_a, b * d_b])
        if not np.isfinite(ll):
            return math.inf, np.zeros(4)
        return -ll / W, -grad / W


def bgnbd_log_likelihood(
    params: BgNbdParams, frequency: Any, recency: Any, T: Any
) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (eq. 6 of the paper, in log form)."""
    x, tx, t_obs = _validate_rfm(frequency, recency, T, same_length=False)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.betaln(a, b + x) - special.betaln(a, b)
    a3 = -(r + x) * np.log(alpha + t_obs)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(b + x - 1.0) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    return a1 + a2 + np.logaddexp(a3, a4)


def fit_bgnbd(
    frequency: Any, recency: Any, T: Any, *, weights: Any = None
) -> BgNbdParams:
    """Fit the BG/NBD model by maximum likelihood.

    Parameters
    ----------
    frequency, recency, T
        Per-customer repeat-purchase count x, time of the last purchase t_x and
        length of the observation window T, both measured from the first
        purchase, in one time unit (weeks by convention). See
        :func:`summarize`. Validation (``ValueError``): all finite, x a
        non-negative whole number, ``0 <= recency <= T``, ``recency == 0`` when
        ``x == 0``, at least one customer with ``x > 0`` (otherwise the
        dropout process is not identified).
    weights
        Optional non-negative case weights (e.g. counts of customers sharing a
        row). The fit maximises ``sum(weights * ll_i)``.

    Identical ``(x, t_x, T)`` rows are collapsed first, so data whose times are
    whole days fit in seconds even for millions of customers. The optimiser
    works on log-parameters (bounded to 1e-6..1e6) with L-BFGS-B and an
    analytic gradient, starting from the best of a small grid of starting
    values; if it stops short of a stationary point it restarts (second start,
    then Nelder-Mead followed by L-BFGS-B). A ``RuntimeWarning`` is emitted if
    a parameter ends on a bound.
    """
    x, tx, t_obs = _validate_rfm(frequency, recency, T)
    w = _validate_weights(weights, x.size)
    keep = w > 0
    if not np.any(keep):
        raise ValueError("fit_bgnbd needs at least one customer with positive weight")
    x, tx, t_obs, w = x[keep], tx[keep], t_obs[keep], w[keep]
    if not np.any(x > 0):
        raise ValueError(
            "fit_bgnbd needs at least one customer with frequency > 0: without "
            "repeat purchases the dropout parameters a, b are not identified"
        )
    (ux, utx, uT), uw, _ = _compress([x, tx, t_obs], w)
    objective = _BgNbdObjective(ux, utx, uT, uw)

    exposure = float(np.dot(uw, uT))
    rate = float(np.dot(uw, ux)) / exposure if exposure > 0 else 1.0
    rate = max(rate, 1e-6)
    starts = [
        np.log([r0, r0 / rate, a0, b0])
        for r0 in (0.25, 1.0, 4.0)
        for a0, b0 in ((0.5, 2.0), (1.0, 5.0), (2.0, 20.0))
    ]
    theta, converged, iterations = _maximize(objective, starts)
    _warn_on_bounds(theta, ("r", "alpha", "a", "b"), "BG/NBD")
    r, alpha, a, b = (float(v) for v in np.exp(theta))
    f, _ = objective(theta)
    return BgNbdParams(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=float(-f * objective.total),
        n_customers=int(x.size),
        converged=bool(converged),
        iterations=int(iterations),
    )


def bgnbd_prob_alive(
    params: BgNbdParams, frequency: Any, recency: Any, T: Any
) -> np.ndarray:
    """P(customer still alive at T | x, t_x, T) (Fader, Hardie & Lee 2005, eq. 11).

    ``1 / (1 + [x > 0] a / (b + x - 1) * ((alpha + T) / (alpha + t_x))^(r + x))``,
    evaluated as a logistic of the log-odds. Exactly 1 for x = 0: under BG/NBD
    a customer can only drop out right after a repeat purchase.
    """
    x, tx, t_obs = _validate_rfm(frequency, recency, T, same_length=False)
    return _prob_alive(params, x, tx, t_obs)


def _prob_alive(
    params: BgNbdParams, x: np.ndarray, tx: np.ndarray, t_obs: np.ndarray
) -> np.ndarray:
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    rep = x > 0
    b_x = np.where(rep, b + x - 1.0, 1.0)
    log_odds_dead = (
        math.log(a)
        - np.log(b_x)
        + (r + x) * (np.log(alpha + t_obs) - np.log(alpha + tx))
    )
    return np.where(rep, special.expit(-log_odds_dead), 1.0)


def _one_minus_hyp_term(
    r: float, alpha: float, a: float, b: float, t: Any, x: Any, t_obs: Any
) -> np.ndarray:
    """``1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)`` with
    ``z = t / (alpha + T + t)``.

    Evaluated through Euler's transformation as
    ``1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``, whose parameters do not
    grow with x and whose series stays bounded as z -> 1 when r + x + 1 > a,
    so it is stable for heavy buyers and long horizons; the untransformed
    lifetimes formula is the fallback where that is not finite.
    """
    z = t / (alpha + t_obs + t)
    c = a + b + x - 1.0
    log1mz = np.log1p(-z)
    with np.errstate(all="ignore"):
        h = special.hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
        term = np.exp((a - 1.0) * log1mz) * h
        bad = ~np.isfinite(term) | (h <= 0)
        if np.any(bad):
            h2 = special.hyp2f1(r + x, b + x, c, z)
            alt = np.exp(np.log(h2) + (r + x) * log1mz)
            term = np.where(bad, alt, term)
    return 1.0 - term


def _expected_given_alive(
    params: BgNbdParams, t: Any, x: np.ndarray, t_obs: np.ndarray
) -> np.ndarray:
    """E[purchases in (T, T+t] | alive at T, x, T] (the numerator of eq. 10)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t = np.asarray(t, dtype=float)
    eps = 1e-5
    if abs(a - 1.0) > eps:
        out = (
            (a + b + x - 1.0)
            / (a - 1.0)
            * _one_minus_hyp_term(r, alpha, a, b, t, x, t_obs)
        )
    else:
        # removable singularity at a == 1: interpolate linearly in a between
        # the two sides (error O(eps^2)).
        lo, hi = 1.0 - eps, 1.0 + eps
        f_lo = (
            (lo + b + x - 1.0)
            / (lo - 1.0)
            * _one_minus_hyp_term(r, alpha, lo, b, t, x, t_obs)
        )
        f_hi = (
            (hi + b + x - 1.0)
            / (hi - 1.0)
            * _one_minus_hyp_term(r, alpha, hi, b, t, x, t_obs)
        )
        out = f_lo + (a - lo) / (hi - lo) * (f_hi - f_lo)
    out, t, x, t_obs = np.broadcast_arrays(out, t, x, t_obs)
    # Without dropout a customer would make (r + x) t / (alpha + T) purchases
    # on average, an upper bound. Where the closed form is not finite or
    # leaves [0, bound] (hyp2f1 with extreme parameters), integrate instead.
    upper = (r + x) * t / (alpha + t_obs)
    bad = ~np.isfinite(out) | (out < -1e-9 * upper) | (out > upper * (1 + 1e-9))
    if np.any(bad):
        out = np.array(out, dtype=float)
        out[bad] = _expected_given_alive_quadrature(
            r, alpha, a, b, t[bad], x[bad], t_obs[bad]
        )
    return np.where(t > 0, np.clip(out, 0.0, upper), 0.0)


def _expected_given_alive_quadrature(
    r: float,
    alpha: float,
    a: float,
    b: float,
    t: np.ndarray,
    x: np.ndarray,
    t_obs: np.ndarray,
    nodes: int = 96,
) -> np.ndarray:
    """Fallback for :func:`_expected_given_alive` by numerical integration.

    Given alive, ``lambda ~ Gamma(r + x, alpha + T)`` and ``p ~ Beta(a, b +
    x)``, and the expected number of purchases before dropout in a window t is
    ``E[(1 - exp(-lambda p t)) / p]``. Integrating lambda out leaves
    ``E_p[(1 - (1 + p t / (alpha + T))^-(r + x)) / p]``, a bounded smooth
    function of p, integrated over the Beta quantiles with Gauss-Legendre
    nodes (robust for any parameters; accurate to ~1e-6).
    """
    u, w = np.polynomial.legendre.leggauss(nodes)
    u, w = (u + 1.0) / 2.0, w / 2.0
    p = special.betaincinv(a, (b + x)[:, None], u[None, :])
    s = (t / (alpha + t_obs))[:, None]
    rx = (r + x)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        g = -np.expm1(-rx * np.log1p(p * s)) / p
    g = np.where(p > 0, g, rx * s)
    return g @ w


def _check_horizon(t: Any) -> np.ndarray:
    t_arr = _to_float("t", t)
    if np.any(t_arr < 0):
        raise ValueError("the horizon t must be >= 0")
    return t_arr


def bgnbd_expected_purchases(
    params: BgNbdParams, t: Any, frequency: Any, recency: Any, T: Any
) -> np.ndarray:
    """Conditional expected number of purchases in (T, T + t] (eq. 10).

    ``E = (a+b+x-1)/(a-1) * [1 - ((alpha+T)/(alpha+T+t))^(r+x)
    2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] * P(alive)``, with the
    hypergeometric term evaluated stably (see ``_one_minus_hyp_term``) and the
    removable singularity at ``a = 1`` handled. ``t`` is in the same time unit
    as recency and T; all arguments broadcast.
    """
    t_arr = _check_horizon(t)
    x, tx, t_obs = _validate_rfm(frequency, recency, T, same_length=False)
    return _expected_given_alive(params, t_arr, x, t_obs) * _prob_alive(
        params, x, tx, t_obs
    )


def bgnbd_expected_purchases_unconditional(params: BgNbdParams, t: Any) -> np.ndarray:
    """Expected purchases in (0, t] for a customer just acquired (eq. 7).

    ``E[X(t)] = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1;
    t/(alpha+t))]``: the conditional expectation with x = t_x = T = 0. Repeat
    purchases only (the acquisition purchase at time 0 is not counted).
    """
    t_arr = _check_horizon(t)
    zero = np.zeros_like(t_arr)
    return _expected_given_alive(params, t_arr, zero, zero)


def bgnbd_prob_no_purchase(
    params: BgNbdParams, t: Any, frequency: Any, recency: Any, T: Any
) -> np.ndarray:
    """P(no purchase in (T, T + t] | x, t_x, T).

    A customer dead at T makes no purchase. A customer alive at T can only
    drop out right after a purchase, so a purchase-free window just means no
    Poisson event in it; with the posterior ``lambda ~ Gamma(r + x, rate=alpha
    + T)`` given alive, ``P = E[exp(-lambda t)] = ((alpha+T)/(alpha+T+t))^(r+x)``.
    Hence ``P = 1 - P(alive) + P(alive) ((alpha+T)/(alpha+T+t))^(r+x)``: 1 at
    t = 0, decreasing in t towards ``1 - P(alive)``.
    """
    t_arr = _check_horizon(t)
    x, tx, t_obs = _validate_rfm(frequency, recency, T, same_length=False)
    return _prob_no_purchase(params, t_arr, x, tx, t_obs)


def _prob_no_purchase(
    params: BgNbdParams, t: Any, x: np.ndarray, tx: np.ndarray, t_obs: np.ndarray
) -> np.ndarray:
    alive = _prob_alive(params, x, tx, t_obs)
    base = params.alpha + t_obs
    none_if_alive = np.exp(-(params.r + x) * np.log1p(t / base))
    return np.clip(1.0 - alive + alive * none_if_alive, 0.0, 1.0)


# --------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------


class _GammaGammaObjective:
    """Weighted Gamma-Gamma log-likelihood of the mean spend m of x purchases::

    ll = lgamma(px + q) - lgamma(px) - lgamma(q) + q log v
         + (px - 1) log m + px log x - (px + q) log(v + x m)
    """

    def __init__(self, x: np.ndarray, m: np.ndarray, w: np.ndarray):
        self.total = float(w.sum())
        self.ux, self.xi = np.unique(x, return_inverse=True)
        self.wx = np.bincount(self.xi, weights=w, minlength=len(self.ux))
        self.x, self.m, self.w = x, m, w
        self.xm = x * m
        log_m = np.log(m)
        self.s_wlogm = float(np.dot(w, log_m))
        self.s_wx_logxm = float(np.dot(w * x, log_m + np.log(x)))
        self.wxx = self.wx * self.ux

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, v = np.exp(theta)
        ux, wx, W = self.ux, self.wx, self.total
        px_q = p * ux + q
        log_vxm = np.log(v + self.xm)
        ll = (
            float(np.dot(wx, special.gammaln(px_q) - special.gammaln(p * ux)))
            - W * special.gammaln(q)
            + W * q * math.log(v)
            + p * self.s_wx_logxm
            - self.s_wlogm
            - float(np.dot(self.w * (p * self.x + q), log_vxm))
        )
        psi_pxq = special.digamma(px_q)
        d_p = (
            float(np.dot(self.wxx, psi_pxq - special.digamma(p * ux)))
            + self.s_wx_logxm
            - float(np.dot(self.w * self.x, log_vxm))
        )
        d_q = (
            float(np.dot(wx, psi_pxq))
            - W * special.digamma(q)
            + W * math.log(v)
            - float(np.dot(self.w, log_vxm))
        )
        d_v = W * q / v - float(np.dot(self.w * (p * self.x + q), 1.0 / (v + self.xm)))
        if not np.isfinite(ll):
            return math.inf, np.zeros(3)
        grad = np.array([p * d_p, q * d_q, v * d_v])
        return -ll / W, -grad / W


def _gg_inputs(frequency: Any, monetary_value: Any) -> tuple[np.ndarray, np.ndarray]:
    x = _to_float("frequency", frequency)
    m = _to_float("monetary_value", monetary_value)
    if x.shape != m.shape:
        raise ValueError(
            "frequency and monetary_value must have the same shape, got "
            f"{x.shape} and {m.shape}"
        )
    if np.any(x < 0) or np.any(x != np.floor(x)):
        i = _first_bad((x < 0) | (x != np.floor(x)))
        raise ValueError(
            "frequency must be a non-negative whole number (repeat purchases), "
            f"got {x.ravel()[i]!r} at position {i}"
        )
    return x, m


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, frequency: Any, monetary_value: Any
) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean repeat spend
    (defined for frequency > 0 and monetary_value > 0; NaN elsewhere)."""
    x, m = _gg_inputs(frequency, monetary_value)
    p, q, v = params.p, params.q, params.v
    ok = (x > 0) & (m > 0)
    xs, ms = np.where(ok, x, 1.0), np.where(ok, m, 1.0)
    ll = (
        special.gammaln(p * xs + q)
        - special.gammaln(p * xs)
        - special.gammaln(q)
        + q * np.log(v)
        + (p * xs - 1.0) * np.log(ms)
        + p * xs * np.log(xs)
        - (p * xs + q) * np.log(v + xs * ms)
    )
    return np.where(ok, ll, np.nan)


def fit_gamma_gamma(
    frequency: Any, monetary_value: Any, *, weights: Any = None
) -> GammaGammaParams:
    """Fit the Gamma-Gamma spend model by maximum likelihood.

    Only customers with ``frequency > 0`` (at least one repeat transaction)
    **and** ``monetary_value > 0`` (the mean value of their repeat
    transactions) enter the likelihood; the others are ignored, as in the
    papers and in ``lifetimes``. ``monetary_value`` must be finite everywhere
    (``ValueError`` otherwise) and frequency a non-negative whole number;
    ``ValueError`` if no customer qualifies. Rows with equal (x, m) are
    collapsed, and the fit uses the same log-parameter L-BFGS-B scheme as
    :func:`fit_bgnbd`. The model assumes spend is independent of the purchase
    process; check the correlation of frequency and monetary value first.
    """
    x, m = _gg_inputs(frequency, monetary_value)
    if x.ndim != 1:
        raise ValueError("frequency and monetary_value must be 1-D")
    w = _validate_weights(weights, x.size)
    use = (x > 0) & (m > 0) & (w > 0)
    if not np.any(use):
        raise ValueError(
            "fit_gamma_gamma needs at least one customer with frequency > 0 and "
            "monetary_value > 0"
        )
    (ux, um), uw, _ = _compress([x[use], m[use]], w[use])
    objective = _GammaGammaObjective(ux, um, uw)
    mean_m = float(np.dot(uw, um) / uw.sum())
    starts = [
        np.log([p0, q0, mean_m * (q0 - 1.0) / p0])
        for p0 in (1.0, 4.0, 10.0)
        for q0 in (2.0, 4.0, 10.0)
    ]
    theta, converged, iterations = _maximize(objective, starts)
    _warn_on_bounds(theta, ("p", "q", "v"), "Gamma-Gamma")
    p, q, v = (float(val) for val in np.exp(theta))
    f, _ = objective(theta)
    return GammaGammaParams(
        p=p,
        q=q,
        v=v,
        log_likelihood=float(-f * objective.total),
        n_customers=int(np.count_nonzero(use)),
        converged=bool(converged),
        iterations=int(iterations),
    )


def gamma_gamma_expected_spend(
    params: GammaGammaParams, frequency: Any, monetary_value: Any
) -> np.ndarray:
    """Conditional expected spend per transaction, E[Z | x, m_x].

    ``(p (v + x m_x)) / (p x + q - 1)``: a weighted average of the population
    mean ``p v / (q - 1)`` and the customer's own mean ``m_x`` with weight
    ``p x / (p x + q - 1)`` on the latter. For x = 0 it is the population mean.
    Requires ``q > 1`` (otherwise the mean spend is infinite: ValueError).
    """
    if params.q <= 1.0:
        raise ValueError(
            f"Gamma-Gamma q = {params.q:.4g} <= 1: the expected spend is infinite"
        )
    x, m = _gg_inputs(frequency, monetary_value)
    p, q, v = params.p, params.q, params.v
    weight = p * x / (p * x + q - 1.0)
    return (1.0 - weight) * (p * v / (q - 1.0)) + weight * m


# --------------------------------------------------------------------------
# CLV and scoring
# --------------------------------------------------------------------------


def _discounted_purchases(
    params: BgNbdParams,
    x: np.ndarray,
    tx: np.ndarray,
    t_obs: np.ndarray,
    horizon_months: int,
    discount_rate_monthly: float,
    time_unit_days: float,
) -> np.ndarray:
    """sum_i (E[X(T, T + month_i)] - E[X(T, T + month_{i-1})]) / (1 + d)^i."""
    alive = _prob_alive(params, x, tx, t_obs)
    total = np.zeros(np.shape(x))
    previous = np.zeros(np.shape(x))
    for i in range(1, horizon_months + 1):
        t = i * DAYS_PER_MONTH / time_unit_days
        current = _expected_given_alive(params, t, x, t_obs)
        total += (current - previous) / (1.0 + discount_rate_monthly) ** i
        previous = current
    return np.maximum(total, 0.0) * alive


def _check_clv_args(
    horizon_months: int, discount_rate_monthly: float, time_unit_days: float
) -> None:
    if int(horizon_months) != horizon_months or horizon_months < 0:
        raise ValueError("horizon_months must be a non-negative whole number")
    if not (discount_rate_monthly > -1.0 and math.isfinite(discount_rate_monthly)):
        raise ValueError("discount_rate_monthly must be a finite number > -1")
    if not (time_unit_days > 0 and math.isfinite(time_unit_days)):
        raise ValueError("time_unit_days must be a positive number")


def customer_lifetime_value(
    bgnbd: BgNbdParams,
    gg: GammaGammaParams,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary_value: Any,
    *,
    horizon_months: int = 12,
    discount_rate_monthly: float = 0.01,
    time_unit_days: float = 7.0,
) -> np.ndarray:
    """Discounted expected customer lifetime value over ``horizon_months``.

    As ``lifetimes`` computes it: ``sum_{i=1..H} (E[X(T, T + i months)] -
    E[X(T, T + (i-1) months)]) * E[spend | x, m_x] / (1 + d)^i``, with months
    of 30 days converted to the data's time unit (``time_unit_days`` days per
    unit; note ``lifetimes`` with ``freq="W"`` uses 4.345 weeks = 30.4 days
    per month instead). Expected purchases come from the BG/NBD model, the
    expected spend from the Gamma-Gamma model (population mean for x = 0).
    """
    _check_clv_args(horizon_months, discount_rate_monthly, time_unit_days)
    x, tx, t_obs = _validate_rfm(frequency, recency, T, same_length=False)
    spend = gamma_gamma_expected_spend(gg, x, monetary_value)
    disc = _discounted_purchases(
        bgnbd, x, tx, t_obs, int(horizon_months), discount_rate_monthly, time_unit_days
    )
    return disc * spend


def score_customers(
    summary_df: pd.DataFrame,
    bgnbd: BgNbdParams,
    gg: GammaGammaParams,
    *,
    horizon_days: float = 365.0,
    horizon_months: int = 12,
    discount_rate_monthly: float = 0.01,
    time_unit_days: float = 7.0,
) -> pd.DataFrame:
    """Score every customer of a :func:`summarize`-shaped frame.

    ``summary_df`` needs ``customer_id, frequency, recency, T,
    monetary_value`` (recency and T in units of ``time_unit_days`` days).
    Returns one row per input row, in input order, with ``customer_id``,
    ``expected_purchases`` and ``prob_no_purchase`` over the next
    ``horizon_days`` days, ``prob_alive`` (at the end of the calibration
    period), ``expected_order_value`` (Gamma-Gamma conditional mean spend) and
    ``clv`` (:func:`customer_lifetime_value` over ``horizon_months``).

    The BG/NBD quantities are computed once per distinct ``(frequency,
    recency, T)`` and mapped back, so millions of customers with times in
    whole days score in seconds.
    """
    required = ["customer_id", "frequency", "recency", "T", "monetary_value"]
    missing = [c for c in required if c not in summary_df.columns]
    if missing:
        raise ValueError(f"summary_df is missing column(s): {', '.join(missing)}")
    _check_clv_args(horizon_months, discount_rate_monthly, time_unit_days)
    if not (horizon_days >= 0 and math.isfinite(horizon_days)):
        raise ValueError("horizon_days must be a non-negative number")
    x, tx, t_obs = _validate_rfm(
        summary_df["frequency"].to_numpy(),
        summary_df["recency"].to_numpy(),
        summary_df["T"].to_numpy(),
    )
    spend = gamma_gamma_expected_spend(gg, x, summary_df["monetary_value"].to_numpy())
    t = horizon_days / time_unit_days
    (gx, gtx, gT), _, inverse = _compress([x, tx, t_obs], np.ones(x.size))
    alive = _prob_alive(bgnbd, gx, gtx, gT)
    expected = _expected_given_alive(bgnbd, t, gx, gT) * alive
    no_purchase = _prob_no_purchase(bgnbd, t, gx, gtx, gT)
    disc = _discounted_purchases(
        bgnbd, gx, gtx, gT, int(horizon_months), discount_rate_monthly, time_unit_days
    )
    return pd.DataFrame(
        {
            "customer_id": summary_df["customer_id"].to_numpy(),
            "expected_purchases": expected[inverse],
            "prob_alive": alive[inverse],
            "prob_no_purchase": no_purchase[inverse],
            "expected_order_value": spend,
            "clv": disc[inverse] * spend,
        }
    )


# --------------------------------------------------------------------------
# Data preparation
# --------------------------------------------------------------------------


def _daily_transactions(
    transactions: pd.DataFrame,
    customer_col: str,
    date_col: str,
    value_col: str,
) -> pd.DataFrame:
    """One row per (customer, purchase day) with the summed value."""
    missing = [
        c for c in (customer_col, date_col, value_col) if c not in transactions.columns
    ]
    if missing:
        raise ValueError(f"transactions is missing column(s): {', '.join(missing)}")
    customers = transactions[customer_col]
    if customers.isna().any():
        raise ValueError(f"{customer_col} has {int(customers.isna().sum())} missing")
    try:
        dates = pd.to_datetime(transactions[date_col])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{date_col} is not a date column: {exc}") from None
    if dates.isna().any():
        raise ValueError(f"{date_col} has {int(dates.isna().sum())} missing date(s)")
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    values = pd.to_numeric(transactions[value_col], errors="coerce")
    if values.isna().any():
        n_bad = int(values.isna().sum())
        raise ValueError(f"{value_col} has {n_bad} missing or non-numeric value(s)")
    frame = pd.DataFrame(
        {
            "customer_id": customers.to_numpy(),
            "day": dates.dt.normalize().to_numpy(),
            "value": values.to_numpy(dtype=float),
        }
    )
    return frame.groupby(["customer_id", "day"], sort=True, as_index=False)[
        "value"
    ].sum()


def summarize(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str = "value",
    calibration_end: Any,
    observation_start: Any = None,
    time_unit_days: float = 7.0,
) -> pd.DataFrame:
    """Per-customer RFM summary for the BG/NBD and Gamma-Gamma models.

    Purchases of one customer on the same calendar day are merged into one
    transaction (values summed). Only transactions on or before
    ``calibration_end`` (inclusive) and, if given, on or after
    ``observation_start`` are used; customers whose first purchase in that
    window is after ``calibration_end`` do not appear. Per customer (times in
    units of ``time_unit_days`` days, weeks by default), as ``lifetimes``'
    ``summary_data_from_transaction_data`` / ``calibration_and_holdout_data``
    with ``freq="D"`` then divided by 7:

    * ``frequency`` = distinct purchase days - 1 (repeat transactions);
    * ``recency`` = last purchase day - first purchase day;
    * ``T`` = ``calibration_end`` - first purchase day;
    * ``monetary_value`` = mean value of the repeat transactions (first
      purchase excluded), 0 when frequency is 0.

    Returns columns ``customer_id, frequency, recency, T, monetary_value``
    sorted by customer_id.
    """
    if not (time_unit_days > 0 and math.isfinite(time_unit_days)):
        raise ValueError("time_unit_days must be a positive number")
    end = pd.Timestamp(calibration_end).normalize()
    daily = _daily_transactions(transactions, customer_col, date_col, value_col)
    keep = daily["day"] <= end
    if observation_start is not None:
        start = pd.Timestamp(observation_start).normalize()
        if start > end:
            raise ValueError("observation_start is after calibration_end")
        keep &= daily["day"] >= start
    daily = daily[keep]
    grouped = daily.groupby("customer_id", sort=True)
    agg = grouped.agg(
        first=("day", "first"),
        last=("day", "last"),
        n=("day", "size"),
        total=("value", "sum"),
        first_value=("value", "first"),
    )
    frequency = agg["n"].to_numpy(dtype=np.int64) - 1
    day = np.timedelta64(1, "D")
    recency = (agg["last"] - agg["first"]).to_numpy() / day
    t_obs = (end - agg["first"]).to_numpy() / day
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(
            frequency > 0,
            (agg["total"].to_numpy() - agg["first_value"].to_numpy())
            / np.maximum(frequency, 1),
            0.0,
        )
    return pd.DataFrame(
        {
            "customer_id": agg.index.to_numpy(),
            "frequency": frequency,
            "recency": recency.astype(float) / time_unit_days,
            "T": t_obs.astype(float) / time_unit_days,
            "monetary_value": monetary,
        }
    )


def summarize_holdout(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str = "value",
    calibration_end: Any,
    holdout_end: Any,
) -> pd.DataFrame:
    """Actual behaviour in the holdout ``(calibration_end, holdout_end]``.

    Same-day purchases merged as in :func:`summarize`. Returns
    ``customer_id, frequency_holdout`` (distinct purchase days in the holdout)
    and ``value_holdout`` (summed value) for customers with at least one
    holdout purchase; join to a calibration summary and fill 0 for the rest.
    """
    end = pd.Timestamp(calibration_end).normalize()
    stop = pd.Timestamp(holdout_end).normalize()
    if stop <= end:
        raise ValueError("holdout_end must be after calibration_end")
    daily = _daily_transactions(transactions, customer_col, date_col, value_col)
    daily = daily[(daily["day"] > end) & (daily["day"] <= stop)]
    agg = daily.groupby("customer_id", sort=True).agg(
        frequency_holdout=("day", "size"), value_holdout=("value", "sum")
    )
    return agg.reset_index()


def load_cdnow(path: Any, sample: bool = False) -> pd.DataFrame:
    """Read a CDNOW file into ``customer_id (str), date, quantity, value``.

    ``sample=False``: ``CDNOW_master.txt`` (a header line, then whitespace
    separated ``customer_id, YYYYMMDD, number_of_cds, dollar_value``; 23,570
    customers). ``sample=True``: ``CDNOW_sample.txt`` (no header; original
    customer id, new id 1..2357, date, number of CDs, dollar value). The
    *original* id is kept as ``customer_id`` (as written, e.g. ``"00004"``), so
    sample ids match master ids.
    """
    raw = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, engine="c")
    if raw.shape[0] and not str(raw.iloc[0, 0]).isdigit():
        raw = raw.iloc[1:]
    expected = 5 if sample else 4
    if raw.shape[1] != expected:
        hint = "sample=True" if raw.shape[1] == 5 else "sample=False"
        raise ValueError(
            f"{path}: expected {expected} columns for "
            f"{'CDNOW_sample' if sample else 'CDNOW_master'}, found {raw.shape[1]} "
            f"(pass {hint}?)"
        )
    cols = (
        ["customer_id", "sample_id", "date", "quantity", "value"]
        if sample
        else ["customer_id", "date", "quantity", "value"]
    )
    raw.columns = cols
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype(str).to_numpy(),
            "date": pd.to_datetime(raw["date"], format="%Y%m%d").to_numpy(),
            "quantity": pd.to_numeric(raw["quantity"]).to_numpy(dtype=np.int64),
            "value": pd.to_numeric(raw["value"]).to_numpy(dtype=float),
        }
    )


# --------------------------------------------------------------------------
# Simulation
# --------------------------------------------------------------------------


def simulate_customers(
    n_customers: int,
    bgnbd: BgNbdParams,
    gg: GammaGammaParams | None = None,
    *,
    T: Any = 52.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Draw a customer base from the BG/NBD (and optionally Gamma-Gamma) process.

    Each customer makes a first purchase at time 0 and is observed until
    ``T`` (scalar or one value per customer). ``lambda ~ Gamma(r,
    scale=1/alpha)``, ``p ~ Beta(a, b)``; the customer drops out right after
    their N-th repeat purchase, ``N ~ Geometric(p)`` on 1, 2, .... With K
    Poisson(lambda T) events in (0, T], ``x = min(K, N)`` and ``t_x`` is the
    x-th of K uniform order statistics, ``T * Beta(x, K - x + 1)``. With
    ``gg``, ``nu ~ Gamma(q, scale=1/v)`` and the mean of x transaction values
    ``Gamma(p, scale=1/nu)`` is drawn as ``Gamma(p x, scale=1/(x nu))``.
    Deterministic for a given seed. Returns ``customer_id, frequency,
    recency, T`` (+ ``monetary_value``).
    """
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    t_obs = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    lam = rng.gamma(bgnbd.r, 1.0 / bgnbd.alpha, size=n)
    p_drop = np.clip(rng.beta(bgnbd.a, bgnbd.b, size=n), 1e-12, 1.0)
    n_until_death = rng.geometric(p_drop)
    k = rng.poisson(lam * t_obs)
    x = np.minimum(k, n_until_death)
    rep = x > 0
    tx = np.zeros(n)
    tx[rep] = t_obs[rep] * rng.beta(x[rep], k[rep] - x[rep] + 1)
    out = pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "frequency": x.astype(np.int64),
            "recency": tx,
            "T": t_obs,
        }
    )
    if gg is not None:
        nu = rng.gamma(gg.q, 1.0 / gg.v, size=n)
        m = np.zeros(n)
        m[rep] = rng.gamma(gg.p * x[rep], 1.0 / (x[rep] * nu[rep]))
        out["monetary_value"] = m
    return out
