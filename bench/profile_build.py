"""Where a dbt build spends its time: the top nodes of a run_results.json.

Reads ``run_results.json`` (and ``manifest.json`` beside it, when present, for
each node's language, materialization and tags) from a dbt target folder, by
default the one the benchmark's full build left (``data/bench/1M/full/target``),
and prints:

* the run's elapsed time and the summed node times (dbt runs 2 threads, so the
  sum can exceed the elapsed time), per resource type and language;
* the top ``--top`` nodes by execution time, with the share of the summed time;
* dbt's own per-node overhead: execution time minus the compile and execute
  phases, summed (what "per-model dbt overhead" costs);
* when the benchmark left ``memory.csv`` beside it (steps a and b of
  bench/run_bench.py sample the process tree's RSS every 50 ms), the build's
  memory peak and the nodes running at that moment, and the top nodes by the
  largest rise of the tree's RSS while they ran (from its value when they
  started). With dbt's 2 threads a rise can belong to the node beside it: the
  nodes running at the same time are listed.

Usage::

    .venv/bin/python bench/profile_build.py
    .venv/bin/python bench/profile_build.py --target target --top 30
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _phase_seconds(result: dict, name: str) -> float:
    for phase in result.get("timing", []):
        if phase.get("name") == name and phase.get("started_at"):
            start = datetime.fromisoformat(phase["started_at"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(phase["completed_at"].replace("Z", "+00:00"))
            return (end - start).total_seconds()
    return 0.0


def _window(result: dict) -> tuple[float, float] | None:
    """The node's (start, end) as unix times: its first phase to its last."""
    phases = [p for p in result.get("timing", []) if p.get("started_at")]
    if not phases:
        return None

    def stamp(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    return stamp(phases[0]["started_at"]), stamp(phases[-1]["completed_at"])


def load_memory(path: Path) -> list[tuple[float, float]]:
    """(unix time, tree MB) samples of memory.csv; [] when absent."""
    if not path.exists():
        return []
    with path.open() as handle:
        return [
            (float(r["unix_time"]), float(r["tree_mb"])) for r in csv.DictReader(handle)
        ]


def memory_report(
    results: list[dict],
    samples: list[tuple[float, float]],
    names: dict[str, str],
    top: int,
) -> list[str]:
    """Lines: the peak and who ran then; the top nodes by RSS rise while running."""
    windows = {r["unique_id"]: w for r in results if (w := _window(r))}
    if not samples or not windows:
        return []
    peak_t, peak_mb = max(samples, key=lambda s: s[1])
    start = samples[0][0]

    def running(at: float) -> list[str]:
        return [names[u] for u, (a, b) in windows.items() if a <= at <= b]

    lines = [
        f"memory: peak {peak_mb:,.0f} MB (process tree) at {peak_t - start:.1f} s, "
        f"while running: {', '.join(running(peak_t)) or '(no node: start-up or end)'}",
        f"top {top} nodes by RSS rise while running (MB at start -> peak, peak time):",
    ]
    rises = []
    for unique_id, (a, b) in windows.items():
        inside = [s for s in samples if a <= s[0] <= b]
        if not inside:
            continue
        before = [s for s in samples if s[0] <= a]
        at_start = before[-1][1] if before else inside[0][1]
        t, mb = max(inside, key=lambda s: s[1])
        others = [n for n in running(t) if n != names[unique_id]]
        rises.append((mb - at_start, at_start, mb, t - start, names[unique_id], others))
    for rise, at_start, mb, t, name, others in sorted(rises, key=lambda r: -r[0])[:top]:
        beside = f"  beside: {', '.join(others)}" if others else ""
        lines.append(
            f"  {rise:+8,.0f}  {at_start:7,.0f} -> {mb:7,.0f} at {t:6.1f} s  "
            f"{name}{beside}"
        )
    return lines


def load(target: Path) -> tuple[dict, dict]:
    run_results = target / "run_results.json"
    if not run_results.exists():
        raise SystemExit(f"no {run_results}: run a dbt build (or make bench) first")
    manifest_path = target / "manifest.json"
    nodes = {}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        nodes = {**manifest.get("nodes", {}), **manifest.get("unit_tests", {})}
    return json.loads(run_results.read_text()), nodes


def describe(unique_id: str, node: dict) -> str:
    kind = unique_id.split(".", 1)[0]
    if kind == "model":
        language = node.get("language", "sql")
        tags = ",".join(node.get("tags", []))
        return f"model/{language}" + (f" [{tags}]" if tags else "")
    return kind


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--target",
        type=Path,
        default=ROOT / "data" / "bench" / "1M" / "full" / "target",
        help="dbt target folder holding run_results.json",
    )
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)
    run, nodes = load(args.target)
    results = run["results"]
    elapsed = run.get("elapsed_time", 0.0)
    total = sum(r["execution_time"] for r in results)
    print(f"run_results: {args.target / 'run_results.json'}")
    print(
        f"{len(results)} nodes, elapsed {elapsed:.1f} s (dbt's figure, start-up and "
        f"parsing excluded), summed node time {total:.1f} s"
    )
    failed = [r["unique_id"] for r in results if r["status"] not in ("success", "pass")]
    if failed:
        print(f"not successful: {', '.join(failed)}")

    groups: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    overhead = 0.0
    for r in results:
        node = nodes.get(r["unique_id"], {})
        key = describe(r["unique_id"], node).split(" [")[0]
        key += " (ml)" if "ml" in node.get("tags", []) else ""
        groups[key][0] += 1
        groups[key][1] += r["execution_time"]
        overhead += max(
            0.0,
            r["execution_time"]
            - _phase_seconds(r, "compile")
            - _phase_seconds(r, "execute"),
        )
    print("\nby kind:")
    for key, (count, seconds) in sorted(groups.items(), key=lambda kv: -kv[1][1]):
        share = 100 * seconds / total if total else 0
        print(f"  {key:<24} {count:4d} nodes {seconds:8.1f} s {share:5.1f}%")
    compile_s = sum(_phase_seconds(r, "compile") for r in results)
    print(
        f"\ndbt per-node overhead outside compile/execute: {overhead:.1f} s; "
        f"compile phases: {compile_s:.1f} s (summed over {len(results)} nodes)"
    )

    print(f"\ntop {args.top} nodes by execution time:")
    ranked = sorted(results, key=lambda r: -r["execution_time"])[: args.top]
    for rank, r in enumerate(ranked, 1):
        node = nodes.get(r["unique_id"], {})
        name = node.get("name") or r["unique_id"].split(".")[-1]
        name = name if len(name) <= 52 else name[:49] + "..."
        share = 100 * r["execution_time"] / total if total else 0
        print(
            f"  {rank:2d}. {r['execution_time']:7.1f} s {share:5.1f}%  {name:<52} "
            f"{describe(r['unique_id'], node)}"
        )

    names = {
        r["unique_id"]: nodes.get(r["unique_id"], {}).get("name")
        or r["unique_id"].split(".")[-1]
        for r in results
    }
    memory = memory_report(
        results, load_memory(args.target / "memory.csv"), names, args.top
    )
    if memory:
        print()
        print("\n".join(memory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
