"""k-means on RFM, the AWS sample's customer clustering, fitted in Python and
assigned in SQL: only the centroids (in standardized log space) are stored.

Features: log1p(recency_days), log1p(frequency), log1p(max(monetary, 0)),
standardized with the fitted mean and standard deviation. Clusters are
numbered by their centroid's monetary value, 1 = most valuable, so ids are
stable across runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

FEATURES = ("recency_days", "frequency", "monetary_value")
CENTROID_COLUMNS = [
    "cluster_id",
    "feature_name",
    "feature_mean",
    "feature_std",
    "centroid",
]


def transform(rfm: pd.DataFrame) -> np.ndarray:
    """The log features k-means runs on (before standardization)."""
    values = rfm[list(FEATURES)].astype(float).to_numpy()
    values[:, 2] = np.maximum(values[:, 2], 0.0)
    return np.log1p(values)


def fit_kmeans(rfm: pd.DataFrame, *, k: int = 4, seed: int = 42) -> pd.DataFrame:
    """Fit k-means; one row per (cluster, feature) with the standardization."""
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    if len(rfm) < k:
        raise ValueError(f"k-means needs at least k={k} customers, got {len(rfm)}")
    logged = transform(rfm)
    # k-means' seeding and the sums follow row order: sort the rows, so that the
    # same customers give the same centroids however the table stores its rows
    logged = logged[np.lexsort(logged.T[::-1])]
    mean = logged.mean(axis=0)
    std = logged.std(axis=0)
    std[std == 0] = 1.0
    scaled = (logged - mean) / std
    model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(scaled)
    order = np.argsort(-model.cluster_centers_[:, 2], kind="stable")
    rows = []
    for cluster_id, index in enumerate(order, start=1):
        for position, feature in enumerate(FEATURES):
            rows.append(
                {
                    "cluster_id": cluster_id,
                    "feature_name": feature,
                    "feature_mean": float(mean[position]),
                    "feature_std": float(std[position]),
                    "centroid": float(model.cluster_centers_[index, position]),
                }
            )
    return pd.DataFrame(rows, columns=CENTROID_COLUMNS)


def assign(rfm: pd.DataFrame, centroids: pd.DataFrame) -> np.ndarray:
    """Nearest-centroid cluster ids, exactly as the SQL assignment computes them."""
    wide = centroids.pivot(
        index="cluster_id", columns="feature_name", values="centroid"
    )
    stats = centroids.groupby("feature_name")[["feature_mean", "feature_std"]].first()
    scaled = (transform(rfm) - stats.loc[list(FEATURES), "feature_mean"].to_numpy()) / (
        stats.loc[list(FEATURES), "feature_std"].to_numpy()
    )
    centers = wide[list(FEATURES)].to_numpy()
    distances = ((scaled[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)
    return wide.index.to_numpy()[distances.argmin(axis=1)]
