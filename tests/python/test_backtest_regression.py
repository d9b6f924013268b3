"""backtest_regression: horizon-matched ML from purchases before the cutoff only,
and a blend with BG/NBD whose weights come from an inner split."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from clv_warehouse import backtest_regression as br

START = pd.Timestamp("2020-01-01")
CUTOFF = pd.Timestamp("2020-10-01")
SMALL = br.Settings(max_iter=30, min_samples_leaf=20, max_training_rows=20_000)


def activity(n_customers=800, days=360, seed=7):
    """Customers join in the first 60 days, buy at their own Poisson rate and
    drop out at their own hazard; spend per purchase is customer-specific."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_customers):
        join = int(rng.integers(0, 60))
        rate = rng.gamma(0.8, 1 / 20)  # purchases per day
        life = join + int(rng.exponential(250))
        spend = rng.gamma(4, 10)
        day = join
        while day < min(life, days):
            rows.append((f"c{i:04d}", START + pd.Timedelta(days=day), spend))
            day += 1 + int(rng.exponential(1 / max(rate, 1e-3)))
    frame = pd.DataFrame(rows, columns=["customer_id", "activity_date", "gross_amount"])
    frame["has_purchase"] = True
    return frame


def test_customer_features_count_weeks_to_the_calibration_end():
    days = br.purchase_days(
        pd.DataFrame(
            {
                "customer_id": ["a", "a", "a", "b", "a"],
                "activity_date": pd.to_datetime(
                    [
                        "2020-01-01",
                        "2020-01-15",
                        "2020-03-04",
                        "2020-02-26",
                        "2020-03-11",
                    ]
                ),
                "gross_amount": [10.0, 20.0, 30.0, 5.0, 99.0],
                "has_purchase": [True, True, True, True, True],
            }
        )
    )
    features = br.customer_features(days, "2020-03-11")  # the 03-11 day is after
    a = features.loc["a"]
    assert a["frequency"] == 2
    assert a["recency_weeks"] == pytest.approx(9.0)
    assert a["tenure_weeks"] == pytest.approx(69 / 7)  # to 03-10
    assert a["weeks_since_last"] == pytest.approx(6 / 7)
    assert a["total_spend"] == 60.0
    assert a["repeat_mean_spend"] == 25.0
    assert a["first_spend"] == 10.0
    assert a["purchases_4w"] == 1 and a["spend_13w"] == 60.0
    assert features.loc["b", "frequency"] == 0
    assert features.loc["b", "repeat_mean_spend"] == 0.0


def test_training_rows_are_labelled_up_to_the_cutoff_only():
    days = br.purchase_days(activity(200))
    rows = br.training_rows(days, CUTOFF, SMALL)
    horizons = sorted(rows["horizon_weeks"].unique())
    assert horizons[0] == pytest.approx(28 / 7)
    assert len(horizons) == SMALL.max_inner_cutoffs
    inner = CUTOFF - pd.Timedelta(days=28)
    first = rows[rows["horizon_weeks"] == horizons[0]]
    truth = br.window_labels(days, inner, CUTOFF).reindex(first.index).fillna(0)
    np.testing.assert_array_equal(first["purchases"], truth["purchases"])
    assert first["purchases"].sum() > 0


def test_purchases_after_the_cutoff_change_nothing():
    data = activity(300)
    before = data[pd.to_datetime(data["activity_date"]) < CUTOFF]
    kwargs = {"backtest_cutoff": CUTOFF, "holdout_days": 91, "settings": SMALL}
    full = br.score_at_backtest(data, **kwargs)
    truncated = br.score_at_backtest(before, **kwargs)
    pd.testing.assert_frame_equal(full, truncated)


def test_load_activity_reads_the_purchase_days_before_the_cutoff_only():
    import duckdb

    data = activity(300)
    no_purchase = data.head(50).assign(has_purchase=False, gross_amount=0.0)
    data = pd.concat([data, no_purchase], ignore_index=True).assign(extra="unused")
    con = duckdb.connect()
    con.register("data_view", data)
    loaded = br.load_activity(con.table("data_view"), CUTOFF.date())
    assert list(loaded.columns) == list(br.ACTIVITY_COLUMNS)
    assert loaded["has_purchase"].all()
    assert (pd.to_datetime(loaded["activity_date"]) < CUTOFF).all()
    kwargs = {"backtest_cutoff": CUTOFF, "holdout_days": 91, "settings": SMALL}
    pd.testing.assert_frame_equal(
        br.score_at_backtest(loaded, **kwargs), br.score_at_backtest(data, **kwargs)
    )


def test_ml_predicts_the_next_window_better_than_chance():
    data = activity()
    days = br.purchase_days(data)
    predictions = br.fit_predict(days, CUTOFF, 91, settings=SMALL)
    actual = br.window_labels(days, CUTOFF, CUTOFF + pd.Timedelta(days=91))
    actual = actual.reindex(predictions.index).fillna(0)
    assert (predictions[["ml_purchases", "ml_spend"]] >= 0).all().all()
    total = predictions["ml_purchases"].sum() / actual["purchases"].sum()
    assert 0.75 < total < 1.25
    churned = actual["purchases"] == 0
    assert roc_auc_score(churned, predictions["ml_churn_probability"]) > 0.75
    assert roc_auc_score(churned, predictions["bgnbd_prob_no_purchase"]) > 0.75


def test_blend_weights_zero_and_one_give_each_method():
    days = br.purchase_days(activity(300))
    predictions = br.fit_predict(days, CUTOFF, 91, settings=SMALL)
    bgnbd = br.blend(predictions, br.Weights(0.0, 0.0, 0.0))
    ml = br.blend(predictions, br.Weights(1.0, 1.0, 1.0))
    np.testing.assert_allclose(
        bgnbd["ensemble_purchases"], predictions["bgnbd_purchases"]
    )
    np.testing.assert_allclose(ml["ensemble_spend"], predictions["ml_spend"])
    order = np.argsort(predictions["ml_churn_probability"].to_numpy(), kind="stable")
    assert np.all(np.diff(ml["ensemble_churn_score"].to_numpy()[order]) >= 0)


def test_weights_are_chosen_on_the_inner_split_before_the_cutoff():
    days = br.purchase_days(activity(400))
    weights, validation_cutoff, table = br.choose_weights(days, CUTOFF, settings=SMALL)
    assert validation_cutoff == CUTOFF - pd.Timedelta(days=SMALL.validation_days)
    assert list(table["weight"]) == list(SMALL.weights)
    assert weights.count == table.loc[table["count_rmse"].idxmin(), "weight"]
    assert weights.spend == table.loc[table["spend_rmse"].idxmin(), "weight"]
    assert weights.churn == table.loc[table["churn_auc"].idxmax(), "weight"]


def test_previous_output_is_reused_only_for_the_same_input():
    data = activity(300)
    kwargs = {"backtest_cutoff": CUTOFF, "holdout_days": 91, "settings": SMALL}
    first = br.score_at_backtest(data, **kwargs)
    assert list(first.columns) == br.SCORE_COLUMNS
    assert first["input_fingerprint"].nunique() == 1
    marked = first.assign(ml_spend=-1.0)
    assert (
        br.score_at_backtest(data, previous=marked, **kwargs)["ml_spend"] == -1
    ).all()
    changed = data.assign(gross_amount=data["gross_amount"] * 2)
    assert (
        br.score_at_backtest(changed, previous=marked, **kwargs)["ml_spend"] >= 0
    ).all()


def test_too_short_a_history_gives_no_rows():
    data = activity(100)
    early = br.score_at_backtest(
        data, backtest_cutoff=START + pd.Timedelta(days=40), holdout_days=91
    )
    assert early.empty and list(early.columns) == br.SCORE_COLUMNS
    assert early["ml_purchases"].dtype == float
    assert early["ensemble_spend"].dtype == float


def test_activity_without_the_needed_columns_is_refused():
    with pytest.raises(ValueError, match="gross_amount"):
        br.purchase_days(pd.DataFrame({"customer_id": [], "activity_date": []}))
