"""How many training rows the classifiers need: validation metric and fit time
against the training-row cap, per task and candidate.

    .venv/bin/python bench/bench_training_rows.py --path <warehouse.duckdb> \
        [--caps 10000 25000 50000 100000 200000 0]

Reads ``ml.ml_customer_features`` of a built warehouse (e.g. the 10M benchmark
build) and trains each task's candidates exactly as the registry does
(``clv_warehouse.ml.train``: time-based validation on the latest cutoffs), with
``max_training_rows`` set to each cap (0 = every training row; gradient
boosting only up to 100,000 rows, as its exact splitter slows down sharply). Prints, per
row, the task, candidate, cap, rows fitted, fit + validation seconds and the
primary validation metric, so the default cap can be chosen where the metric
stops moving.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import duckdb
import yaml

from clv_warehouse import ml, registry

ROOT = Path(__file__).resolve().parents[1]


def tasks() -> list[dict]:
    declared = yaml.safe_load((ROOT / "python_models/ml/_ml__models.yml").read_text())
    found = {}
    for model in declared["models"]:
        task = (model.get("config") or {}).get("task")
        if task and task["name"] not in found:
            found[task["name"]] = task
    return list(found.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", required=True, help="a built warehouse file")
    parser.add_argument(
        "--caps", nargs="+", type=int, default=[10_000, 25_000, 50_000, 100_000, 0]
    )
    options = parser.parse_args(argv)
    with duckdb.connect(options.path, read_only=True) as con:
        features = con.sql("select * from ml.ml_customer_features").df()
    matured = features[features["is_label_matured"].astype(bool)]
    cutoffs = matured.cutoff_date.nunique()
    print(f"{len(matured):,} matured feature rows, {cutoffs} cutoffs")
    print(f"{'task':<11} {'candidate':<20} {'cap':>9} {'fitted':>9} {'s':>7} metric")
    for task in tasks():
        base = registry.task_spec(task)
        for candidate in base.candidates:
            for cap in options.caps:
                if candidate == "gradient_boosting" and not 0 < cap <= 100_000:
                    continue  # the exact splitter takes many minutes beyond that
                spec = dataclasses.replace(
                    base,
                    candidates=(candidate,),
                    max_training_rows=cap or len(matured),
                    gb_max_training_rows=max(
                        base.gb_max_training_rows, cap or len(matured)
                    )
                    if candidate == "gradient_boosting"
                    else base.gb_max_training_rows,
                )
                started = time.perf_counter()
                result = ml.train(matured, spec)
                seconds = time.perf_counter() - started
                print(
                    f"{base.name:<11} {candidate:<20} {cap or 'all':>9} "
                    f"{result.extra['fitted_rows'][candidate]:>9,} {seconds:>7.1f} "
                    f"{spec.primary_metric}={result.metrics[spec.primary_metric]:.4f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
