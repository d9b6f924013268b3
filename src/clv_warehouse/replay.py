"""Replay the scheduled pipeline over a sequence of cutoffs (``make replay``).

    python -m clv_warehouse.replay [--dir state/replay] [--change churn_wave]
        [--change-at 2011-04-01] [--first-cutoff ...] [--last-cutoff ...]

1. Generates the bundled sample's data (same seed and period) with a behaviour
   change injected part-way (default: a churn wave from 2011-04-01, see
   ``generate.GeneratorConfig``: a competitor wins over the most frequent
   buyers, everyone else drops out faster and buys less often).
2. Splits it into monthly batch files by invoice date (``<dir>/batches``).
3. For every month end of the sample's second year (by default), lands the
   batches up to that month in ``<dir>/landing`` and runs the scheduled build,
   ``python -m clv_warehouse.cli build``, with ``input_path`` = the landing
   glob and ``as_of_date`` = the day after the month end, on the replay's own
   warehouse and MLflow store (``<dir>/warehouse.duckdb``, ``<dir>/mlflow``).
   One progress line per build: cutoff, time, decision and reasons per task.
4. Prints the timeline from gold (``gold.ml_retrain_decisions``: decisions,
   triggers, versions, realized accuracy, drift per build), which stays in the
   replay warehouse with ``gold.ml_model_registry`` and
   ``ml.ml_realized_performance``.

Every run starts from an empty replay folder and generates the same data, so
the decisions and drift figures are the same each time; AUCs can differ in the
third decimal, because the training frame's row order is not fixed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path

from clv_warehouse import generate

DEFAULT_DIR = Path("state") / "replay"


def month_ends(first: date, last: date) -> list[date]:
    """Every month end from the month of ``first`` to the month of ``last``."""
    ends = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        nxt = date(year + month // 12, month % 12 + 1, 1)
        ends.append(nxt - timedelta(days=1))
        year, month = nxt.year, nxt.month
    return ends


def default_cutoffs(start: date) -> list[date]:
    """The month ends of the data's second year (months 13 to 24)."""
    first = date(start.year + 1, start.month, 1)
    last = date(first.year + 1, first.month, 1) - timedelta(days=1)
    return month_ends(first, last)


def split_by_month(source: Path, out_dir: Path) -> dict[str, Path]:
    """Write one CSV per invoice month (``batch_YYYY_MM.csv``, header included);
    return {``YYYY-MM``: path}. Rows keep their text; order is kept per month."""
    out_dir.mkdir(parents=True, exist_ok=True)
    handles: dict[str, tuple] = {}
    try:
        with source.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            at = header.index("InvoiceDate")
            for row in reader:
                month = row[at][:7]
                if month not in handles:
                    path = out_dir / f"batch_{month.replace('-', '_')}.csv"
                    out = path.open("w", newline="", encoding="utf-8")
                    writer = csv.writer(out, lineterminator="\n")
                    writer.writerow(header)
                    handles[month] = (path, out, writer)
                handles[month][2].writerow(row)
    finally:
        for _, out, _ in handles.values():
            out.close()
    return {month: path for month, (path, _, _) in sorted(handles.items())}


def land(batches: dict[str, Path], landing: Path, through: date) -> int:
    """Copy every batch of a month up to ``through`` into ``landing`` (once)."""
    landing.mkdir(parents=True, exist_ok=True)
    landed = 0
    for month, path in batches.items():
        if month <= through.strftime("%Y-%m"):
            target = landing / path.name
            if not target.exists():
                shutil.copyfile(path, target)
            landed += 1
    return landed


def decisions(db_path: Path, scoring_cutoff: date | None = None) -> list[dict]:
    """Rows of gold.ml_retrain_decisions (one cutoff's, or all), oldest first."""
    import duckdb

    con = duckdb.connect(str(db_path), read_only=True)
    try:
        where = "" if scoring_cutoff is None else "where scoring_cutoff_date = ?"
        params = [] if scoring_cutoff is None else [scoring_cutoff]
        frame = con.execute(
            f"""
            select
                scoring_cutoff_date, task, decision, triggers, reasons,
                champion_version_before, trained_version, champion_version_after,
                registry_decision, realized_metric_value, realized_cutoff_date,
                champion_validation_metric, max_psi, max_psi_feature,
                champion_age_days
            from gold.ml_retrain_decisions
            {where}
            order by scoring_cutoff_date, task
            """,
            params,
        ).df()
    finally:
        con.close()
    return frame.to_dict("records")


def _fmt(value, pattern: str = "{:.3f}", missing: str = "-") -> str:
    if value is None or value != value:  # None or NaN/NaT
        return missing
    try:
        return pattern.format(value)
    except (TypeError, ValueError):
        return str(value)


def timeline_lines(rows: Iterable[dict]) -> list[str]:
    """The timeline as fixed-width text lines."""
    lines = [
        f"{'cutoff':<10}  {'task':<10}  {'decision':<8}  {'champion':<9}  "
        f"{'realized':>8}  {'max PSI':>7}  triggers / reasons"
    ]
    for row in rows:
        before = _fmt(row["champion_version_before"], "v{:.0f}")
        after = _fmt(row["champion_version_after"], "v{:.0f}")
        champion = after if before == after else f"{before}->{after}"
        text = row["triggers"]
        if row["decision"] == "retrain":
            text = str(row["reasons"])
            if row.get("registry_decision"):
                text += f" => v{_fmt(row['trained_version'], '{:.0f}')} "
                text += str(row["registry_decision"])
        lines.append(
            f"{str(row['scoring_cutoff_date'])[:10]:<10}  {row['task']:<10}  "
            f"{row['decision']:<8}  {champion:<9}  "
            f"{_fmt(row['realized_metric_value']):>8}  {_fmt(row['max_psi']):>7}  "
            f"{text}"
        )
    return lines


def build(
    cutoff: date,
    *,
    landing: Path,
    db_path: Path,
    mlflow_dir: Path,
    log_path: Path,
    extra_args: list[str],
) -> tuple[int, float]:
    """One scheduled build at ``cutoff`` (month end); (exit code, seconds)."""
    as_of = cutoff + timedelta(days=1)
    dbt_vars = {"input_path": str(landing / "*.csv"), "as_of_date": as_of.isoformat()}
    env = dict(
        os.environ,
        CLV_DUCKDB_PATH=str(db_path),
        CLV_MLFLOW_DIR=str(mlflow_dir),
        DBT_TARGET_PATH=str(log_path.parent / "target"),
        DBT_LOG_PATH=str(log_path.parent),
        DBT_PROFILES_DIR=os.environ.get("DBT_PROFILES_DIR", "profiles"),
    )
    env.pop("MLFLOW_TRACKING_URI", None)
    command = [
        sys.executable,
        "-m",
        "clv_warehouse.cli",
        "build",
        "--vars",
        json.dumps(dbt_vars),
        *extra_args,
    ]
    started = time.monotonic()
    with log_path.open("w") as log:
        status = subprocess.call(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    return status, time.monotonic() - started


def run(
    out_dir: Path,
    *,
    change: str | None,
    change_at: str | None,
    cutoffs: list[date] | None = None,
    customers: int | None = None,
    extra_args: list[str] | None = None,
    out=sys.stdout,
) -> int:
    """The whole replay; returns 0 or the failing build's exit code."""
    started = time.monotonic()
    out_dir = out_dir.resolve()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    config = generate.GeneratorConfig(
        n_customers=customers or generate.GeneratorConfig.n_customers,
        change=change,
        change_at=change_at,
    )
    source = out_dir / "source.csv"
    written = generate.write_csv(source, config)
    batches = split_by_month(source, out_dir / "batches")
    start = date.fromisoformat(str(config.start))
    cutoffs = cutoffs or default_cutoffs(start)
    print(
        f"replay: {written.lines:,} lines, {len(batches)} monthly batches, "
        f"change {change or 'none'}"
        + (f" from {change_at}" if change else "")
        + f", {len(cutoffs)} builds ({cutoffs[0]} .. {cutoffs[-1]}) in {out_dir}",
        file=out,
        flush=True,
    )
    db_path = out_dir / "warehouse.duckdb"
    for cutoff in cutoffs:
        landed = land(batches, out_dir / "landing", cutoff)
        log_path = out_dir / "logs" / f"build_{cutoff.isoformat()}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        status, seconds = build(
            cutoff,
            landing=out_dir / "landing",
            db_path=db_path,
            mlflow_dir=out_dir / "mlflow",
            log_path=log_path,
            extra_args=list(extra_args or []),
        )
        if status != 0:
            tail = log_path.read_text(errors="replace").splitlines()[-15:]
            print("\n".join(tail), file=out)
            print(
                f"replay: the build at {cutoff} failed (exit {status}); log {log_path}",
                file=out,
            )
            return status
        summary = "; ".join(
            f"{row['task']} {row['decision']} ({row['triggers']})"
            for row in decisions(db_path, cutoff + timedelta(days=1))
        )
        print(
            f"  {cutoff}  {landed:>2} batches  {seconds:6.1f} s  {summary}",
            file=out,
            flush=True,
        )
    print("\nTimeline (gold.ml_retrain_decisions):", file=out)
    print("\n".join(timeline_lines(decisions(db_path))), file=out)
    print(
        f"\nreplay finished in {time.monotonic() - started:.1f} s; warehouse {db_path}",
        file=out,
        flush=True,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m clv_warehouse.replay", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="replay folder")
    parser.add_argument(
        "--change",
        choices=(*generate.CHANGES, "none"),
        default="churn_wave",
        help="behaviour change injected in the data (churn_wave)",
    )
    parser.add_argument("--change-at", default="2011-04-01", help="when (2011-04-01)")
    parser.add_argument(
        "--first-cutoff", type=date.fromisoformat, help="first month end to build at"
    )
    parser.add_argument(
        "--last-cutoff", type=date.fromisoformat, help="last month end to build at"
    )
    parser.add_argument("--customers", type=int, help="customers (default 3000)")
    args, extra = parser.parse_known_args(argv)
    change = None if args.change == "none" else args.change
    cutoffs = None
    if args.first_cutoff or args.last_cutoff:
        defaults = default_cutoffs(date.fromisoformat(generate.GeneratorConfig.start))
        cutoffs = month_ends(
            args.first_cutoff or defaults[0], args.last_cutoff or defaults[-1]
        )
    return run(
        args.dir,
        change=change,
        change_at=args.change_at if change else None,
        cutoffs=cutoffs,
        customers=args.customers,
        extra_args=extra,
    )


if __name__ == "__main__":
    sys.exit(main())
