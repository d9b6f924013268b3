"""Compile a fitted champion pipeline to SQL (orbital) and install it as DuckDB macros.

Installed by :func:`install_macros` in ``<schema>`` (persistent, in the database file,
callable from a plain read-only ``duckdb.connect(path, read_only=True)``):

* ``<fn>_table(tbl)``: table macro over any relation *name* with ``customer_id`` and
  the feature columns; returns ``customer_id`` + ``probability`` (binary) or one
  ``probability_<class>`` per class + ``predicted_class`` (multiclass).
  ``select * from predict_churn_table(features)`` (a table or view name; ``tbl`` is
  resolved with ``query_table``, so pass a name, not a CTE or subquery).
* ``<fn>(f1, f2, ...)``: scalar macro over the feature values in spec order; returns
  the positive-class probability (binary, DOUBLE) or the predicted class label
  (multiclass, VARCHAR).
* ``<fn>_probabilities(f1, f2, ...)`` (multiclass only): a STRUCT of class
  probabilities keyed by class label, e.g. ``predict_tier_probabilities(...).high``.

Both macros prepare features exactly as :func:`clv_warehouse.ml.prepare_features`
(DOUBLE, null -> 0, half-up rounding to ``spec.feature_decimals``), so SQL and
Python agree within 1e-6 (tests hold it on every row).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from .ml import TaskSpec

_PREPARED = "__clv_prepared"
_INPUT = "__clv_input"


def _quote(name: str, dialect: str) -> str:
    if dialect == "spark":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def feature_sql_expression(
    column_sql: str, decimals: int, *, float32: bool = False
) -> str:
    """SQL twin of ``ml.prepare_features`` for one column expression.

    ``float32=True`` (tree models) then rounds the value to float32 and back, which
    is what scikit-learn trees do to ``X`` before comparing it with their float64
    thresholds.
    """
    scale = f"CAST({10**decimals} AS DOUBLE)"
    expr = (
        f"FLOOR(COALESCE(CAST({column_sql} AS DOUBLE), CAST(0 AS DOUBLE)) * {scale} "
        f"+ CAST(0.5 AS DOUBLE)) / {scale}"
    )
    if float32:
        expr = f"CAST(CAST({expr} AS FLOAT) AS DOUBLE)"
    return expr


def is_tree_model(model: Pipeline) -> bool:
    return not isinstance(model.steps[-1][1], LogisticRegression)


_THRESHOLD = re.compile(
    r'"(?P<col>[A-Za-z_][A-Za-z0-9_]*)" <= '
    r"(?P<num>-?[0-9]+(?:\.[0-9]+)?(?:E[+-]?[0-9]+)?)"
)


def _exact_thresholds(sql: str, model: Pipeline, spec: TaskSpec) -> str:
    """Put scikit-learn's float64 split thresholds back into orbital's SQL.

    The ONNX export stores thresholds as float32, so ``x <= float32(t)`` can send a
    row down the other branch than scikit-learn's ``float32(x) <= t`` (seen: 0.2
    probability error on money values). Each SQL literal is mapped back by
    (feature, float32 value) to the exact float64 threshold.
    """
    estimator = model.steps[-1][1]
    trees = getattr(estimator, "estimators_", None)
    trees = [estimator] if trees is None else list(np.ravel(trees))
    lookup: dict[tuple[str, float], float] = {}
    for tree in trees:
        t = tree.tree_
        for feature, threshold in zip(t.feature, t.threshold, strict=True):
            if feature >= 0:
                key = (spec.features[feature], float(np.float32(threshold)))
                lookup[key] = float(threshold)

    def fix(match: re.Match[str]) -> str:
        key = (match["col"], float(np.float32(float(match["num"]))))
        if key not in lookup:
            return match[0]
        exact = repr(lookup[key])
        if "e" not in exact:
            exact += "E0"
        return f'"{match["col"]}" <= {exact}'

    return _THRESHOLD.sub(fix, sql)


def _orbital_sql(
    model: Pipeline,
    spec: TaskSpec,
    table_name: str,
    key_columns: Sequence[str],
    dialect: str,
) -> str:
    import orbital
    import orbital.types as otypes

    features: dict[str, Any] = {
        key: otypes.Int64ColumnType(passthrough=True) for key in key_columns
    }
    features.update({f: otypes.DoubleColumnType() for f in spec.features})
    parsed = orbital.parse_pipeline(model, features=features)
    sql = orbital.export_sql(
        table_name,
        parsed,
        dialect=dialect,
        projection=orbital.ResultsProjection(select=list(key_columns)),
    )
    if is_tree_model(model):
        sql = _exact_thresholds(sql, model, spec)
    return sql


def _output_columns(
    model: Pipeline, spec: TaskSpec, dialect: str, source_alias: str
) -> list[str]:
    """Projection from orbital's ``output_probability.<label>`` columns."""
    q = lambda name: _quote(name, dialect)  # noqa: E731
    labels = [str(c) for c in model.classes_]
    if spec.problem_type == "binary":
        if labels != ["0", "1"]:
            raise ValueError(f"binary model classes must be [0, 1], got {labels}")
        return [f"{source_alias}.{q('output_probability.1')} AS {q('probability')}"]
    if sorted(labels) != sorted(spec.classes):
        raise ValueError(f"model classes {labels} differ from spec {spec.classes}")
    columns = [
        f"{source_alias}.{q('output_probability.' + c)} AS {q(out)}"
        for c, out in zip(spec.classes, spec.probability_columns, strict=True)
    ]
    # First maximum in spec order, the same tie rule as numpy.argmax in ml.predict.
    probs = [f"{source_alias}.{q('output_probability.' + c)}" for c in spec.classes]
    whens = []
    for i, c in enumerate(spec.classes[:-1]):
        cond = " AND ".join(f"{probs[i]} >= {p}" for p in probs[i + 1 :])
        whens.append(f"WHEN {cond} THEN '{c}'")
    case = f"CASE {' '.join(whens)} ELSE '{spec.classes[-1]}' END"
    columns.append(f"{case} AS {q('predicted_class')}")
    return columns


def compile_to_sql(
    model: Pipeline,
    spec: TaskSpec,
    *,
    dialect: str = "duckdb",
    source: str = "features",
    key_columns: Sequence[str] = ("customer_id",),
    _scored_sql: str | None = None,
) -> str:
    """A SELECT scoring every row of ``source`` (a relation name or a table-function
    call such as ``query_table(tbl)``) that has the key columns and the features.

    Output: the key columns, the probability column(s) and, for multiclass,
    ``predicted_class``. Features are prepared as in ``ml.prepare_features``.
    """
    q = lambda name: _quote(name, dialect)  # noqa: E731
    src = q("__clv_src")
    tree = is_tree_model(model)
    prepared = [f"{src}.{q(k)} AS {q(k)}" for k in key_columns] + [
        feature_sql_expression(f"{src}.{q(f)}", spec.feature_decimals, float32=tree)
        + f" AS {q(f)}"
        for f in spec.features
    ]
    scored_sql = _scored_sql or _orbital_sql(
        model, spec, _PREPARED, key_columns, dialect
    )
    alias = q("__clv_scored")
    outputs = [f"{alias}.{q(k)} AS {q(k)}" for k in key_columns]
    outputs += _output_columns(model, spec, dialect, alias)
    return (
        f"WITH {q(_PREPARED)} AS (SELECT {', '.join(prepared)} "
        f"FROM {source} AS {src})\n"
        f"SELECT {', '.join(outputs)}\nFROM ({scored_sql}) AS {alias}"
    )


def macro_names(spec: TaskSpec) -> list[str]:
    names = [f"{spec.sql_function}_table", spec.sql_function]
    if spec.problem_type == "multiclass":
        names.append(f"{spec.sql_function}_probabilities")
    return names


def _scalar_body(
    model: Pipeline, spec: TaskSpec, scored_sql: str
) -> tuple[str, str | None]:
    """Bodies of the scalar macro(s): a scalar subquery over one prepared row."""
    q = lambda name: _quote(name, "duckdb")  # noqa: E731
    # Macro parameters are substituted for *unqualified* names only: the input row
    # is the one place they appear unqualified; everything after is qualified.
    input_row = ", ".join(
        ["CAST(0 AS BIGINT) AS " + q("customer_id")]
        + [f"{f} AS {q(f)}" for f in spec.features]
    )
    scored = compile_to_sql(model, spec, source=q(_INPUT), _scored_sql=scored_sql)
    # compile_to_sql starts with WITH; prepend the input row CTE to the same WITH.
    scored = scored.replace("WITH ", f"WITH {q(_INPUT)} AS (SELECT {input_row}), ", 1)
    if spec.problem_type == "binary":
        return f"(SELECT {q('probability')} FROM ({scored}))", None
    label = f"(SELECT {q('predicted_class')} FROM ({scored}))"
    struct = ", ".join(
        f"'{c}': {q(col)}"
        for c, col in zip(spec.classes, spec.probability_columns, strict=True)
    )
    return label, f"(SELECT {{{struct}}} FROM ({scored}))"


def install_macros(
    con: Any,
    model: Pipeline,
    spec: TaskSpec,
    *,
    schema: str = "main",
    relation_name: str | None = None,
) -> dict[str, str]:
    """Create (or replace) the persistent scoring macros in ``schema``.

    ``con`` is a DuckDB connection or cursor (dbt's ``session`` works). If
    ``relation_name`` is given, the table macro is checked against it (columns
    present, scores one row) so a bad feature table fails here, not in a BI tool.
    Returns {macro name: CREATE statement}.
    """
    q = lambda name: _quote(name, "duckdb")  # noqa: E731
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {q(schema)}")
    fn = spec.sql_function
    # orbital is the slow part (~10 s for a 4-class, 100-round boosting): once.
    scored_sql = _orbital_sql(model, spec, _PREPARED, ("customer_id",), "duckdb")
    statements = {
        f"{fn}_table": (
            f"CREATE OR REPLACE MACRO {q(schema)}.{q(fn + '_table')}(tbl) AS TABLE\n"
            + compile_to_sql(
                model, spec, source="query_table(tbl)", _scored_sql=scored_sql
            )
        )
    }
    params = ", ".join(spec.features)
    scalar, probabilities = _scalar_body(model, spec, scored_sql)
    statements[fn] = (
        f"CREATE OR REPLACE MACRO {q(schema)}.{q(fn)}({params}) AS\n{scalar}"
    )
    if probabilities is not None:
        statements[f"{fn}_probabilities"] = (
            f"CREATE OR REPLACE MACRO {q(schema)}.{q(fn + '_probabilities')}"
            f"({params}) AS\n{probabilities}"
        )
    for sql in statements.values():
        con.execute(sql)
    if relation_name is not None:
        columns = {
            row[0]
            for row in con.execute(f"DESCRIBE SELECT * FROM {relation_name}").fetchall()
        }
        missing = [c for c in ("customer_id", *spec.features) if c not in columns]
        if missing:
            raise ValueError(f"{relation_name} lacks column(s) {missing}")
        con.execute(
            f"SELECT * FROM {q(schema)}.{q(fn + '_table')}({relation_name}) LIMIT 1"
        ).fetchall()
    return statements
