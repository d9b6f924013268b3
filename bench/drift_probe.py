"""Probe: how far each feature drifts from a reference cutoff, over all customers
and over the active ones (the figures behind README "Retrain triggers").

    .venv/bin/python bench/drift_probe.py [--path warehouse/clv_warehouse.duckdb]
        [--reference 2011-01-01] [--features purchase_days_last_90,...]

Reads ``ml.ml_customer_features`` (the monthly ML cutoffs of the last build) and,
for every cutoff after the reference, prints the PSI of each feature against the
reference cutoff's customers, the way ``ml.ml_feature_drift`` computes it: bins
on the distinct deciles of the reference (``quantile_disc``), a value in the bin
of the number of edges below it, shares floored at 1e-4. "active" keeps, on both
sides, the customers with a purchase within ``--window`` days (churn_window_days).
On the bundled sample (``make run``) it shows drift with no behaviour change;
on the replay's warehouse (``state/replay/warehouse.duckdb``) the churn wave.
The warehouse must not be open in another process.
"""

from __future__ import annotations

import argparse
from datetime import date

import duckdb
import numpy as np

DEFAULT_FEATURES = (
    "purchase_days_last_90",
    "spend_last_90",
    "average_purchase_value",
    "purchase_days_last_30",
    "mean_gap_days",
    "frequency",
    "monetary_total",
)


def psi(reference: np.ndarray, scoring: np.ndarray, epsilon: float = 1e-4) -> float:
    """PSI of ``scoring`` against ``reference`` on the reference's distinct deciles."""
    reference = reference[~np.isnan(reference)]
    scoring = scoring[~np.isnan(scoring)]
    if not len(reference) or not len(scoring):
        return float("nan")
    deciles = np.quantile(reference, np.arange(1, 10) / 10, method="inverted_cdf")
    edges = np.unique(deciles)
    bins = len(edges) + 1
    ref = np.bincount(np.searchsorted(edges, reference, side="left"), minlength=bins)
    sco = np.bincount(np.searchsorted(edges, scoring, side="left"), minlength=bins)
    ref_share = np.maximum(ref / len(reference), epsilon)
    sco_share = np.maximum(sco / len(scoring), epsilon)
    return float(((sco_share - ref_share) * np.log(sco_share / ref_share)).sum())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", default="warehouse/clv_warehouse.duckdb")
    parser.add_argument("--reference", type=date.fromisoformat, default="2011-01-01")
    parser.add_argument("--features", default=",".join(DEFAULT_FEATURES))
    parser.add_argument("--window", type=int, default=90, help="churn_window_days")
    args = parser.parse_args(argv)
    features = [f.strip() for f in args.features.split(",") if f.strip()]

    con = duckdb.connect(args.path, read_only=True)
    try:
        frame = con.execute(
            "select cutoff_date, recency_days, "
            + ", ".join(f"cast({f} as double) as {f}" for f in features)
            + " from ml.ml_customer_features"
            " where cutoff_date in (select cutoff_date from ml.ml_cutoffs"
            " where day(cutoff_date) = 1 or is_scoring)"  # not the backtest cutoff
        ).df()
    finally:
        con.close()
    frame["cutoff_date"] = frame["cutoff_date"].astype("datetime64[us]").dt.date
    reference = frame[frame["cutoff_date"] == args.reference]
    if reference.empty:
        parser.error(f"no feature rows at the reference cutoff {args.reference}")
    populations = {
        "all": lambda rows: rows,
        "active": lambda rows: rows[rows["recency_days"] < args.window],
    }
    short = [f[:14] for f in features]
    print(
        f"PSI against {args.reference} ({len(reference)} customers, "
        f"{len(populations['active'](reference))} active) in {args.path}"
    )
    print(
        f"{'cutoff':<10}  {'population':<10}  {'rows':>5}  "
        + "  ".join(f"{name:>14}" for name in short)
    )
    for cutoff in sorted(
        c for c in frame["cutoff_date"].unique() if c > args.reference
    ):
        rows = frame[frame["cutoff_date"] == cutoff]
        for name, keep in populations.items():
            ref, sco = keep(reference), keep(rows)
            values = [psi(ref[f].to_numpy(), sco[f].to_numpy()) for f in features]
            print(
                f"{cutoff!s:<10}  {name:<10}  {len(sco):>5}  "
                + "  ".join(f"{v:>14.3f}" for v in values)
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
