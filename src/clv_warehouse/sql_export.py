"""Compile a fitted champion pipeline to SQL and install it as DuckDB macros.

The compiler is this module's own, for the two candidate families of
:mod:`clv_warehouse.ml`: logistic regression (standardize, dot product, logistic
or softmax link) and gradient boosting, histogram or exact (each tree a nested
``CASE`` on scikit-learn's float64 thresholds, the trees summed in
scikit-learn's order from its prior, then the link; the exact kind compares the
inputs cast to float32, as scikit-learn does). It replaced orbital, whose
export of a 4-class, 100-round boosting took 11 s (0.3 s here) and wrote float32
thresholds that had to be patched back; the macros now match scikit-learn to
about 1e-16.

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

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
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


def float32_inputs(model: Pipeline) -> bool:
    """True when the model compares float32 inputs (exact GradientBoosting
    casts ``X`` to float32 before its splits; histogram boosting and logistic
    regression use float64)."""
    return isinstance(model.steps[-1][1], GradientBoostingClassifier)


def _double(value: float) -> str:
    """A DOUBLE literal that round-trips exactly: ``repr`` in E notation (a
    plain ``0.25`` would be a DECIMAL in DuckDB, converted less exactly)."""
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"cannot compile the non-finite number {value!r} to SQL")
    text = repr(value)
    return text if "e" in text else text + "E0"


def _nested_case(
    columns: Sequence[str],
    feature: np.ndarray,
    threshold: np.ndarray,
    left: np.ndarray,
    right: np.ndarray,
    is_leaf: np.ndarray,
    leaf_value: np.ndarray,
) -> str:
    """One binary tree, given as node arrays, as nested CASE: ``x <= threshold``
    goes left, as in scikit-learn."""

    def node(i: int) -> str:
        if is_leaf[i]:
            return _double(leaf_value[i])
        return (
            f"CASE WHEN {columns[feature[i]]} <= {_double(threshold[i])} "
            f"THEN {node(int(left[i]))} ELSE {node(int(right[i]))} END"
        )

    return node(0)


def _tree_sql(tree: Any, columns: Sequence[str], scale: float) -> str:
    """One tree of exact gradient boosting; each leaf is ``scale * value``
    computed here in float64, which is the term scikit-learn adds for it."""
    t = tree.tree_
    values = np.asarray(t.value, dtype=np.float64).reshape(t.node_count, -1)[:, 0]
    return _nested_case(
        columns,
        t.feature,
        t.threshold,
        t.children_left,
        t.children_right,
        t.children_left == -1,
        scale * values,
    )


def _histogram_tree_sql(predictor: Any, columns: Sequence[str]) -> str:
    """One tree of histogram gradient boosting (its leaf values already carry
    the learning rate). Inputs are never null here (features are prepared with
    nulls as 0), so the trees' missing-value branches are not needed."""
    nodes = predictor.nodes
    if nodes["is_categorical"].any():
        raise ValueError("categorical splits cannot be compiled to SQL")
    return _nested_case(
        columns,
        nodes["feature_idx"],
        nodes["num_threshold"],
        nodes["left"],
        nodes["right"],
        nodes["is_leaf"].astype(bool),
        nodes["value"],
    )


def _raw_scores(model: Pipeline, columns: Sequence[str]) -> list[str]:
    """SQL of the model's raw scores (log-odds; one per class for multiclass)
    over the prepared feature ``columns``, summed in scikit-learn's order."""
    estimator = model.steps[-1][1]
    if isinstance(estimator, LogisticRegression):
        scaler = dict(model.steps).get("scaler")
        mean = scaler.mean_ if scaler is not None else np.zeros(len(columns))
        std = scaler.scale_ if scaler is not None else np.ones(len(columns))
        standardized = [
            f"(({c} - {_double(m)}) / {_double(s)})"
            for c, m, s in zip(columns, mean, std, strict=True)
        ]
        return [
            " + ".join(
                [_double(intercept)]
                + [
                    f"{_double(w)} * {z}"
                    for w, z in zip(row, standardized, strict=True)
                ]
            )
            for row, intercept in zip(
                estimator.coef_, estimator.intercept_, strict=True
            )
        ]
    if isinstance(estimator, HistGradientBoostingClassifier):
        baseline = np.asarray(estimator._baseline_prediction).reshape(-1)
        return [
            " + ".join(
                [_double(baseline[k])]
                + [
                    _histogram_tree_sql(rounds[k], columns)
                    for rounds in estimator._predictors
                ]
            )
            for k in range(len(baseline))
        ]
    if not isinstance(estimator, GradientBoostingClassifier):
        raise ValueError(
            f"cannot compile {type(estimator).__name__} to SQL; expected "
            "LogisticRegression or (Hist)GradientBoostingClassifier"
        )
    # The prior the boosting starts from; the input is irrelevant to it.
    init = estimator._raw_predict_init(np.zeros((1, len(columns)), dtype=np.float32))
    stages = estimator.estimators_  # (n_rounds, n_trees_per_round)
    rate = float(estimator.learning_rate)
    return [
        " + ".join(
            [_double(init[0, k])]
            + [_tree_sql(stage[k], columns, rate) for stage in stages]
        )
        for k in range(stages.shape[1])
    ]


def _probabilities_sql(
    model: Pipeline,
    spec: TaskSpec,
    table_name: str,
    key_columns: Sequence[str],
    dialect: str,
) -> str:
    """SELECT key columns and one ``output_probability.<label>`` per class of
    ``model`` over ``table_name`` (prepared features): the raw scores, then the
    logistic (binary) or softmax (multiclass) link. Every column reference is
    qualified, so the scalar macros' parameters cannot capture them."""
    q = lambda name: _quote(name, dialect)  # noqa: E731
    src, raw = q(table_name), q("__clv_raw")
    scores = _raw_scores(model, [f"{src}.{q(f)}" for f in spec.features])
    keys = ", ".join(f"{src}.{q(k)} AS {q(k)}" for k in key_columns)
    raw_columns = ", ".join(
        f"{s} AS {q(f'__clv_score_{k}')}" for k, s in enumerate(scores)
    )
    scored = f"(SELECT {keys}, {raw_columns} FROM {src}) AS {raw}"
    labels = [str(c) for c in model.classes_]
    r = [f"{raw}.{q(f'__clv_score_{k}')}" for k in range(len(scores))]
    if len(scores) == 1:
        positive = f"CAST(1 AS DOUBLE) / (CAST(1 AS DOUBLE) + EXP(-{r[0]}))"
        probabilities = [f"CAST(1 AS DOUBLE) - {positive}", positive]
    else:  # softmax, shifted by the largest score as scipy's is
        exp = q("__clv_exp")
        shifted = ", ".join(
            f"EXP({score} - GREATEST({', '.join(r)})) AS {q(f'__clv_exp_{k}')}"
            for k, score in enumerate(r)
        )
        keys = ", ".join(f"{raw}.{q(k)} AS {q(k)}" for k in key_columns)
        scored = f"(SELECT {keys}, {shifted} FROM {scored}) AS {exp}"
        raw = exp
        e = [f"{exp}.{q(f'__clv_exp_{k}')}" for k in range(len(r))]
        probabilities = [f"{x} / ({' + '.join(e)})" for x in e]
    outputs = [f"{raw}.{q(k)} AS {q(k)}" for k in key_columns] + [
        f"{p} AS {q('output_probability.' + label)}"
        for p, label in zip(probabilities, labels, strict=True)
    ]
    return f"SELECT {', '.join(outputs)} FROM {scored}"


def _output_columns(
    model: Pipeline, spec: TaskSpec, dialect: str, source_alias: str
) -> list[str]:
    """Projection from the ``output_probability.<label>`` columns."""
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
    tree = float32_inputs(model)
    prepared = [f"{src}.{q(k)} AS {q(k)}" for k in key_columns] + [
        feature_sql_expression(f"{src}.{q(f)}", spec.feature_decimals, float32=tree)
        + f" AS {q(f)}"
        for f in spec.features
    ]
    scored_sql = _scored_sql or _probabilities_sql(
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
    # compiled once, shared by the table and the scalar macros
    scored_sql = _probabilities_sql(model, spec, _PREPARED, ("customer_id",), "duckdb")
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
