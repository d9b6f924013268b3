"""Item-to-item similarity as a sparse matrix product, per cutoff.

The similarity of products a and b at a cutoff is the cosine of same-invoice
co-purchase over the sale lines before it: co(a, b) / sqrt(inv(a) * inv(b)),
where co(a, b) counts pairs of (invoice, customer, product) rows on the same
invoice and inv(a) counts product a's rows; only products bought by at least
``min_customers`` customers take part. Each product keeps its ``top_n`` most
similar products (similarity descending, then product id).

In SQL this is a self-join of every invoice's products: at 10M lines about
100M pair rows per cutoff go into a hash aggregate (17 s per cutoff here), and
at 100M lines the aggregate spilled 15 GB. Here DuckDB numbers the invoices
and the eligible products, and co(a, b) for all pairs at once is XᵀX, with X
the sparse invoice × product matrix of row counts (scipy). The arithmetic is
the SQL's, in float64, so the result equals the SQL model's row for row.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

log = logging.getLogger(__name__)

COLUMNS = [
    "cutoff_id",
    "product_id",
    "similar_product_id",
    "input_fingerprint",
    "co_invoice_count",
    "similarity",
]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cutoff_id": pd.Series(dtype="object"),
            "product_id": pd.Series(dtype="object"),
            "similar_product_id": pd.Series(dtype="object"),
            "input_fingerprint": pd.Series(dtype="object"),
            "co_invoice_count": pd.Series(dtype="int32"),
            "similarity": pd.Series(dtype="float64"),
        }
    )


def _sql_date(value: Any) -> str:
    return "date '" + pd.Timestamp(value).strftime("%Y-%m-%d") + "'"


def nearest_from_counts(
    rows: np.ndarray,
    cols: np.ndarray,
    counts: np.ndarray,
    invoice_counts: np.ndarray,
    *,
    top_n: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each product's ``top_n`` nearest from its co-purchase counts.

    ``rows``, ``cols``, ``counts``: one entry per (invoice, product) cell of X,
    with the number of (invoice, customer, product) rows in it; products are
    numbered in product-id order, so a lower number breaks a similarity tie as
    the product id does. ``invoice_counts``: inv(p) per product number.
    Returns (product, similar product, co-count, similarity) arrays, ordered by
    product then rank.
    """
    n_products = len(invoice_counts)
    empty = (
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=np.int64),
        np.zeros(0, dtype=np.float64),
    )
    if len(rows) == 0 or n_products == 0:
        return empty
    n_invoices = int(rows.max()) + 1
    x = sparse.csr_matrix(
        (counts.astype(np.int64), (rows, cols)), shape=(n_invoices, n_products)
    )
    co = (x.T.tocsr() @ x).tocsr()
    inv = invoice_counts.astype(np.int64)
    picks_a, picks_b, picks_co, picks_sim = [], [], [], []
    # Per product: the entries at or above its top_n-th similarity (so a tie at
    # the boundary is decided by product number, as in SQL), then sorted.
    # A loop over products, each a small vector: a global sort of all pairs
    # took longer than the matrix product.
    for product in range(n_products):
        lo, hi = co.indptr[product], co.indptr[product + 1]
        b = co.indices[lo:hi].astype(np.int64)
        together = co.data[lo:hi]
        keep = (b != product) & (together > 0)
        b, together = b[keep], together[keep]
        if len(b) == 0:
            continue
        similarity = together / np.sqrt((inv[product] * inv[b]).astype(np.float64))
        if len(b) > top_n:
            kth = np.partition(similarity, len(b) - top_n)[len(b) - top_n]
            near = similarity >= kth
            b, together, similarity = b[near], together[near], similarity[near]
        order = np.lexsort((b, -similarity))[:top_n]
        picks_a.append(np.full(len(order), product, dtype=np.int64))
        picks_b.append(b[order])
        picks_co.append(together[order])
        picks_sim.append(similarity[order])
    if not picks_a:
        return empty
    return (
        np.concatenate(picks_a),
        np.concatenate(picks_b),
        np.concatenate(picks_co).astype(np.int64),
        np.concatenate(picks_sim),
    )


def similarities_at_cutoff(
    con,
    *,
    lines: str,
    cutoff_id: str,
    cutoff_date: Any,
    input_fingerprint: str,
    min_customers: int,
    top_n: int = 20,
) -> pd.DataFrame:
    """The ``top_n`` nearest products of every eligible product at one cutoff.

    ``lines``: the relation of cleaned lines (line_type, invoice_id,
    customer_id, product_id, invoiced_at).
    """
    before = _sql_date(cutoff_date)
    con.execute(
        f"""
        create or replace temp table __clv_item_rows as
        select distinct invoice_id, customer_id, product_id
        from {lines}
        where
            line_type = 'sale'
            and product_id is not null
            and cast(invoiced_at as date) < {before}
        """
    )
    # customers per product through a (product, customer) group-by, which
    # spills; count(distinct) per product would hold every product's customers
    con.execute(
        f"""
        create or replace temp table __clv_item_products as
        with per_customer as (
            select product_id, customer_id, count(*) as invoice_count
            from __clv_item_rows
            group by 1, 2
        )
        select
            product_id,
            sum(invoice_count) as invoice_count,
            cast(row_number() over (order by product_id) - 1 as integer)
                as product_number
        from per_customer
        group by 1
        having count(*) >= {int(min_customers)}
        """
    )
    products = con.execute(
        "select product_id, invoice_count from __clv_item_products "
        "order by product_number"
    ).df()
    cells = con.execute(
        """
        with eligible as (
            select rows.invoice_id, products.product_number
            from __clv_item_rows as rows
            inner join __clv_item_products as products
                on rows.product_id = products.product_id
        ),
        invoices as (
            select
                invoice_id,
                cast(row_number() over () - 1 as integer) as invoice_number
            from (select distinct invoice_id from eligible)
        )
        select
            invoices.invoice_number,
            eligible.product_number,
            cast(count(*) as integer) as row_count
        from eligible
        inner join invoices
            on eligible.invoice_id = invoices.invoice_id
        group by 1, 2
        """
    ).fetchnumpy()
    con.execute("drop table if exists __clv_item_products")
    con.execute("drop table if exists __clv_item_rows")
    a, b, together, similarity = nearest_from_counts(
        np.asarray(cells["invoice_number"]),
        np.asarray(cells["product_number"]),
        np.asarray(cells["row_count"]),
        products["invoice_count"].to_numpy(),
        top_n=top_n,
    )
    if len(a) == 0:
        return _empty()
    names = products["product_id"].to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "cutoff_id": cutoff_id,
            "product_id": names[a],
            "similar_product_id": names[b],
            "input_fingerprint": input_fingerprint,
            "co_invoice_count": together.astype(np.int32),
            "similarity": similarity,
        }
    )[COLUMNS]


def build_similarities(
    con,
    *,
    lines: str,
    stale_cutoffs: pd.DataFrame,
    min_customers: int,
    top_n: int = 20,
) -> pd.DataFrame:
    """The body of ml_product_similarities: every stale cutoff's nearest
    products (``stale_cutoffs``: cutoff_id, cutoff_date, input_fingerprint)."""
    frames = [_empty()]
    for cutoff in stale_cutoffs.sort_values("cutoff_id").itertuples(index=False):
        start = time.perf_counter()
        frame = similarities_at_cutoff(
            con,
            lines=lines,
            cutoff_id=cutoff.cutoff_id,
            cutoff_date=cutoff.cutoff_date,
            input_fingerprint=cutoff.input_fingerprint,
            min_customers=min_customers,
            top_n=top_n,
        )
        log.info(
            "item similarity at cutoff %s (%s): %d rows in %.1f s",
            cutoff.cutoff_id,
            pd.Timestamp(cutoff.cutoff_date).date(),
            len(frame),
            time.perf_counter() - start,
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)[COLUMNS]


def stale_cutoffs(
    cutoffs: pd.DataFrame,
    cutoff_inputs: pd.DataFrame,
    built: pd.DataFrame | None,
) -> pd.DataFrame:
    """The cutoffs to recompute, with their input_fingerprint: those of
    ``cutoffs`` (int_cutoffs) whose fingerprint in ``cutoff_inputs``
    (ml_product_cutoff_inputs) is not the one stored beside the rows already
    ``built`` (None on a first or full build: all of them). The Python twin of
    macros/stale_cutoffs.sql."""
    current = cutoffs[["cutoff_id", "cutoff_date"]].merge(
        cutoff_inputs[["cutoff_id", "input_fingerprint"]], on="cutoff_id"
    )
    if built is None or built.empty or "input_fingerprint" not in built.columns:
        # first or full build, or a table from before fingerprints: all
        return current.reset_index(drop=True)
    done = built[["cutoff_id", "input_fingerprint"]].drop_duplicates()
    marked = current.merge(done, how="left", indicator=True)
    return (
        marked[marked["_merge"] == "left_only"]
        .drop(columns="_merge")
        .reset_index(drop=True)
    )
