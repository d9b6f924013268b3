"""The benchmark suite's own logic: engines agree, sizes parse, memory is measured.

PySpark is a bench-only dependency (bench/requirements.txt), so its engine is
checked only when it is installed; the driver checks it on every benchmark run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from clv_warehouse.generate import GeneratorConfig, write_parquet

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


engines = _load("rfm_engines")
run_bench = _load("run_bench")
profile_build = _load("profile_build")


@pytest.fixture(scope="module")
def lines(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "lines.parquet"
    write_parquet(path, GeneratorConfig(n_customers=400, seed=7))
    return path


def test_duckdb_and_pandas_engines_agree_with_a_direct_computation(lines, tmp_path):
    outputs = {}
    for engine in ("duckdb", "pandas"):
        out = tmp_path / f"{engine}.parquet"
        assert engines.main([engine, "--input", str(lines), "--out", str(out)]) == 0
        outputs[engine] = out
    check = run_bench.compare(outputs["duckdb"], outputs["pandas"])
    assert check.startswith("AGREES"), check
    assert " 0 unmatched, 0 differing" in check

    # one customer by hand, straight from the lines
    con = duckdb.connect()
    customer, recency, frequency, monetary, clv = con.execute(
        f"select * from '{outputs['duckdb']}' order by monetary desc limit 1"
    ).fetchall()[0]
    rows = con.execute(
        f"""
        select cast(InvoiceDate as date), Quantity * Price
        from '{lines}'
        where "Customer ID" = {customer} and not starts_with(Invoice, 'C')
            and Quantity > 0 and Price > 0
        """
    ).fetchall()
    last_day_in_data = con.execute(
        f"""
        select max(cast(InvoiceDate as date)) from '{lines}'
        where "Customer ID" is not null and not starts_with(Invoice, 'C')
            and Quantity > 0 and Price > 0
        """
    ).fetchall()[0][0]
    days = {day for day, _ in rows}
    assert frequency == len(days)
    assert monetary == pytest.approx(sum(amount for _, amount in rows))
    assert recency == (last_day_in_data - max(days)).days
    expected = monetary / frequency * (1 - (recency + 1) / 365) / 1.1
    assert clv == pytest.approx(expected)


def test_compare_reports_a_difference(lines, tmp_path):
    floor = tmp_path / "floor.parquet"
    engines.main(["duckdb", "--input", str(lines), "--out", str(floor)])
    changed = tmp_path / "changed.parquet"
    duckdb.connect().execute(
        f"copy (select * replace (frequency + (customer_id = (select min(customer_id) "
        f"from '{floor}'))::int as frequency) from '{floor}' where customer_id <> "
        f"(select max(customer_id) from '{floor}')) to '{changed}'"
    ).fetchall()
    check = run_bench.compare(floor, changed)
    assert check.startswith("DIFFERS"), check
    assert " 1 unmatched, 1 differing" in check


def test_project_sql_needs_every_compiled_model(tmp_path):
    (tmp_path / "int_cutoffs.sql").write_text("select 1")
    with pytest.raises(SystemExit, match="no compiled SQL for int_customer_days"):
        engines.compiled_models(tmp_path)


@pytest.mark.parametrize(
    ("text", "lines"),
    [("1M", 1_000_000), ("10m", 10_000_000), ("250k", 250_000), ("5000", 5000)],
)
def test_parse_size(text, lines):
    assert run_bench.parse_size(text) == lines


def test_parse_size_refuses_garbage():
    with pytest.raises(Exception, match="use e.g. 1M"):
        run_bench.parse_size("lots")


def test_targets_show_the_cpu_floor_of_the_builds():
    """A build's target line says how short its wall time could be on these
    cores: its CPU seconds over the core count."""

    def step(name, wall_s, cpu_s):
        return run_bench.Measurement(
            name, [], wall_s, 2000.0, None, cpu_s, 0, Path("log")
        )

    by_step = {
        "a": step("a", 85.5, 153.8),
        "b": step("b", 24.0, 40.0),
        "d": step("d", 13.0, 22.0),
    }
    lines = run_bench.targets(by_step, 10_000_000, cores=2)
    assert lines == [
        "- FAIL: dbt build of the marts faster than PySpark (0.54x); "
        "its 40.0 CPU s are 20.0 s on 2 cores at best",
        "- FAIL: full build under 60 s and 4 GB (85.5 s, 2,000 MB, exit 0); "
        "its 153.8 CPU s are 76.9 s on 2 cores at best",
    ]
    by_step["a"] = step("a", 50.0, None)  # CPU unknown: no floor
    assert run_bench.targets(by_step, 10_000_000, cores=2)[1] == (
        "- PASS: full build under 60 s and 4 GB (50.0 s, 2,000 MB, exit 0)"
    )


def test_measure_sees_the_memory_of_a_child_process(tmp_path):
    # the parent stays small; a child holds ~200 MB: the tree peak must see it
    child = "b = b'x' * (200 * 2**20); import time; time.sleep(0.6)"
    parent = (
        f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}])"
    )
    memory_csv = tmp_path / "memory.csv"
    result = run_bench.measure(
        "c", [sys.executable, "-c", parent], tmp_path / "log.txt", env=None,
        memory_csv=memory_csv,
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.peak_tree_mb > 200
    assert result.wall_s >= 0.6
    samples = profile_build.load_memory(memory_csv)
    assert len(samples) >= 5
    assert max(mb for _, mb in samples) == pytest.approx(result.peak_tree_mb, abs=0.1)


def _node(unique_id: str, start: float, end: float) -> dict:
    def iso(seconds: float) -> str:
        return f"2026-01-01T00:00:{seconds:06.3f}Z"

    return {
        "unique_id": unique_id,
        "timing": [
            {"name": "compile", "started_at": iso(start), "completed_at": iso(start)},
            {"name": "execute", "started_at": iso(start), "completed_at": iso(end)},
        ],
    }


def test_memory_report_names_the_node_that_drove_the_peak():
    t0 = profile_build._window(_node("x", 0, 0))[0]
    results = [_node("model.p.small", 1, 5), _node("model.p.big", 3, 8)]
    names = {"model.p.small": "small", "model.p.big": "big"}
    # 100 MB until 4 s, then the big node climbs to 900 MB at 6 s, back at 9 s
    samples = [(t0 + t / 2, 100.0) for t in range(0, 8)]
    samples += [(t0 + 4.5, 500.0), (t0 + 6, 900.0), (t0 + 7, 300.0), (t0 + 9, 100.0)]
    lines = profile_build.memory_report(results, samples, names, top=2)
    assert lines[0].startswith("memory: peak 900 MB")
    assert "while running: big" in lines[0]
    assert "+800" in lines[2] and lines[2].rstrip().endswith("big")
    assert "+400" in lines[3] and "small  beside: big" in lines[3]


@pytest.mark.slow
def test_project_sql_agrees_with_the_floor(lines, tmp_path):
    """The project's compiled RFM/CLV SQL (step p) on a generated Parquet file:
    compiled with dbt, run by the engine, equal to the floor customer by customer
    (the models' columns change with the project, so this must run for real)."""
    compiled = run_bench.compile_project_sql(tmp_path / "compile", lines, "2GB")
    floor, project = tmp_path / "floor.parquet", tmp_path / "project.parquet"
    assert engines.main(["duckdb", "--input", str(lines), "--out", str(floor)]) == 0
    assert (
        engines.main(
            [
                "project-sql",
                "--input",
                str(lines),
                "--out",
                str(project),
                "--compiled",
                str(compiled),
            ]
        )
        == 0
    )
    check = run_bench.compare(floor, project)
    assert check.startswith("AGREES"), check


def test_backtest_bootstrap_separates_a_perfect_method_from_a_random_one(
    tmp_path, monkeypatch, capsys
):
    """bench/backtest_bootstrap.py: a method that knows the holdout beats one
    that guesses, with 95% intervals that exclude 0 and the full-data values
    of clv_warehouse.backtest.method_metrics."""
    import numpy as np
    import pandas as pd

    bootstrap = _load("backtest_bootstrap")
    rng = np.random.default_rng(3)
    n = 2000
    purchases = rng.poisson(1.0, n)
    spend = np.round(purchases * rng.gamma(2.0, 20.0, n), 2)
    base = pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(n)],
            "actual_purchases": purchases.astype("int32"),
            "actual_spend": spend,
        }
    )
    perfect = base.assign(
        method="oracle",
        predicted_purchases=purchases.astype(float),
        predicted_spend=spend,
        value_score=spend,
        churn_score=(purchases == 0).astype(float),
    )
    noise = rng.random(n)
    guess = base.assign(
        method="guess",
        predicted_purchases=noise * 2,
        predicted_spend=noise * 40,
        value_score=noise,
        churn_score=rng.random(n),
    )
    db = tmp_path / "b.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema silver")
    con.register("frame", pd.concat([perfect, guess], ignore_index=True))
    con.execute(
        "create table silver.int_clv_backtest_predictions as select * from frame"
    )
    con.close()
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "x",
            "--path",
            str(db),
            "--method",
            "oracle",
            "--against",
            "guess",
            "--rounds",
            "50",
        ],  # fmt: skip
    )
    bootstrap.main()
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert set(rows) == set(bootstrap.METRICS)
    for metric in ("top10_revenue_share", "churn_auc"):
        low, high = (
            float(v) for v in rows[metric].split("[")[1].rstrip("]").split(", ")
        )
        assert 0 < low <= high
    assert rows["churn_auc"].split()[1] == "1.0000"


def _holdout(rng, n: int, signal: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """n customers whose holdout outcomes follow ``a`` (or nothing)."""
    a = rng.normal(size=n)
    counts = rng.poisson(np.exp(1.5 * a) if signal else np.ones(n))
    spend = counts * rng.gamma(5.0, 10.0, n)
    table = pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(n)],
            "actual_purchases": counts,
            "actual_spend": spend,
        }
    )
    return pd.DataFrame({"a": a, "b": rng.normal(size=n)}), table


def test_holdout_ceiling_separates_signal_from_noise():
    ceiling = _load("holdout_ceiling")
    from clv_warehouse.backtest import method_metrics

    rng = np.random.default_rng(0)
    scored = {}
    for signal in (True, False):
        x, table = _holdout(rng, 2_000, signal)
        frames = ceiling.out_of_fold(x, table, folds=3)
        assert set(frames) == {"linear", "gradient_boosting"}
        scored[signal] = {n: method_metrics(f) for n, f in frames.items()}
        # out of fold: every customer predicted once, in the table's order
        for frame in frames.values():
            assert frame["customer_id"].tolist() == table["customer_id"].tolist()
    for name in ("linear", "gradient_boosting"):
        strong, weak = scored[True][name], scored[False][name]
        assert strong["churn_auc"] > 0.8
        assert abs(weak["churn_auc"] - 0.5) < 0.06
        assert strong["top10_revenue_share"] > 2 * weak["top10_revenue_share"]
    # least squares scored in sample is never worse than out of fold
    x, table = _holdout(rng, 2_000, True)
    loose = method_metrics(ceiling.in_sample_least_squares(x, table))
    fold = method_metrics(ceiling.out_of_fold(x, table, folds=3)["linear"])
    assert loose["count_rmse"] <= fold["count_rmse"]
    assert loose["spend_rmse"] <= fold["spend_rmse"]


def test_holdout_ceiling_rows_pick_the_best_side_of_each_target():
    ceiling = _load("holdout_ceiling")
    backtest = pd.DataFrame(
        {
            "method": ["m1", "m2", "m1", "m2"],
            "metric": ["count_rmse", "count_rmse", "churn_auc", "churn_auc"],
            "value": [1.8, 1.7, 0.70, 0.75],
        }
    )
    ceilings = {
        "x": {
            "count_rmse": 1.65,
            "spend_rmse": 90.0,
            "top10_revenue_share": 0.6,
            "churn_auc": 0.77,
        },
        "y": {
            "count_rmse": 1.55,
            "spend_rmse": 95.0,
            "top10_revenue_share": 0.5,
            "churn_auc": 0.79,
        },
    }
    rows = {r["metric"]: r for r in ceiling.ceiling_rows(backtest, ceilings)}
    assert rows["count_rmse"]["best_method"] == "m2 1.7000"
    assert rows["count_rmse"]["ceiling"] == "y 1.5500"
    assert rows["count_rmse"]["target_within_ceiling"]
    assert rows["spend_rmse"]["best_method"] == "-"
    assert not rows["spend_rmse"]["target_within_ceiling"]
    assert rows["top10_revenue_share"]["ceiling"] == "x 0.6000"
    assert rows["churn_auc"]["best_method"] == "m2 0.7500"
    assert rows["churn_auc"]["target_within_ceiling"]


def test_write_floor_statements_copy_every_line(lines, tmp_path):
    floor = _load("bench_write_floor")
    n = duckdb.sql(f"select count(*) from read_parquet('{lines}')").fetchall()[0][0]
    for name, sql in floor.statements(str(lines)).items():
        con = duckdb.connect(str(tmp_path / f"{name.replace(' ', '_')}.duckdb"))
        result = con.execute(sql).fetchall()
        if name == "read":
            assert result[0][0] == n
            continue
        assert con.execute("select count(*) from t").fetchall()[0][0] == n
        types = dict(
            con.execute("select column_name, column_type from (describe t)").fetchall()
        )
        if name == "write text":
            assert set(types) == {"raw_row_id", *floor.COLUMNS.values()}
            assert {types[c] for c in floor.COLUMNS.values()} == {"VARCHAR"}
        con.close()
