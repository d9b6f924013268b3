"""clv_warehouse.ml: specs, time split, champion choice, prediction, factors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from clv_warehouse import fingerprints, ml

FEATURES = ("recency_days", "frequency", "monetary", "tenure_days")
TIERS = ("none", "low", "medium", "high")


def rfm_frame(n_customers: int = 400, n_cutoffs: int = 4, seed: int = 0):
    """(customer, cutoff) rows with RFM-like features, a churn and a tier label."""
    rng = np.random.default_rng(seed)
    cutoffs = pd.date_range("2011-01-01", periods=n_cutoffs, freq="MS")
    n = n_customers * n_cutoffs
    frame = pd.DataFrame(
        {
            "customer_id": np.tile(np.arange(1, n_customers + 1), n_cutoffs),
            "cutoff_date": np.repeat(cutoffs, n_customers),
            "recency_days": rng.integers(0, 400, n),
            "frequency": rng.poisson(3, n) + 1,
            "monetary": np.round(rng.gamma(2.0, 60.0, n), 2),
            "tenure_days": rng.integers(30, 800, n),
        }
    )
    risk = frame.recency_days / 120 - frame.frequency * 0.4 + rng.normal(0, 1, n)
    frame["churned"] = (risk > 0).astype("int32")
    value = frame.monetary * frame.frequency / 4 + rng.normal(0, 40, n)
    frame["tier"] = np.asarray(TIERS)[np.digitize(value, [40, 90, 160])]
    return frame


def churn_spec(**overrides) -> ml.TaskSpec:
    d = {
        "name": "churn",
        "target": "churned",
        "problem_type": "binary",
        "features": list(FEATURES),
        "sql_function": "predict_churn",
    }
    d.update(overrides)
    return ml.TaskSpec.from_dict(d)


def tier_spec(**overrides) -> ml.TaskSpec:
    d = {
        "name": "tier",
        "target": "tier",
        "problem_type": "multiclass",
        "features": list(FEATURES),
        "sql_function": "predict_tier",
        "classes": list(TIERS),
    }
    d.update(overrides)
    return ml.TaskSpec.from_dict(d)


@pytest.fixture(scope="module")
def frame():
    return rfm_frame()


@pytest.fixture(scope="module")
def churn_result(frame):
    return ml.train(frame, churn_spec())


@pytest.fixture(scope="module")
def tier_result(frame):
    return ml.train(frame, tier_spec())


def test_spec_defaults_and_from_dict():
    spec = churn_spec()
    assert spec.features == FEATURES
    assert spec.candidates == ("logistic_regression", "gradient_boosting")
    assert spec.primary_metric == "roc_auc" and spec.higher_is_better
    assert spec.probability_columns == ("probability",)
    tier = tier_spec(primary_metric="log_loss")
    assert not tier.higher_is_better
    assert tier_spec().primary_metric == "macro_roc_auc_ovr"
    assert tier.probability_columns == tuple(f"probability_{c}" for c in TIERS)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"problem_type": "regression"}, "unknown problem_type"),
        ({"features": []}, "features must not be empty"),
        ({"candidates": ["random_forest"]}, "unknown candidate"),
        ({"primary_metric": "macro_roc_auc_ovr"}, "not available for binary"),
        ({"classes": ["a", "b", "c"]}, "only for multiclass"),
        ({"features": ["recency days"]}, "plain SQL identifier"),
        ({"features": ["customer_id"]}, "cannot be features"),
        ({"validation_cutoffs": 0}, "validation_cutoffs"),
        ({"colour": "red"}, "unknown key"),
    ],
)
def test_bad_specs_raise(overrides, message):
    with pytest.raises(ValueError, match=message):
        churn_spec(**overrides)


def test_bad_multiclass_specs_raise():
    with pytest.raises(ValueError, match=">= 3 classes"):
        tier_spec(classes=["a", "b"])
    with pytest.raises(ValueError, match="letters, digits"):
        tier_spec(classes=["a", "b", "c d"])
    with pytest.raises(ValueError, match="missing key"):
        ml.TaskSpec.from_dict({"name": "x"})


def test_prepare_features_rounds_half_up_and_fills_nulls():
    spec = churn_spec(features=["monetary"], feature_decimals=2)
    frame = pd.DataFrame({"monetary": [1.005, 2.675, None, 3, -0.125]})
    out = ml.prepare_features(frame, spec)
    assert out["monetary"].dtype == "float64"
    expected = np.floor(np.array([1.005, 2.675, 0.0, 3.0, -0.125]) * 100 + 0.5) / 100
    np.testing.assert_array_equal(out["monetary"].to_numpy(), expected)


def test_time_split_and_result(frame, churn_result):
    r = churn_result
    assert r.training_rows == 1200 and r.validation_rows == 400
    assert r.training_window == ("2011-01-01", "2011-03-01")
    assert r.validation_window == ("2011-04-01", "2011-04-01")
    assert set(r.candidate_metrics) == {"logistic_regression", "gradient_boosting"}
    best = max(r.candidate_metrics, key=lambda a: r.candidate_metrics[a]["roc_auc"])
    assert r.algorithm == best
    assert r.metrics == r.candidate_metrics[best]
    assert {"roc_auc", "log_loss", "brier", "accuracy", "positive_rate"} <= set(
        r.metrics
    )
    assert r.metrics["roc_auc"] > 0.75
    assert r.baseline_metrics["prior"]["roc_auc"] == 0.5
    assert 0.5 < r.baseline_metrics["recency_rule"]["roc_auc"] < r.metrics["roc_auc"]
    assert set(r.feature_importances) == set(FEATURES)
    assert sum(r.feature_importances.values()) == pytest.approx(1.0)
    top = max(r.feature_importances, key=r.feature_importances.get)
    assert top in ("recency_days", "frequency")
    assert r.params["algorithm"] == r.algorithm


def test_validation_cutoffs_setting(frame):
    r = ml.train(
        frame, churn_spec(validation_cutoffs=2, candidates=["logistic_regression"])
    )
    assert r.training_rows == 800 and r.validation_rows == 800


def test_training_rows_are_capped_by_a_seeded_sample(frame):
    spec = churn_spec(max_training_rows=500, gb_max_training_rows=300)
    r = ml.train(frame, spec)
    assert r.training_rows == 1200 and r.validation_rows == 400
    assert r.extra["fitted_rows"] == {
        "logistic_regression": 500,
        "gradient_boosting": 300,
    }
    assert r.metrics["roc_auc"] > 0.75
    again = ml.train(frame, spec)
    assert again.metrics == r.metrics
    # the sample is drawn after a fixed sort: a shuffled input fits the same rows
    shuffled = ml.train(frame.sample(frac=1.0, random_state=5), spec)
    assert shuffled.metrics == pytest.approx(r.metrics, abs=1e-12)
    for algorithm, metrics in r.candidate_metrics.items():
        assert shuffled.candidate_metrics[algorithm] == pytest.approx(metrics)
    assert ml.train(frame, churn_spec()).extra["fitted_rows"][
        "logistic_regression"
    ] == (1200)
    with pytest.raises(ValueError, match="max_training_rows"):
        churn_spec(max_training_rows=10)


def test_train_is_deterministic(frame, churn_result):
    again = ml.train(frame.sample(frac=1.0, random_state=3), churn_spec())
    assert again.data_fingerprint == churn_result.data_fingerprint
    assert again.metrics == pytest.approx(churn_result.metrics)


def test_fingerprint_ignores_order_and_int_dtypes_but_sees_values(frame):
    spec = churn_spec()
    base = ml.data_fingerprint(frame, spec)
    shuffled = frame.sample(frac=1.0, random_state=1)[list(frame.columns)[::-1]]
    assert ml.data_fingerprint(shuffled, spec) == base
    widened = frame.astype({"frequency": "int64", "recency_days": "float64"})
    assert ml.data_fingerprint(widened, spec) == base
    changed = frame.copy()
    changed.loc[0, "monetary"] += 0.01
    assert ml.data_fingerprint(changed, spec) != base


def test_train_errors(frame):
    one_cutoff = frame[frame.cutoff_date == frame.cutoff_date.min()]
    with pytest.raises(ValueError, match=">= 2 distinct cutoff"):
        ml.train(one_cutoff, churn_spec())
    with pytest.raises(ValueError, match="leaves no training cutoff"):
        ml.train(frame, churn_spec(validation_cutoffs=4))
    with pytest.raises(ValueError, match="missing feature"):
        ml.train(frame.drop(columns="monetary"), churn_spec())
    bad = frame.assign(churned=frame.churned + 1)
    with pytest.raises(ValueError, match="0/1 or boolean"):
        ml.train(bad, churn_spec())
    bad = frame.assign(tier=frame.tier.replace("high", "vip"))
    with pytest.raises(ValueError, match="not in classes"):
        ml.train(bad, tier_spec())


def test_boolean_target_is_accepted(frame):
    spec = churn_spec(candidates=["logistic_regression"])
    r = ml.train(frame.assign(churned=frame.churned.astype(bool)), spec)
    assert r.metrics["roc_auc"] > 0.75


def test_multiclass(frame, tier_result):
    r = tier_result
    assert {"macro_roc_auc_ovr", "log_loss", "accuracy", "macro_f1"} <= set(r.metrics)
    assert r.metrics["macro_roc_auc_ovr"] > 0.75
    assert r.metrics["log_loss"] < r.baseline_metrics["prior"]["log_loss"]
    assert r.baseline_metrics["prior"]["macro_roc_auc_ovr"] == 0.5
    out = ml.predict(r.model, frame.head(50), r.spec)
    probs = out[list(r.spec.probability_columns)].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert set(out.predicted_class) <= set(TIERS)
    expected = np.asarray(TIERS)[probs.argmax(axis=1)]
    assert (out.predicted_class.to_numpy() == expected).all()


def test_predict_binary_matches_sklearn(frame, churn_result):
    out = ml.predict(churn_result.model, frame, churn_result.spec)
    assert list(out.columns) == ["customer_id", "probability"]
    x = ml.prepare_features(frame, churn_result.spec)
    np.testing.assert_array_equal(
        out.probability.to_numpy(), churn_result.model.predict_proba(x)[:, 1]
    )


def test_beats():
    spec = churn_spec()
    assert ml.beats({"roc_auc": 0.8}, {"roc_auc": 0.7}, spec)
    assert not ml.beats({"roc_auc": 0.7}, {"roc_auc": 0.7}, spec)
    assert ml.beats({"roc_auc": 0.7}, None, spec)
    assert not ml.beats({"roc_auc": float("nan")}, {"roc_auc": 0.7}, spec)
    lower = tier_spec(primary_metric="log_loss")
    assert ml.beats({"log_loss": 0.5}, {"log_loss": 0.6}, lower)
    assert not ml.beats({"log_loss": 0.7}, {"log_loss": 0.6}, lower)


@pytest.mark.parametrize("algorithm", ["logistic_regression", "gradient_boosting"])
def test_top_factors(frame, algorithm):
    spec = churn_spec(candidates=[algorithm])
    model = ml.train(frame, spec).model
    out = ml.top_factors(model, frame.head(300), spec, k=3)
    assert list(out.columns) == ["customer_id", "factor_1", "factor_2", "factor_3"]
    named = out.factor_1.dropna()
    assert len(named) > 200 and set(named) <= set(FEATURES)
    # Churn is driven by recency: a very recent-less (old) customer is explained by it.
    old = frame.head(300).recency_days.to_numpy() > 350
    assert (out.factor_1[old] == "recency_days").mean() > 0.6
    for i in range(len(out)):
        factors = [f for f in out.iloc[i, 1:] if isinstance(f, str)]
        assert len(set(factors)) == len(factors)


def test_top_factors_multiclass(frame, tier_result):
    out = ml.top_factors(tier_result.model, frame.head(100), tier_result.spec, k=2)
    assert list(out.columns) == ["customer_id", "factor_1", "factor_2"]


def test_reuse_if_unchanged_only_when_every_row_has_the_fingerprint():
    previous = pd.DataFrame(
        {"customer_id": ["a", "b"], "score": [0.1, 0.2], "input_fingerprint": "f1"}
    )
    reused = fingerprints.reuse_if_unchanged(previous, "f1", ["customer_id", "score"])
    assert list(reused.columns) == ["customer_id", "score"]
    assert reused["score"].tolist() == [0.1, 0.2]
    assert fingerprints.reuse_if_unchanged(previous, "f2", ["customer_id"]) is None
    mixed = previous.assign(input_fingerprint=["f1", "f0"])
    assert fingerprints.reuse_if_unchanged(mixed, "f1", ["customer_id"]) is None
    assert fingerprints.reuse_if_unchanged(None, "f1", ["customer_id"]) is None
    assert (
        fingerprints.reuse_if_unchanged(previous.iloc[0:0], "f1", ["customer_id"])
        is None
    )
    older_layout = previous.drop(columns="input_fingerprint")
    assert fingerprints.reuse_if_unchanged(older_layout, "f1", ["customer_id"]) is None


@pytest.mark.parametrize("task", ["churn", "tier"])
def test_histogram_occlusion_equals_predict_proba_occlusion(frame, task):
    """The fast occlusion for histogram boosting (leaf values reused, only the
    trees that split on a feature re-evaluated) gives the contributions of one
    predict_proba per occluded feature, float for float."""
    spec = (churn_spec if task == "churn" else tier_spec)(
        candidates=["gradient_boosting"]
    )
    model = ml.train(frame, spec).model
    x = ml.prepare_features(frame.head(400), spec)
    proba = model.predict_proba(x)
    target = np.full(len(x), 1) if task == "churn" else np.argmax(proba, axis=1)
    fast = ml._histogram_occlusion(model.named_steps["model"], x, target, proba)
    slow = ml._occlusion(model, x, target, proba)
    assert fast.shape == (400, len(spec.features))
    assert np.array_equal(fast, slow)
