"""bench/cdnow_inner_splits.py: the model-selection script reads no holdout
purchase, and its Pareto/NBD reproduces the published CDNOW-sample fit."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from clv_warehouse import probabilistic as pr

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "cdnow"


def _load():
    path = ROOT / "bench" / "cdnow_inner_splits.py"
    spec = importlib.util.spec_from_file_location("bench_cdnow_inner_splits", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


inner = _load()


def test_the_selection_data_end_before_the_holdout():
    act = inner.activity(DATA / "CDNOW_master.txt")
    assert act["activity_date"].max() < inner.CALIBRATION_END
    assert act["activity_date"].max().strftime("%Y-%m-%d") == "1997-09-30"
    # same-day purchases merged: one row per customer and day
    assert not act.duplicated(["customer_id", "activity_date"]).any()
    assert all(c < str(inner.CALIBRATION_END.date()) for c in inner.INNER_CUTOFFS)


def test_pareto_nbd_reproduces_the_published_sample_fit():
    tx = pr.load_cdnow(DATA / "CDNOW_sample.txt", sample=True)
    s = pr.summarize(tx, calibration_end="1997-09-30")
    params, loglik = inner.fit_pareto_nbd(
        s["frequency"].to_numpy(float), s["recency"].to_numpy(), s["T"].to_numpy()
    )
    # Fader, Hardie & Lee (2005), "A note on implementing the Pareto/NBD model":
    # r, alpha, s, beta = 0.553, 10.58, 0.606, 11.67 (3-4 significant digits)
    np.testing.assert_allclose(params, [0.553, 10.58, 0.606, 11.67], rtol=1e-3)
    assert loglik == pytest.approx(-9595.0, abs=0.5)
