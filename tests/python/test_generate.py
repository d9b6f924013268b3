"""Tests of the Online-Retail-II-shaped data generator (clv_warehouse.generate)."""

from __future__ import annotations

import csv
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from clv_warehouse.generate import (
    COLUMNS,
    NON_PRODUCT,
    SCHEMA,
    GeneratorConfig,
    iter_chunks,
    main,
    write_csv,
    write_parquet,
    write_xlsx,
)

SMALL = GeneratorConfig(n_customers=300)


def _read_csv(path) -> pd.DataFrame:
    return pd.read_csv(
        path,
        dtype={"Invoice": str, "StockCode": str},
        parse_dates=["InvoiceDate"],
        keep_default_na=False,
        na_values={"Customer ID": [""]},
    )


@pytest.fixture(scope="module")
def sample_csv(tmp_path_factory):
    """The default sample (3000 customers), written as CSV once for the module."""
    path = tmp_path_factory.mktemp("sample") / "online_retail_sample.csv"
    result = write_csv(path, GeneratorConfig())
    assert result.customers == 3000
    return path


@pytest.fixture(scope="module")
def sample(sample_csv) -> pd.DataFrame:
    return _read_csv(sample_csv)


# -- determinism ----------------------------------------------------------------------
def test_same_seed_gives_identical_bytes(tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    write_csv(a, SMALL)
    write_csv(b, SMALL)
    write_csv(c, GeneratorConfig(n_customers=300, seed=43))
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_parquet_is_deterministic(tmp_path):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    write_parquet(a, SMALL, customers_per_chunk=100)
    write_parquet(b, SMALL, customers_per_chunk=100)
    assert a.read_bytes() == b.read_bytes()


# -- layout and types -----------------------------------------------------------------
def test_csv_columns_and_formats(sample_csv, sample):
    with sample_csv.open(newline="") as fh:
        reader = csv.reader(fh)
        assert tuple(next(reader)) == COLUMNS
        rows = [next(reader) for _ in range(5000)]
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:00", row[4])
        assert re.fullmatch(r"-?\d+\.\d\d", row[5])
        assert row[6] == "" or re.fullmatch(r"\d{5,}\.0", row[6])
    assert list(sample.columns) == list(COLUMNS)
    assert sample["Quantity"].dtype == np.int64
    assert sample["Price"].dtype == np.float64
    assert sample["Customer ID"].dtype == np.float64
    assert str(sample["InvoiceDate"].dtype).startswith("datetime64")
    # descriptions with commas and double quotes survive CSV quoting
    assert sample["Description"].str.contains(",").any()
    assert sample["Description"].str.contains('"').any()


def test_parquet_schema(tmp_path):
    path = tmp_path / "x.parquet"
    write_parquet(path, SMALL)
    table = pq.read_table(path)
    assert table.schema.remove_metadata() == SCHEMA
    assert tuple(table.column_names) == COLUMNS
    assert table.column("Customer ID").null_count > 0


def test_csv_and_parquet_hold_the_same_data(tmp_path):
    write_csv(tmp_path / "x.csv", SMALL)
    write_parquet(tmp_path / "x.parquet", SMALL)
    from_csv = _read_csv(tmp_path / "x.csv")
    from_parquet = pq.read_table(tmp_path / "x.parquet").to_pandas()
    from_csv["InvoiceDate"] = from_csv["InvoiceDate"].astype("datetime64[us]")
    pd.testing.assert_frame_equal(from_csv, from_parquet, check_dtype=False)


# -- behaviour and dirt in the default sample -----------------------------------------
def test_sample_shape(sample):
    assert 250_000 < len(sample) < 450_000
    customers = sample["Customer ID"].dropna()
    assert customers.nunique() == 3000
    assert customers.min() == 12346.0
    regular = sample[~sample["Invoice"].str[0].isin(["C", "A"])]
    per_customer = regular.dropna(subset=["Customer ID"]).groupby("Customer ID")[
        "Invoice"
    ]
    invoices = per_customer.nunique()
    assert 4 <= invoices.mean() <= 6.5
    assert 0.2 < (invoices == 1).mean() < 0.45
    assert invoices.max() > 50
    uk = (sample["Country"] == "United Kingdom").mean()
    assert 0.8 < uk < 0.95
    assert sample["Country"].nunique() >= 15
    # sorted by InvoiceDate, then Invoice (numbers rise with time)
    assert sample["InvoiceDate"].is_monotonic_increasing
    numbers = sample["Invoice"].str.lstrip("CA").astype(int)
    assert numbers.is_monotonic_increasing
    assert sample["Invoice"].iloc[0] == "489434"


def test_seasonality(sample):
    dates = sample["InvoiceDate"]
    assert not (dates.dt.day_of_week == 5).any()  # no Saturdays
    assert dates.dt.hour.between(7, 19).all()
    month = dates.dt.month.value_counts()
    assert month[11] > 1.5 * month[2]
    assert not ((dates.dt.month == 12) & (dates.dt.day >= 24)).any()


def test_guest_lines(sample):
    share = sample["Customer ID"].isna().mean()
    assert 0.18 < share < 0.27


def test_cancellations_match_earlier_invoices_of_same_customer(sample):
    is_c = sample["Invoice"].str.startswith("C")
    cancelled = sample[is_c]
    assert 0.01 < cancelled["Invoice"].nunique() / sample["Invoice"].nunique() < 0.04
    assert (cancelled["Quantity"] < 0).all()
    assert cancelled["Customer ID"].notna().all()
    earlier = sample[~is_c & sample["Customer ID"].notna()]
    merged = cancelled.reset_index().merge(
        earlier[["Customer ID", "StockCode", "Price", "InvoiceDate", "Quantity"]],
        on=["Customer ID", "StockCode", "Price"],
        suffixes=("", "_orig"),
    )
    merged = merged[
        (merged["InvoiceDate_orig"] < merged["InvoiceDate"])
        & (merged["Quantity_orig"] == -merged["Quantity"])
    ]
    assert set(merged["index"]) == set(cancelled.index)


def test_non_product_lines(sample):
    for code, description in NON_PRODUCT:
        rows = sample[sample["StockCode"] == code]
        assert len(rows) > 0, code
        assert (rows["Description"] == description).all(), code
    post = sample[sample["StockCode"] == "POST"]
    assert (post["Country"] != "United Kingdom").mean() > 0.5


def test_duplicates_zero_prices_and_bad_debt(sample):
    dup = sample.duplicated(keep="first")
    assert 0.005 < dup.mean() < 0.02
    # duplicates are adjacent, as in the real export
    assert sample[dup].equals(sample.shift(1)[dup].astype(sample.dtypes.to_dict()))
    assert 0.001 < (sample["Price"] == 0).mean() < 0.006
    bad = sample[sample["StockCode"] == "B"]
    assert len(bad) >= 1
    assert (bad["Price"] < 0).all()
    assert bad["Customer ID"].isna().all()
    assert (bad["Description"] == "Adjust bad debt").all()
    assert bad["Invoice"].str.startswith("A").all()


def test_products_and_quantities(sample):
    products = sample[sample["StockCode"].str.match(r"^\d{5}[A-L]?$")]
    assert 1500 < products["StockCode"].nunique() <= 3000
    assert products["Description"].str.upper().equals(products["Description"])
    top = products["StockCode"].value_counts(normalize=True)
    assert top.iloc[0] < 0.02
    regular = products[products["Quantity"] > 0]
    assert regular["Quantity"].between(1, 12).mean() > 0.8
    assert regular["Quantity"].isin([24, 48, 96, 144]).any()
    assert regular["Price"].between(0.19, 15).mean() > 0.95
    lines = sample[~sample["Invoice"].str.startswith("C")].groupby("Invoice").size()
    assert 13 <= lines.mean() <= 22


# -- chunks, sizes --------------------------------------------------------------------
def test_invoices_unique_across_chunks():
    config = GeneratorConfig(n_customers=1000)
    chunks = list(iter_chunks(config, customers_per_chunk=250))
    assert len(chunks) == 4
    df = pa.concat_tables(chunks).to_pandas()
    assert df["Customer ID"].nunique() == 1000
    per_invoice = df.groupby("Invoice").agg(
        customers=("Customer ID", "nunique"), dates=("InvoiceDate", "nunique")
    )
    assert (per_invoice["customers"] <= 1).all()
    assert (per_invoice["dates"] == 1).all()
    invoice_sets = [set(t.column("Invoice").to_pylist()) for t in chunks]
    for i, first in enumerate(invoice_sets):
        for second in invoice_sets[i + 1 :]:
            assert not first & second


@pytest.mark.parametrize(("target", "per_chunk"), [(40_000, 8000), (120_000, 300)])
def test_target_lines(tmp_path, target, per_chunk):
    path = tmp_path / "t.parquet"
    result = write_parquet(path, target_lines=target, customers_per_chunk=per_chunk)
    assert pq.ParquetFile(path).metadata.num_rows == result.lines
    assert abs(result.lines - target) / target < 0.05


# -- behaviour change hook ----------------------------------------------------------
def test_price_rise_and_churn_wave():
    base = pa.concat_tables(list(iter_chunks(SMALL))).to_pandas()
    risen = pa.concat_tables(
        list(
            iter_chunks(
                GeneratorConfig(
                    n_customers=300, change="price_rise", change_at="2011-01-01"
                )
            )
        )
    ).to_pandas()
    late = pd.Timestamp("2011-01-01")
    before = base[(base["InvoiceDate"] >= late) & (base["Price"] > 0)]
    after = risen[(risen["InvoiceDate"] >= late) & (risen["Price"] > 0)]
    assert after["Price"].median() > before["Price"].median()
    pd.testing.assert_frame_equal(  # nothing changes before change_at
        base[base["InvoiceDate"] < late], risen[risen["InvoiceDate"] < late]
    )

    churned = pa.concat_tables(
        list(
            iter_chunks(
                GeneratorConfig(
                    n_customers=300, change="churn_wave", change_at="2010-06-01"
                )
            )
        )
    ).to_pandas()
    late = pd.Timestamp("2010-06-01")
    registered = base["Customer ID"].notna() & (base["InvoiceDate"] >= late)
    registered_c = churned["Customer ID"].notna() & (churned["InvoiceDate"] >= late)
    assert registered_c.sum() < 0.85 * registered.sum()


def _customer_invoices_from(config: GeneratorConfig, day: str) -> pd.DataFrame:
    """Invoices of registered customers on or after ``day``."""
    lines = pa.concat_tables(list(iter_chunks(config))).to_pandas()
    late = lines[lines["Customer ID"].notna() & (lines["InvoiceDate"] >= day)]
    return late[~late["Invoice"].str.startswith("C")].drop_duplicates("Invoice")


def test_churn_wave_parts_each_act_and_neutral_factors_change_nothing():
    wave = {"n_customers": 600, "change": "churn_wave", "change_at": "2010-09-01"}
    neutral = GeneratorConfig(
        **wave, churn_multiplier=1.0, churn_rate_multiplier=1.0, churn_poached_share=0
    )
    base = pa.concat_tables(list(iter_chunks(GeneratorConfig(n_customers=600))))
    assert pa.concat_tables(list(iter_chunks(neutral))).equals(base)

    day = "2010-09-01"
    base_invoices = _customer_invoices_from(GeneratorConfig(n_customers=600), day)
    # who stays buys less often: half the purchase opportunities after the change
    thinned = _customer_invoices_from(
        GeneratorConfig(**wave, churn_multiplier=1.0, churn_poached_share=0), day
    )
    assert 0.4 < len(thinned) / len(base_invoices) < 0.75
    # the most frequent fifth stops at once: they made a good part of the purchases,
    # so the customers who still buy buy less often on average
    poached = _customer_invoices_from(
        GeneratorConfig(
            **wave,
            churn_multiplier=1.0,
            churn_rate_multiplier=1.0,
            churn_poach_days=0,
        ),
        day,
    )
    assert len(poached) < 0.7 * len(base_invoices)
    per_customer = poached.groupby("Customer ID").size().mean()
    assert per_customer < 0.8 * base_invoices.groupby("Customer ID").size().mean()


def test_config_validation():
    with pytest.raises(ValueError):
        GeneratorConfig(change="price_rise")
    with pytest.raises(ValueError):
        GeneratorConfig(change="bogus", change_at="2011-01-01")
    with pytest.raises(ValueError):
        GeneratorConfig(start="2011-01-01", end="2010-01-01")
    with pytest.raises(ValueError):
        GeneratorConfig(cancel_rate=1.5)
    with pytest.raises(ValueError, match="churn_rate_multiplier"):
        GeneratorConfig(churn_rate_multiplier=1.5)
    with pytest.raises(ValueError, match="churn_poached_share"):
        GeneratorConfig(churn_poached_share=1.0)
    with pytest.raises(ValueError, match="churn_poach_days"):
        GeneratorConfig(churn_poach_days=-1)


# -- xlsx ---------------------------------------------------------------------------
def test_xlsx_sheets(tmp_path):
    from openpyxl import load_workbook

    path = tmp_path / "x.xlsx"
    result = write_xlsx(path, GeneratorConfig(n_customers=30))
    workbook = load_workbook(path, read_only=True)
    assert workbook.sheetnames == ["Year 2009-2010", "Year 2010-2011"]
    n_rows = 0
    for sheet in workbook.worksheets:
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0] == COLUMNS
        n_rows += len(rows) - 1
    assert n_rows == result.lines
    first = workbook["Year 2009-2010"]
    dates = [row[4] for row in first.iter_rows(min_row=2, values_only=True)]
    assert max(dates) < pd.Timestamp("2010-12-10")
    workbook.close()


# -- command line -------------------------------------------------------------------
def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "--lines" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["--out", "x.csv", "--customers", "-5"],
        ["--out", "x.csv", "--format", "json"],
        ["--out", "x.txt"],
        ["--out", "x.csv", "--customers", "10", "--lines", "100"],
        ["--out", "x.csv", "--change", "churn_wave"],
        ["--out", "x.csv", "--start", "not-a-date"],
        ["--out", "x.csv", "--start", "2011-01-01", "--end", "2010-01-01"],
        ["--bogus"],
    ],
)
def test_cli_bad_arguments_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_cli_writes_file(tmp_path, capsys):
    out = tmp_path / "cli.parquet"
    assert main(["--out", str(out), "--customers", "50", "--seed", "7"]) == 0
    captured = capsys.readouterr()
    assert "lines" in captured.err
    assert str(out) in captured.out
    assert pq.ParquetFile(out).metadata.num_rows > 0


def test_module_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "clv_warehouse.generate", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert "--customers" in proc.stdout
