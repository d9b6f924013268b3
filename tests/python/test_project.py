"""Layer conventions, read from dbt's manifest (replaces dbt-project-evaluator)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from conftest import DBT, PROJECT

LAYERS = {
    # folder: (schema, allowed name prefixes)
    "staging": ("staging", ("stg_",)),
    "intermediate": ("silver", ("int_",)),
    "marts": ("gold", ("dim_", "fct_", "rpt_", "customer_", "clv_", "product_", "ml_")),
    "ml": ("ml", ("ml_",)),
}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    target = tmp_path_factory.mktemp("parse")
    env = dict(
        os.environ,
        DBT_PROFILES_DIR="profiles",
        DBT_TARGET_PATH=str(target),
        DBT_LOG_PATH=str(target / "logs"),
    )
    result = subprocess.run(
        [str(DBT), "parse", "--target", "ci", "--no-partial-parse"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Unused" not in result.stdout, result.stdout
    return json.loads((target / "manifest.json").read_text())


def project_models(manifest):
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == "clv_warehouse"
    ]


def layer_of(node):
    return node["fqn"][1]


def test_every_model_sits_in_a_known_layer(manifest):
    models = project_models(manifest)
    assert len(models) >= 15
    for node in models:
        assert layer_of(node) in LAYERS, node["original_file_path"]


def test_prefix_schema_and_materialization_per_layer(manifest):
    for node in project_models(manifest):
        schema, prefixes = LAYERS[layer_of(node)]
        name = node["name"]
        assert name.startswith(prefixes), f"{name}: prefix should be one of {prefixes}"
        assert node["schema"] == schema, f"{name}: schema {node['schema']}"
        # views only below gold, where a wide row-by-row relation is cheaper
        # to recompute than to write (stg_input__lines, int_lines_classified)
        # bucketed_table: a table built one bucket of rows per statement
        # (macros/bucketed_table.sql)
        allowed = ("table", "incremental", "bucketed_table") + (
            ("view",) if layer_of(node) in ("staging", "intermediate") else ()
        )
        assert node["config"]["materialized"] in allowed, (
            f"{name}: materialized {node['config']['materialized']} (typo?)"
        )


def test_every_model_and_column_is_described(manifest):
    for node in project_models(manifest):
        assert node["description"].strip(), f"{node['name']} has no description"
        assert node["columns"], f"{node['name']} documents no columns"
        for column in node["columns"].values():
            assert column["description"].strip(), (
                f"{node['name']}.{column['name']} has no description"
            )


def test_gold_models_enforce_contracts(manifest):
    for node in project_models(manifest):
        if layer_of(node) == "marts":
            assert node["config"]["contract"]["enforced"], node["name"]
            for column in node["columns"].values():
                assert column.get("data_type"), f"{node['name']}.{column['name']}"


def test_every_model_has_a_primary_key_test(manifest):
    tests_by_model = defaultdict(lambda: defaultdict(set))
    combination_keys = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or "test_metadata" not in node:
            continue
        model = node.get("attached_node")
        name = node["test_metadata"]["name"]
        if name == "unique_combination":
            combination_keys.add(model)
        column = node.get("column_name")
        if column:
            tests_by_model[model][column].add(name)
    for node in project_models(manifest):
        uid = node["unique_id"]
        if node["config"]["materialized"] == "view":
            # a row-by-row view of tested keys (stg_input__lines,
            # int_lines_classified): a key test there would re-run its source's
            continue
        # unique_refreshed: unique, checked for the keys the latest build wrote
        has_key = uid in combination_keys or any(
            "not_null" in names and names & {"unique", "unique_refreshed"}
            for names in tests_by_model[uid].values()
        )
        assert has_key, f"{node['name']} has no unique + not_null key test"


def test_only_staging_reads_the_input(manifest):
    for node in project_models(manifest):
        if layer_of(node) != "staging":
            refs = {ref["name"] for ref in node["refs"]}
            assert "stg_input__landed_lines" not in refs or node["name"].startswith(
                "rpt_raw"
            ), f"{node['name']} reads the landing table directly"


def test_every_ref_in_a_python_model_is_in_the_graph(manifest):
    """dbt finds a Python model's refs by parsing its calls: one it misses (for
    example `dbt.ref("x").df` passed uncalled as an argument) is not a
    dependency, and the model may run before it or fail to load it."""
    pattern = re.compile(r"""dbt\.ref\(\s*["']([A-Za-z0-9_]+)["']""")
    checked = 0
    for node in project_models(manifest):
        if node["language"] != "python":
            continue
        written = set(pattern.findall(Path(node["original_file_path"]).read_text()))
        found = {ref["name"] for ref in node["refs"]}
        missing = written - found
        assert not missing, f"{node['name']}: refs not in the graph {missing}"
        checked += 1
    assert checked >= 10
