"""Item-to-item similarity as a sparse matrix product equals the SQL self-join
it replaced, row for row (ties, thresholds and odd invoices included)."""

import duckdb
import numpy as np
import pandas as pd
import pytest

from clv_warehouse import item_similarity

# The SQL formulation the project used before (models/ml/ml_product_similarities.sql
# up to session 5), for one cutoff: the reference the matrix product must equal.
REFERENCE_SQL = """
with lines as (
    select * from lines_table
    where line_type = 'sale' and product_id is not null
        and cast(invoiced_at as date) < date '{cutoff}'
),
invoice_products as (
    select distinct invoice_id, customer_id, product_id from lines
),
product_buyers as (
    select product_id, count(distinct customer_id) as customer_count,
        count(*) as invoice_count
    from invoice_products group by 1
    having count(distinct customer_id) >= {min_customers}
),
eligible as (
    select invoice_products.* from invoice_products
    inner join product_buyers using (product_id)
),
unordered_pairs as (
    select eligible.product_id, other.product_id as similar_product_id,
        count(*) as co_invoice_count
    from eligible inner join eligible as other
        on eligible.invoice_id = other.invoice_id
        and eligible.product_id < other.product_id
    group by 1, 2
),
pairs as (
    select product_id, similar_product_id, co_invoice_count from unordered_pairs
    union all
    select similar_product_id, product_id, co_invoice_count from unordered_pairs
),
scored as (
    select pairs.product_id, pairs.similar_product_id,
        cast(pairs.co_invoice_count as integer) as co_invoice_count,
        pairs.co_invoice_count
        / sqrt(a.invoice_count * b.invoice_count) as similarity
    from pairs
    inner join product_buyers as a on pairs.product_id = a.product_id
    inner join product_buyers as b on pairs.similar_product_id = b.product_id
)
select product_id, similar_product_id, co_invoice_count, similarity
from scored
qualify row_number() over (
    partition by product_id order by similarity desc, similar_product_id
) <= {top_n}
"""


def _lines(seed: int, *, invoices: int = 400, products: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for invoice in range(invoices):
        customer = f"C{rng.integers(0, 60):03d}"
        day = pd.Timestamp("2011-01-01") + pd.Timedelta(days=int(rng.integers(0, 300)))
        size = int(rng.integers(1, 8))
        # a few popular products, so that similarity ties and repeats occur
        weights = 1.0 / np.arange(1, products + 1)
        picks = rng.choice(products, size=size, p=weights / weights.sum())
        for product in picks:
            rows.append(
                {
                    "invoice_id": f"I{invoice:05d}",
                    "customer_id": customer,
                    "product_id": f"P{product:03d}",
                    "invoiced_at": day,
                    "line_type": "sale",
                }
            )
    # lines the similarity must ignore: returns, no product, after the cutoff
    rows.append({**rows[0], "line_type": "return"})
    rows.append({**rows[1], "product_id": None})
    rows.append({**rows[2], "invoiced_at": pd.Timestamp("2012-06-01")})
    return pd.DataFrame(rows)


def _compare(lines: pd.DataFrame, *, cutoff: str, min_customers: int, top_n: int):
    con = duckdb.connect()
    con.register("lines_source", lines)
    con.execute("create table lines_table as select * from lines_source")
    expected = con.execute(
        REFERENCE_SQL.format(cutoff=cutoff, min_customers=min_customers, top_n=top_n)
    ).df()
    got = item_similarity.similarities_at_cutoff(
        con,
        lines="lines_table",
        cutoff_id="scoring",
        cutoff_date=cutoff,
        input_fingerprint="fp",
        min_customers=min_customers,
        top_n=top_n,
    )
    key = ["product_id", "similar_product_id"]
    expected = expected.sort_values(key).reset_index(drop=True)
    got_cmp = got[key + ["co_invoice_count", "similarity"]].sort_values(key)
    got_cmp = got_cmp.reset_index(drop=True)
    assert len(got) == len(expected)
    assert (got_cmp[key] == expected[key]).all().all()
    assert (got_cmp["co_invoice_count"] == expected["co_invoice_count"]).all()
    # the same float64 arithmetic: bit-for-bit, not approximately
    assert (got_cmp["similarity"].to_numpy() == expected["similarity"].to_numpy()).all()
    if len(got):
        assert set(got["cutoff_id"]) == {"scoring"}
        assert set(got["input_fingerprint"]) == {"fp"}
    # no temporary tables left behind in the caller's connection
    assert con.execute(
        "select count(*) from duckdb_tables() where table_name like '__clv_item%'"
    ).fetchall() == [(0,)]
    return got


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_equals_the_sql_self_join(seed):
    got = _compare(_lines(seed), cutoff="2011-09-01", min_customers=3, top_n=5)
    assert len(got) > 0
    # ranked within each product: similarity descending, then product id
    for _, group in got.groupby("product_id", sort=False):
        keys = list(zip(-group["similarity"], group["similar_product_id"], strict=True))
        assert keys == sorted(keys)


def test_ties_at_the_top_n_boundary_go_to_the_lower_product_id():
    # P000 is bought with each of P001..P004 on one invoice each: four equal
    # similarities, of which top_n=2 keeps P001 and P002
    rows = []
    for i, other in enumerate(["P004", "P002", "P003", "P001"]):
        for customer in ("A", "B", "C"):
            invoice = f"I{i}{customer}"
            for product in ("P000", other):
                rows.append(
                    {
                        "invoice_id": invoice,
                        "customer_id": customer,
                        "product_id": product,
                        "invoiced_at": pd.Timestamp("2011-01-05"),
                        "line_type": "sale",
                    }
                )
    got = _compare(pd.DataFrame(rows), cutoff="2011-02-01", min_customers=3, top_n=2)
    nearest = got[got["product_id"] == "P000"]["similar_product_id"].tolist()
    assert nearest == ["P001", "P002"]


def test_an_invoice_with_two_customers_counts_as_the_join_did():
    # a data anomaly the SQL counted row by row: every (customer, product) row
    # on the invoice pairs with every other product's rows
    rows = [
        {"invoice_id": "I1", "customer_id": c, "product_id": p}
        for c in ("A", "B")
        for p in ("P1", "P2")
    ] + [
        {"invoice_id": f"J{c}", "customer_id": c, "product_id": p}
        for c in ("C", "D", "E")
        for p in ("P1", "P2", "P3")
    ]
    lines = pd.DataFrame(rows).assign(
        invoiced_at=pd.Timestamp("2011-03-01"), line_type="sale"
    )
    got = _compare(lines, cutoff="2011-04-01", min_customers=3, top_n=5)
    pair = got[(got["product_id"] == "P1") & (got["similar_product_id"] == "P2")]
    assert pair["co_invoice_count"].tolist() == [4 + 3]


def test_too_few_buyers_or_no_lines_give_no_rows():
    lines = _lines(4)
    got = _compare(lines, cutoff="2011-09-01", min_customers=10_000, top_n=5)
    assert got.empty
    got = _compare(lines, cutoff="2000-01-01", min_customers=1, top_n=5)
    assert got.empty and list(got.columns) == item_similarity.COLUMNS


def test_stale_cutoffs_are_those_whose_fingerprint_changed():
    cutoffs = pd.DataFrame(
        {
            "cutoff_id": ["scoring", "backtest"],
            "cutoff_date": pd.to_datetime(["2011-12-10", "2011-03-03"]),
        }
    )
    inputs = pd.DataFrame(
        {"cutoff_id": ["scoring", "backtest"], "input_fingerprint": ["s2", "b1"]}
    )
    built = pd.DataFrame(
        {
            "cutoff_id": ["scoring", "backtest", "backtest"],
            "input_fingerprint": ["s1", "b1", "b1"],
        }
    )
    stale = item_similarity.stale_cutoffs(cutoffs, inputs, built)
    assert stale["cutoff_id"].tolist() == ["scoring"]
    assert stale["input_fingerprint"].tolist() == ["s2"]
    everything = item_similarity.stale_cutoffs(cutoffs, inputs, None)
    assert sorted(everything["cutoff_id"]) == ["backtest", "scoring"]
