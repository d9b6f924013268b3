"""Benchmark suite: the warehouse build against the RFM/CLV floor, Spark and pandas.

For each size (``1M``, ``10M``, ``100M`` lines, or any ``<n>``/``<n>k``/``<n>M``)
this generates Online-Retail-II-shaped Parquet once with the project's generator
(``data/bench/<size>/``, git-ignored), then runs each step as its own process and
measures the whole process tree: wall time, CPU time, and peak memory as the sum of the
resident set sizes of the process and all its descendants, polled every 50 ms
from /proc (``peak_tree_mb``; covers dbt's threads and Spark's JVM). When GNU
``/usr/bin/time`` is installed, its "Maximum resident set size" (the largest single
process, from getrusage) is recorded too (``max_rss_mb``).

Steps (``--steps``, default all, run in this order):

``c``  floor: one hand-written DuckDB query, per-customer RFM + AWS simple CLV,
       Parquet to Parquet (``bench/rfm_engines.py duckdb``)
``p``  the project's compiled RFM/CLV SQL (``dbt compile``, untimed) run on the
       same Parquet in one DuckDB process (``bench/rfm_engines.py project-sql``)
``e``  the same computation in pandas
``d``  the AWS reference approach: the same in PySpark, local[2]
``b``  ``dbt build`` of the RFM/CLV marts alone (landing, cleaning, RFM,
       probabilistic CLV, their tests; no ML), fresh warehouse, dbt start-up
       included (after an untimed ``dbt parse``: the build uses the saved
       manifest, as a deployed project does; the parse time is reported)
``a``  the full ``dbt build`` (everything, ML included), fresh warehouse and
       MLflow store; its ``run_results.json`` is kept for ``bench/profile_build.py``

c, p, e and d write one row per customer; the driver checks that p, e and d
agree with c (same customers, same recency/frequency, monetary and CLV within
rounding) and prints a check line per engine. a and b apply the project's full
cleaning rules (duplicates, non-product lines, returns...), so their customer
counts are shown for information only.

Results: ``bench/results/<UTC date>-<size>.md`` and ``.csv``, with the machine.

Usage::

    .venv/bin/python bench/run_bench.py --sizes 1M
    .venv/bin/python bench/run_bench.py --sizes 10M --steps c,p,e,d,b
    .venv/bin/python bench/run_bench.py --sizes 100M --memory-limit 8GB
    make bench SIZES="1M 10M"
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rfm_engines as _engines  # noqa: E402  (bench/ is not a package)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ENGINES = ROOT / "bench" / "rfm_engines.py"
MEMORY_CSV = "memory.csv"  # steps a and b: the tree's RSS samples, in the target folder
GNU_TIME = Path("/usr/bin/time")
POLL_S = 0.05
ALL_STEPS = ("c", "p", "e", "d", "b", "a")
# step p's models: compiled here, run by rfm_engines.py; one list for both
PROJECT_MODELS = _engines.PROJECT_MODELS
MARTS_SELECT = "+customer_rfm +customer_clv"
TITLES = {
    "c": "floor: one DuckDB query (RFM + simple CLV)",
    "p": "project's compiled RFM/CLV SQL, one DuckDB process",
    "e": "pandas",
    "d": "PySpark local[2] (AWS reference approach)",
    "b": f"dbt build --select {MARTS_SELECT} --exclude tag:ml (cautious tests)",
    "a": "full dbt build",
}


@dataclass
class Measurement:
    step: str
    command: list[str]
    wall_s: float
    peak_tree_mb: float
    max_rss_mb: float | None
    cpu_s: float | None
    exit_code: int
    log: Path
    check: str = ""
    extra: dict = field(default_factory=dict)


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"size {text!r}: use e.g. 1M, 250k, 5000")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * {"": 1, "k": 1_000, "m": 1_000_000}[unit])


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, user + system clock ticks) for every process."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name may hold spaces or parentheses: split after the last ')'
        fields = stat[stat.rindex(b")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def sample_tree(pid: int, cpu_ticks: dict[int, int]) -> int:
    """Sum of VmRSS (bytes) of pid and its descendants; records their CPU ticks."""
    table = _process_table()
    children: dict[int, list[int]] = {}
    for child, (parent, _) in table.items():
        children.setdefault(parent, []).append(child)
    total, stack, page = 0, [pid], os.sysconf("SC_PAGE_SIZE")
    while stack:
        current = stack.pop()
        stack.extend(children.get(current, ()))
        if current in table:
            cpu_ticks[current] = max(cpu_ticks.get(current, 0), table[current][1])
        try:
            with open(f"/proc/{current}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure(
    step: str,
    command: list[str],
    log: Path,
    env: dict[str, str],
    memory_csv: Path | None = None,
) -> Measurement:
    """Run command as one process tree; wall time and peak memory of the tree.

    With ``memory_csv``, every sample is written there too (``unix_time``,
    ``tree_mb``): bench/profile_build.py lines them up with dbt's node timings
    to show which nodes drove the peak."""
    log.parent.mkdir(parents=True, exist_ok=True)
    time_file = log.with_suffix(".time")
    wrapped = command
    if GNU_TIME.exists():
        wrapped = [str(GNU_TIME), "-v", "-o", str(time_file), *command]
    print(f"  [{step}] {TITLES[step]} ...", flush=True)
    with log.open("w") as out:
        start = time.perf_counter()
        process = subprocess.Popen(
            wrapped, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        )
        peak, cpu_ticks, samples = 0, {}, []
        while process.poll() is None:
            rss = sample_tree(process.pid, cpu_ticks)
            samples.append((time.time(), rss))
            peak = max(peak, rss)
            time.sleep(POLL_S)
        wall = time.perf_counter() - start
    if memory_csv is not None:
        memory_csv.parent.mkdir(parents=True, exist_ok=True)
        with memory_csv.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["unix_time", "tree_mb"])
            writer.writerows((f"{t:.3f}", f"{b / 2**20:.1f}") for t, b in samples)
    max_rss = None
    cpu = sum(cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")
    if time_file.exists():
        text = time_file.read_text()
        found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        if found:
            max_rss = int(found.group(1)) / 1024
        times = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text)
        if len(times) == 2:  # waited-for children, even short-lived ones
            cpu = max(cpu, float(times[0]) + float(times[1]))
    result = Measurement(
        step, command, wall, peak / 2**20, max_rss, cpu, process.returncode, log
    )
    status = "ok"
    if result.exit_code:
        status = f"FAILED (exit {result.exit_code}, see {log})"
    print(
        f"  [{step}] {wall:8.2f} s  peak {result.peak_tree_mb:8.0f} MB  {status}",
        flush=True,
    )
    return result


def generate(lines: int, size: str, data_dir: Path) -> tuple[Path, str]:
    """The size's Parquet file, generated once (seed 42) and reused."""
    folder = data_dir / size
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"online_retail_ii_{size}.parquet"
    done = folder / "generated.txt"
    if path.exists() and done.exists() and done.read_text().startswith(f"{lines}\n"):
        return path, done.read_text().splitlines()[1]
    print(f"==> generating {size} ({lines:,} lines) into {path}", flush=True)
    command = [
        str(BIN / "python"), "-m", "clv_warehouse.generate",
        "--out", str(path), "--lines", str(lines), "--quiet",
    ]  # fmt: skip
    output = subprocess.run(
        command, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    print(f"    {output}", flush=True)
    done.write_text(f"{lines}\n{output}\n")
    return path, output


def dbt_env(folder: Path, memory_limit: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DBT_PROFILES_DIR=str(ROOT / "profiles"),
        CLV_DUCKDB_PATH=str(folder / "warehouse.duckdb"),
        CLV_MLFLOW_DIR=str(folder / "mlflow"),
        CLV_DUCKDB_MEMORY_LIMIT=memory_limit,
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def dbt_command(verb: str, folder: Path, parquet: Path, *select: str) -> list[str]:
    vars_ = json.dumps({"input_format": "online_retail_ii", "input_path": str(parquet)})
    return [
        str(BIN / "dbt"), verb, "--target", "dev",
        "--target-path", str(folder / "target"), "--log-path", str(folder / "logs"),
        "--vars", vars_, *select,
    ]  # fmt: skip


def fresh(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def parse_project(folder: Path, parquet: Path, env: dict[str, str]) -> float:
    """Untimed `dbt parse` into the step's target folder; its wall time.

    The timed build then starts as a deployed project does: with dbt's saved
    manifest (partial parsing), not a full parse after a code change.
    """
    start = time.perf_counter()
    with (folder / "parse.log").open("w") as out:
        code = subprocess.run(
            dbt_command("parse", folder, parquet), cwd=ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT,
        ).returncode  # fmt: skip
    if code:
        raise SystemExit(f"dbt parse failed (exit {code}), see {folder / 'parse.log'}")
    return time.perf_counter() - start


def compile_project_sql(folder: Path, parquet: Path, memory_limit: str) -> Path:
    """dbt compile the project's RFM/CLV models (not timed); their compiled folder."""
    fresh(folder)
    command = dbt_command("compile", folder, parquet, "--select", *PROJECT_MODELS)
    log = folder / "compile.log"
    with log.open("w") as out:
        code = subprocess.run(
            command, cwd=ROOT, env=dbt_env(folder, memory_limit), stdout=out,
            stderr=subprocess.STDOUT,
        ).returncode  # fmt: skip
    if code:
        raise SystemExit(f"dbt compile failed (exit {code}), see {log}")
    return folder / "target" / "compiled" / "clv_warehouse" / "models"


def compare(floor: Path, other: Path) -> str:
    """One check line: does `other` hold the floor's per-customer figures?"""
    import duckdb

    def source(path: Path) -> str:
        pattern = str(path / "*.parquet") if path.is_dir() else str(path)
        return "read_parquet('" + pattern.replace("'", "''") + "')"

    con = duckdb.connect()
    row = con.execute(
        f"""
        with f as (select * from {source(floor)}), o as (select * from {source(other)})
        select
            (select count(*) from o),
            (select count(*) from f full join o using (customer_id)
             where f.customer_id is null or o.customer_id is null),
            (select count(*) from f join o using (customer_id)
             where f.recency_days <> o.recency_days or f.frequency <> o.frequency
                or abs(f.monetary - o.monetary) > 0.006
                or abs(f.clv_simple - o.clv_simple) > 1e-5),
            (select sum(frequency) from o),
            (select sum(monetary) from o),
            (select sum(clv_simple) from o)
        """
    ).fetchall()[0]
    con.close()
    rows, unmatched, differing, freq, monetary, clv = row
    verdict = "AGREES" if unmatched == 0 and differing == 0 else "DIFFERS"
    return (
        f"{verdict} with the floor: {rows:,} customers, {unmatched} unmatched, "
        f"{differing} differing; sum frequency {freq:,}, sum monetary "
        f"{monetary:,.2f}, sum clv_simple {clv:,.2f}"
    )


def warehouse_check(path: Path) -> str:
    import duckdb

    if not path.exists():
        return "no warehouse"
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows, freq, monetary = con.execute(
            "select count(*), sum(frequency), sum(monetary_value) "
            "from gold.customer_rfm"
        ).fetchall()[0]
        size_mb = path.stat().st_size / 2**20
        return (
            f"gold.customer_rfm: {rows:,} customers, sum frequency {freq:,}, sum "
            f"monetary {monetary:,.2f} (project cleaning rules); DuckDB file "
            f"{size_mb:,.0f} MB"
        )
    finally:
        con.close()


def run_size(size: str, lines: int, args: argparse.Namespace) -> list[Measurement]:
    parquet, generated = generate(lines, size, args.data_dir)
    folder = args.data_dir / size
    out_dir = fresh(folder / "out")
    print(f"==> {size}: {generated}", flush=True)
    results: list[Measurement] = []
    engine_env = dict(os.environ, BENCH_DUCKDB_MEMORY_LIMIT=args.memory_limit)
    engine_env["BENCH_DUCKDB_TEMP_DIR"] = str(folder / "duckdb_tmp")
    outputs = {"c": out_dir / "duckdb.parquet", "p": out_dir / "project_sql.parquet",
               "e": out_dir / "pandas.parquet", "d": out_dir / "spark"}  # fmt: skip
    engines = {"c": "duckdb", "p": "project-sql", "e": "pandas", "d": "spark"}
    for step in [s for s in ALL_STEPS if s in args.steps]:
        if step in engines:
            command = [
                str(BIN / "python"), str(ENGINES), engines[step],
                "--input", str(parquet), "--out", str(outputs[step]),
            ]  # fmt: skip
            if step == "p":
                compiled = compile_project_sql(
                    folder / "compile", parquet, args.memory_limit
                )
                command += ["--compiled", str(compiled)]
            if step == "d":
                command += [
                    "--spark-driver-memory", args.spark_driver_memory,
                    "--spark-shuffle-partitions", str(args.spark_shuffle_partitions),
                ]  # fmt: skip
            result = measure(step, command, folder / "logs" / f"{step}.log", engine_env)
            if result.exit_code == 0 and step != "c" and outputs["c"].exists():
                result.check = compare(outputs["c"], outputs[step])
            elif result.exit_code == 0 and step == "c":
                result.check = compare(outputs["c"], outputs["c"]).replace(
                    "AGREES with the floor", "floor"
                )
        else:
            target = fresh(folder / ("marts" if step == "b" else "full"))
            select = []
            if step == "b":
                # cautious: skip tests that also need unselected models (e.g. the
                # relationship customer_rfm -> dim_customers)
                select = ["--select", *MARTS_SELECT.split(), "--exclude", "tag:ml",
                          "--indirect-selection", "cautious"]  # fmt: skip
            env = dbt_env(target, args.memory_limit)
            parse_s = parse_project(target, parquet, env)
            if args.dbt_threads:
                select += ["--threads", str(args.dbt_threads)]
            command = dbt_command("build", target, parquet, *select)
            result = measure(
                step, command, folder / "logs" / f"{step}.log", env,
                memory_csv=target / "target" / MEMORY_CSV,
            )  # fmt: skip
            result.extra["parse_s"] = parse_s
            if result.exit_code == 0:
                result.check = warehouse_check(target / "warehouse.duckdb")
            if step == "a":  # kept for bench/profile_build.py
                print(
                    "  [a] profile: .venv/bin/python bench/profile_build.py "
                    f"--target {_relative(str(target / 'target'))}",
                    flush=True,
                )
        if result.check:
            print(f"  [{step}] check: {result.check}", flush=True)
        results.append(result)
    return results


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        total_kb = int(handle.readline().split()[1])
    java = subprocess.run(
        ["java", "-version"], capture_output=True, text=True, check=False
    ).stderr.splitlines()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": f"{total_kb / 2**20:.1f} GiB",
        "os": platform.platform(),
        "python": platform.python_version(),
        "java": java[0] if java else "not found",
        "duckdb": _version("duckdb"),
        "dbt-core": _version("dbt-core"),
        "dbt-duckdb": _version("dbt-duckdb"),
        "pandas": _version("pandas"),
        "pyarrow": _version("pyarrow"),
        "pyspark": _version("pyspark"),
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "CPU": "user + system seconds of the process tree (polled from /proc, or "
        "GNU time's figure for waited-for children when larger); less sensitive "
        "than wall time to other load on the machine",
        "peak memory": "sum of VmRSS over the process tree, polled every 50 ms "
        "(peak_tree_mb); GNU time's maximum RSS of the largest single process "
        "(max_rss_mb)",
    }


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def _fmt_mb(value: float | None) -> str:
    return _fmt(value, ",.0f")


def cpu_floor(m: Measurement, cores: int) -> str:
    """The step's CPU seconds spread over every core: the shortest wall time
    its work allows, were all cores busy from start to end."""
    if m.cpu_s is None:
        return ""
    return (
        f"; its {m.cpu_s:,.1f} CPU s are {m.cpu_s / cores:,.1f} s "
        f"on {cores} cores at best"
    )


def targets(
    by_step: dict[str, Measurement], lines: int, cores: int | None = None
) -> list[str]:
    """The issue's targets that these measurements can decide."""
    cores = cores or os.cpu_count() or 1
    ok = {s: m for s, m in by_step.items() if m.exit_code == 0}
    out = []

    def line(condition: bool, text: str) -> None:
        out.append(f"- {'PASS' if condition else 'FAIL'}: {text}")

    if "p" in ok and "c" in ok:
        ratio = ok["p"].wall_s / ok["c"].wall_s
        line(ratio <= 2, f"project RFM/CLV SQL within 2x of the floor ({ratio:.2f}x)")
    if "p" in ok and "d" in ok:
        ratio = ok["d"].wall_s / ok["p"].wall_s
        line(
            ratio >= 10,
            f"project RFM/CLV SQL >= 10x faster than PySpark ({ratio:.1f}x)",
        )
    if "b" in ok and "d" in ok:
        ratio = ok["d"].wall_s / ok["b"].wall_s
        line(
            ratio > 1,
            f"dbt build of the marts faster than PySpark ({ratio:.2f}x)"
            + cpu_floor(ok["b"], cores),
        )
    if "a" in by_step:
        a = by_step["a"]
        if lines >= 10_000_000 and lines < 100_000_000:
            line(
                a.exit_code == 0 and a.wall_s < 60 and a.peak_tree_mb < 4096,
                f"full build under 60 s and 4 GB ({a.wall_s:.1f} s, "
                f"{a.peak_tree_mb:,.0f} MB, exit {a.exit_code})" + cpu_floor(a, cores),
            )
        if lines >= 100_000_000:
            line(a.exit_code == 0, f"full build completes (exit {a.exit_code})")
    return out


def write_results(
    size: str, lines: int, generated: str, results: list[Measurement],
    args: argparse.Namespace, info: dict[str, str],
) -> tuple[Path, Path]:  # fmt: skip
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{dt.datetime.now(dt.UTC):%Y-%m-%d}-{size}"
    by_step = {m.step: m for m in results}
    floor = by_step.get("c")
    floor_s = floor.wall_s if floor and floor.exit_code == 0 else None
    csv_path = args.results_dir / f"{stem}.csv"
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["size", "lines", "step", "what", "wall_s", "cpu_s", "peak_tree_mb",
             "max_rss_mb", "x_floor", "exit_code", "check"]
        )  # fmt: skip
        for m in results:
            writer.writerow(
                [size, lines, m.step, TITLES[m.step], f"{m.wall_s:.2f}",
                 _fmt(m.cpu_s, ".2f"), f"{m.peak_tree_mb:.0f}", _fmt_mb(m.max_rss_mb),
                 f"{m.wall_s / floor_s:.2f}" if floor_s else "", m.exit_code, m.check]
            )  # fmt: skip
    md = [f"# Benchmark {size} ({stem})", ""]
    if args.note:
        md += [f"**Note:** {args.note}", ""]
    data = generated.replace(str(ROOT) + "/", "")
    md += [f"Data: {data}", "", f"DuckDB memory limit: {args.memory_limit}", ""]
    md += [
        "| step | what | wall (s) | CPU (s) | peak tree (MB) | max RSS (MB) "
        "| x floor | exit |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        ratio = f"{m.wall_s / floor_s:.1f}" if floor_s else ""
        md.append(
            f"| {m.step} | {TITLES[m.step]} | {m.wall_s:.2f} | {_fmt(m.cpu_s, '.2f')} "
            f"| {m.peak_tree_mb:,.0f} "
            f"| {_fmt_mb(m.max_rss_mb)} | {ratio} | {m.exit_code} |"
        )
    ok = {s: m for s, m in by_step.items() if m.exit_code == 0}
    pairs = [("d", "p"), ("d", "c"), ("e", "c"), ("d", "b"), ("a", "b"), ("b", "c")]
    ratios = [
        f"- {TITLES[x]} / {TITLES[y]}: {ok[x].wall_s / ok[y].wall_s:.2f}x"
        for x, y in pairs
        if x in ok and y in ok
    ]
    if ratios:
        md += ["", "Wall-time ratios:", "", *ratios]
    parses = [
        f"- {m.step}: an untimed `dbt parse` ran first ({m.extra['parse_s']:.1f} s), "
        "so the timed build starts from the saved manifest, as a deployed project does"
        for m in results
        if "parse_s" in m.extra
    ]
    if parses:
        md += ["", "dbt start-up:", "", *parses]
    checks = [f"- {m.step}: {m.check}" for m in results if m.check]
    if checks:
        md += ["", "Checks:", "", *checks]
    goals = targets(by_step, lines)
    if goals:
        md += ["", "Targets (issue 7):", "", *goals]
    md += ["", "Commands (run from the project folder):", ""]
    md += [
        f"- {m.step}: `{' '.join(_relative(c) for c in m.command)}`" for m in results
    ]
    if any(m.step in ("a", "b") for m in results):
        md.append(
            f"- a and b run with `CLV_DUCKDB_PATH=data/bench/{size}/<full|marts>/"
            f"warehouse.duckdb CLV_MLFLOW_DIR=data/bench/{size}/<full|marts>/mlflow "
            f"CLV_DUCKDB_MEMORY_LIMIT={args.memory_limit}` on a fresh folder, "
            "after an untimed `dbt parse` with the same options"
        )
    md += ["", "Machine:", ""] + [f"- {k}: {v}" for k, v in info.items()]
    md_path = args.results_dir / f"{stem}.md"
    md_path.write_text("\n".join(md) + "\n")
    return md_path, csv_path


def _relative(arg: str) -> str:
    text = arg.replace(str(ROOT) + "/", "")
    return f"'{text}'" if any(ch in text for ch in ' {}"') else text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["1M"], help="e.g. 1M 10M 100M")
    parser.add_argument(
        "--steps", default=",".join(ALL_STEPS), help="comma-separated subset of a-e,p"
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument("--results-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--memory-limit", default="8GB", help="DuckDB memory limit (dbt and engines)"
    )
    parser.add_argument("--spark-driver-memory", default="4g")
    parser.add_argument(
        "--spark-shuffle-partitions",
        type=int,
        default=4,
        help="spark.sql.shuffle.partitions (4: tuned for local[2]; Spark's default "
        "200 made the 1M run several times slower)",
    )
    parser.add_argument(
        "--dbt-threads",
        type=int,
        default=None,
        help="dbt --threads for steps a and b (default: the profile's 2). At 100M, "
        "1 keeps two spilling queries from sharing the memory limit and the disk",
    )
    parser.add_argument("--note", default="", help="a line for the results file")
    args = parser.parse_args(argv)
    args.steps = {s.strip() for s in args.steps.split(",") if s.strip()}
    unknown = args.steps - set(ALL_STEPS)
    if unknown:
        parser.error(f"unknown steps {sorted(unknown)}; choose from {ALL_STEPS}")
    args.data_dir = args.data_dir.resolve()
    info = machine()
    for size in args.sizes:
        lines = parse_size(size)
        results = run_size(size, lines, args)
        generated = (args.data_dir / size / "generated.txt").read_text().splitlines()[1]
        md_path, csv_path = write_results(size, lines, generated, results, args, info)
        print(f"==> wrote {md_path} and {csv_path.name}", flush=True)
        print(md_path.read_text(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
