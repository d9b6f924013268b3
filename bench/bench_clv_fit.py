"""Benchmark: fit BG/NBD + Gamma-Gamma and score a simulated customer base.

Simulates ``--customers`` customers (default 1,000,000, seeded) from the
BG/NBD and Gamma-Gamma processes with CDNOW-like parameters: acquisition on a
random day of the first 13 weeks, observation until day 364, times rounded to
whole days (as real transaction data are) and expressed in weeks. Then fits
both models and scores every customer (365-day expected purchases, P(alive),
P(no purchase), expected order value, 12-month discounted CLV), printing the
wall time of each step, the total and the recovered parameters.

Usage::

    .venv/bin/python bench/bench_clv_fit.py
    .venv/bin/python bench/bench_clv_fit.py --customers 200000 --seed 7
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from clv_warehouse.probabilistic import (
    BgNbdParams,
    GammaGammaParams,
    fit_bgnbd,
    fit_gamma_gamma,
    score_customers,
    simulate_customers,
)

TRUE_BGNBD = BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
TRUE_GG = GammaGammaParams(p=6.25, q=3.74, v=15.44)
OBSERVATION_DAYS = 364
ACQUISITION_DAYS = 91
TIME_BUDGET_S = 60.0


def simulate(n: int, seed: int):
    """Simulated summary with recency and T on a whole-day grid, in weeks."""
    rng = np.random.default_rng(seed)
    first_day = rng.integers(0, ACQUISITION_DAYS, size=n)
    t_days = (OBSERVATION_DAYS - first_day).astype(float)
    df = simulate_customers(n, TRUE_BGNBD, TRUE_GG, T=t_days / 7.0, seed=seed + 1)
    rec_days = np.round(df["recency"].to_numpy() * 7.0)
    repeat = df["frequency"].to_numpy() > 0
    # a repeat purchase on the first day would be merged into the first one
    rec_days = np.where(repeat, np.clip(rec_days, 1.0, t_days), 0.0)
    df["recency"] = rec_days / 7.0
    df["T"] = t_days / 7.0
    df["monetary_value"] = np.round(df["monetary_value"].to_numpy(), 2)
    return df


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20240501)
    args = parser.parse_args(argv)

    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    summary = simulate(args.customers, args.seed)
    timings["simulate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    bg = fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
    timings["fit_bgnbd"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    gg = fit_gamma_gamma(summary["frequency"], summary["monetary_value"])
    timings["fit_gamma_gamma"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    scores = score_customers(
        summary,
        bg,
        gg,
        horizon_days=365,
        horizon_months=12,
        discount_rate_monthly=0.01,
        time_unit_days=7.0,
    )
    timings["score_customers"] = time.perf_counter() - t0

    n_rows = len(summary)
    n_unique = len(summary[["frequency", "recency", "T"]].drop_duplicates())
    repeaters = int((summary["frequency"] > 0).sum())
    print(
        f"customers: {n_rows:,}  repeat customers: {repeaters:,}  "
        f"unique (x, t_x, T) rows: {n_unique:,}"
    )
    print(
        f"BG/NBD  true r={TRUE_BGNBD.r} alpha={TRUE_BGNBD.alpha} "
        f"a={TRUE_BGNBD.a} b={TRUE_BGNBD.b}"
    )
    print(
        f"        fit  r={bg.r:.4f} alpha={bg.alpha:.4f} a={bg.a:.4f} b={bg.b:.4f} "
        f"ll={bg.log_likelihood:.1f} converged={bg.converged} "
        f"iterations={bg.iterations}"
    )
    print(f"GG      true p={TRUE_GG.p} q={TRUE_GG.q} v={TRUE_GG.v}")
    print(
        f"        fit  p={gg.p:.4f} q={gg.q:.4f} v={gg.v:.4f} "
        f"ll={gg.log_likelihood:.1f} converged={gg.converged} "
        f"iterations={gg.iterations} (n={gg.n_customers:,})"
    )
    print(
        f"scores: mean expected_purchases={scores['expected_purchases'].mean():.4f} "
        f"mean prob_alive={scores['prob_alive'].mean():.4f} "
        f"mean clv={scores['clv'].mean():.2f}"
    )
    for step, seconds in timings.items():
        print(f"{step:>16}: {seconds:8.2f} s")
    fit_total = sum(v for k, v in timings.items() if k != "simulate")
    print(f"{'fit + score':>16}: {fit_total:8.2f} s  (budget {TIME_BUDGET_S:.0f} s)")
    print(f"{'total':>16}: {sum(timings.values()):8.2f} s")
    ok = bg.converged and gg.converged and fit_total < TIME_BUDGET_S
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
