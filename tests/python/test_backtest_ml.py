"""backtest_ml: trains only on labels known by the backtest cutoff."""

import numpy as np
import pandas as pd
import pytest
from test_ml import FEATURES, TIERS, rfm_frame

from clv_warehouse import backtest_ml, ml

CHURN = {
    "name": "churn",
    "training_relation": "features",
    "target": "churned",
    "problem_type": "binary",
    "features": list(FEATURES),
    "candidates": ["logistic_regression"],
    "sql_function": "predict_churn",
}
VALUE = dict(
    CHURN,
    name="tier",
    target="tier",
    problem_type="multiclass",
    classes=list(TIERS),
    sql_function="predict_tier",
)


def frame(n_cutoffs=6):
    data = rfm_frame(n_cutoffs=n_cutoffs)
    data["label_window_days"] = 31
    data["future_spend"] = np.where(data["tier"] == "none", 0.0, data["monetary"])
    return data


def test_scores_the_customers_at_the_cutoff_from_known_labels_only():
    data = frame()
    cutoff = sorted(data["cutoff_date"].unique())[-1]
    scores = backtest_ml.score_at_backtest(
        data, backtest_cutoff=cutoff, churn_task=CHURN, value_task=VALUE
    )
    assert list(scores.columns) == backtest_ml.SCORE_COLUMNS
    assert len(scores) == (data["cutoff_date"] == cutoff).sum()
    assert scores["churn_probability"].between(0, 1).all()
    assert (scores["expected_value"] >= 0).all()
    # labels after the cutoff cannot matter: scramble them, same scores
    late = pd.to_datetime(data["cutoff_date"]) + pd.Timedelta(days=31) > cutoff
    scrambled = data.copy()
    scrambled.loc[late, "churned"] = 1 - scrambled.loc[late, "churned"]
    again = backtest_ml.score_at_backtest(
        scrambled, backtest_cutoff=cutoff, churn_task=CHURN, value_task=VALUE
    )
    pd.testing.assert_frame_equal(scores, again)


def test_input_columns_are_all_it_reads():
    """The dbt model loads only input_columns(): the scores on that projection
    equal the scores on every column, and one column fewer fails."""
    data = frame()
    data["unused_text"] = "x"
    cutoff = sorted(data["cutoff_date"].unique())[-1]
    columns = backtest_ml.input_columns(CHURN, VALUE)
    assert "unused_text" not in columns and "is_label_matured" not in columns
    kwargs = dict(backtest_cutoff=cutoff, churn_task=CHURN, value_task=VALUE)
    full = backtest_ml.score_at_backtest(data, **kwargs)
    narrow = backtest_ml.score_at_backtest(data[columns], **kwargs)
    pd.testing.assert_frame_equal(full, narrow)
    with pytest.raises(ValueError, match=f"lack column.*{columns[-1]}"):
        backtest_ml.score_at_backtest(data[columns[:-1]], **kwargs)


def test_too_short_a_history_gives_no_scores():
    data = frame(n_cutoffs=3)
    cutoff = sorted(data["cutoff_date"].unique())[-1]
    scores = backtest_ml.score_at_backtest(
        data, backtest_cutoff=cutoff, churn_task=CHURN, value_task=VALUE
    )
    assert scores.empty


def test_unchanged_inputs_reuse_the_previous_scores(monkeypatch):
    data = frame()
    cutoff = sorted(data["cutoff_date"].unique())[-1]
    first = backtest_ml.score_at_backtest(
        data, backtest_cutoff=cutoff, churn_task=CHURN, value_task=VALUE
    )
    marked = first.assign(churn_probability=-1.0)  # would show if reused
    reused = backtest_ml.score_at_backtest(
        data,
        backtest_cutoff=cutoff,
        churn_task=CHURN,
        value_task=VALUE,
        previous=marked,
    )
    assert (reused["churn_probability"] == -1.0).all()
    # the same rows with another algorithm setting are not reused
    boosted = dict(CHURN, candidates=["gradient_boosting"])
    kwargs = dict(backtest_cutoff=cutoff, churn_task=boosted, value_task=VALUE)
    marked_boosted = backtest_ml.score_at_backtest(data, **kwargs).assign(
        churn_probability=-1.0
    )
    same = backtest_ml.score_at_backtest(data, **kwargs, previous=marked_boosted)
    assert (same["churn_probability"] == -1.0).all()
    monkeypatch.setitem(ml.GRADIENT_BOOSTING_PARAMS, "max_iter", 50)
    other = backtest_ml.score_at_backtest(data, **kwargs, previous=marked_boosted)
    assert other["churn_probability"].between(0, 1).all()
    monkeypatch.undo()
    changed = data.copy()
    changed.loc[changed.index[0], "frequency"] += 1
    retrained = backtest_ml.score_at_backtest(
        changed,
        backtest_cutoff=cutoff,
        churn_task=CHURN,
        value_task=VALUE,
        previous=marked,
    )
    assert retrained["churn_probability"].between(0, 1).all()
