"""Seeded generator of Online-Retail-II-shaped transaction lines.

The UCI "Online Retail II" data set is the transaction export of a UK online gift
retailer (December 2009 - December 2011).  This module simulates data of the same
shape and with the same kinds of dirt, deterministically from a seed, so that

1. the dbt project can build on a small bundled sample (``write_csv``), and
2. benchmarks can use 1M / 10M / 100M-line Parquet files (``write_parquet``), which
   are generated in blocks of customers and streamed, so memory stays bounded.

Columns, in the order of the real export::

    Invoice, StockCode, Description, Quantity, InvoiceDate, Price, Customer ID, Country

Simulated behaviour
-------------------
* Customers follow a BG/NBD ("buy till you die") process: an acquisition time
  (the first purchase), a purchase rate ``lambda ~ Gamma(r, scale=1/alpha)`` per
  day and a dropout probability ``p ~ Beta(a, b)`` applied after every purchase.
  Basket size is heterogeneous per customer (each has its own mean number of lines
  and wholesale propensity, in the spirit of the Gamma-Gamma spend model).
* Time runs on a seasonal clock: intensity varies by month (peak Sep-Nov, low
  Jan-Feb), weekday (no trading on Saturdays), hour (07:00-20:00) and a Christmas
  closure (24 Dec - 3 Jan).  Invoice times have minute resolution.
* Invoices have 1-``max_lines`` lines drawn from a Zipf-like product catalog;
  quantities are mostly 1-12 with some wholesale 24-144.  Country is fixed per
  customer (~88% United Kingdom).
* Dirt, each at a configurable rate: guest invoices without a customer,
  cancellations (``C`` invoices with negative quantities cancelling lines of an
  earlier invoice of the same customer), non-product lines (POST, DOT, M, C2, D,
  BANK CHARGES, AMAZONFEE, S, PADS, ADJUST, TEST001), adjacent exact duplicate
  lines, zero prices and "Adjust bad debt" lines (``A`` invoices, StockCode ``B``,
  negative price, no customer).
* Optional behaviour change from ``change_at``: ``churn_wave`` (a competitor
  arrives) stops the most frequent buyers (top ``churn_poached_share``, 20%, of
  the purchase rate distribution), multiplies everyone else's dropout
  probability (``churn_multiplier``, x3) and purchase rate
  (``churn_rate_multiplier``, x0.5); ``price_rise`` multiplies product prices
  (``price_multiplier``, x1.15).

Generation is vectorised with numpy.  The same arguments (including
``customers_per_chunk``) always give byte-identical output.

Command line::

    python -m clv_warehouse.generate --out data/online_retail_sample.csv
    python -m clv_warehouse.generate --out /tmp/or_10m.parquet --lines 10000000
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = [
    "COLUMNS",
    "SCHEMA",
    "GeneratorConfig",
    "WriteResult",
    "iter_chunks",
    "main",
    "write_csv",
    "write_parquet",
    "write_xlsx",
]

COLUMNS: tuple[str, ...] = (
    "Invoice",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "Price",
    "Customer ID",
    "Country",
)

#: Arrow schema of every chunk / of the Parquet output (as pandas loads the real data).
SCHEMA = pa.schema(
    [
        ("Invoice", pa.string()),
        ("StockCode", pa.string()),
        ("Description", pa.string()),
        ("Quantity", pa.int64()),
        ("InvoiceDate", pa.timestamp("us")),
        ("Price", pa.float64()),
        ("Customer ID", pa.float64()),
        ("Country", pa.string()),
    ]
)

DEFAULT_CUSTOMERS_PER_CHUNK = 8000
ROW_GROUP_SIZE = 1_000_000
FIRST_INVOICE = 489434
FIRST_CUSTOMER_ID = 12346
CHANGES = ("churn_wave", "price_rise")

# ----------------------------------------------------------------------------------
# Seasonal clock
# ----------------------------------------------------------------------------------
MONTH_WEIGHTS = (0.55, 0.6, 0.8, 0.75, 0.85, 0.85, 0.85, 0.85, 1.2, 1.35, 1.6, 1.1)
WEEKDAY_WEIGHTS = (1.0, 1.1, 1.05, 1.2, 0.8, 0.0, 0.65)  # Monday..Sunday
HOUR_WEIGHTS = (
    (0.0,) * 7
    + (0.15, 0.45, 0.85, 1.15, 1.2, 1.45, 1.3, 1.15, 1.05, 0.7, 0.35, 0.15, 0.1)
    + (0.0,) * 4
)

# ----------------------------------------------------------------------------------
# Countries (customer level).  Weights of the non-UK countries are relative.
# ----------------------------------------------------------------------------------
UK = "United Kingdom"
OTHER_COUNTRIES = (
    ("Germany", 17.0),
    ("France", 15.0),
    ("EIRE", 4.0),
    ("Netherlands", 4.0),
    ("Spain", 6.0),
    ("Belgium", 5.0),
    ("Switzerland", 4.0),
    ("Portugal", 4.0),
    ("Australia", 2.0),
    ("Italy", 3.0),
    ("Sweden", 3.0),
    ("Norway", 2.0),
    ("Finland", 2.0),
    ("Denmark", 2.0),
    ("Austria", 2.0),
    ("Channel Islands", 2.0),
    ("Cyprus", 2.0),
    ("Poland", 1.5),
    ("Japan", 1.0),
    ("USA", 1.0),
    ("Greece", 1.0),
    ("Israel", 1.0),
    ("Canada", 1.0),
    ("Unspecified", 1.0),
)
COUNTRY_NAMES = (UK,) + tuple(name for name, _ in OTHER_COUNTRIES)
_EIRE = COUNTRY_NAMES.index("EIRE")
GUEST_UK_SHARE = 0.95

# ----------------------------------------------------------------------------------
# Non-product lines: (StockCode, Description) as in the real export.
# ----------------------------------------------------------------------------------
NON_PRODUCT = (
    ("POST", "POSTAGE"),
    ("DOT", "DOTCOM POSTAGE"),
    ("M", "Manual"),
    ("C2", "CARRIAGE"),
    ("D", "Discount"),
    ("BANK CHARGES", "Bank Charges"),
    ("AMAZONFEE", "AMAZON FEE"),
    ("S", "SAMPLES"),
    ("PADS", "PADS TO MATCH ALL CUSHIONS"),
    ("ADJUST", "Adjustment by john on 26/01/2010 17:30"),
    ("TEST001", "This is a test product."),
)
BAD_DEBT = ("B", "Adjust bad debt")
# Which family a non-product line belongs to, by invoice context
# (rows: UK customer, other-country customer, EIRE customer, guest).
_NP_FAMILY_WEIGHTS = np.array(
    [
        [0.10, 0.00, 0.40, 0.05, 0.15, 0.05, 0.00, 0.10, 0.08, 0.04, 0.03],
        [0.86, 0.00, 0.05, 0.01, 0.02, 0.04, 0.00, 0.01, 0.005, 0.0025, 0.0025],
        [0.05, 0.00, 0.10, 0.75, 0.04, 0.02, 0.00, 0.02, 0.01, 0.005, 0.005],
        [0.01, 0.85, 0.06, 0.00, 0.01, 0.00, 0.04, 0.02, 0.01, 0.00, 0.00],
    ]
)
_NP_CONTEXT_MULTIPLIER = np.array([0.4, 8.0, 8.0, 1.5])
# Per family: quantity choices, then price in pence: fixed choices or
# ("lognormal", median pence, sigma).
_NP_QUANTITY = (
    (1, 1, 1, 1, 2, 3),
    (1,),
    (1, 1, 1, 2, 4),
    (1,),
    (-1,),
    (1,),
    (1,),
    (-1,),
    (1,),
    (1,),
    (5,),
)
_NP_PRICE: tuple[tuple[float, ...], ...] = (
    (1800, 1800, 1800, 1800, 2800, 4000, 1500),
    (-1, 12000, 0.8),
    (-1, 400, 1.3),
    (5000,),
    (-1, 1500, 0.8),
    (1500,),
    (-1, 300000, 0.5),
    (-1, 3000, 0.9),
    (0,),
    (-1, 5000, 1.0),
    (450,),
)

# ----------------------------------------------------------------------------------
# Baskets
# ----------------------------------------------------------------------------------
_QTY_VALUES = np.array([1, 2, 3, 4, 5, 6, 8, 10, 12])
_QTY_WEIGHTS = np.array([0.24, 0.15, 0.08, 0.10, 0.02, 0.13, 0.04, 0.04, 0.20])
_WHOLESALE_VALUES = np.array([24, 36, 48, 72, 96, 100, 144])
_WHOLESALE_WEIGHTS = np.array([0.40, 0.08, 0.20, 0.07, 0.12, 0.05, 0.08])
_GUEST_MEAN_LINES = 25.0
_GUEST_WHOLESALE = 0.02
_CANCEL_DELAY_DAYS = 2.0
_CANCEL_FULL_SHARE = 0.4
_CANCEL_LINE_SHARE = 0.35
# Ratio total lines / customer product lines (before de-duplication), used to stop
# close to ``target_lines`` in the first chunk; later chunks use the measured ratio.
_LINES_RATIO_GUESS = 1.25

# ----------------------------------------------------------------------------------
# Catalog word lists
# ----------------------------------------------------------------------------------
_CLASSICS = (
    ("85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 295),
    ("22423", "REGENCY CAKESTAND 3 TIER", 1275),
    ("85099B", "JUMBO BAG RED RETROSPOT", 195),
    ("84879", "ASSORTED COLOUR BIRD ORNAMENT", 169),
    ("47566", "PARTY BUNTING", 495),
    ("20725", "LUNCH BAG RED RETROSPOT", 165),
    ("21212", "PACK OF 72 RETROSPOT CAKE CASES", 55),
    ("71053", "WHITE METAL LANTERN", 375),
    ("84406B", "CREAM CUPID HEARTS COAT HANGER", 275),
    ("84029G", "KNITTED UNION FLAG HOT WATER BOTTLE", 375),
    ("22752", "SET 7 BABUSHKA NESTING BOXES", 765),
    ("21730", "GLASS STAR FROSTED T-LIGHT HOLDER", 425),
    ("22197", "POPCORN HOLDER", 85),
)
# Descriptions that need CSV quoting (commas and double quotes).
_QUOTED = (
    'SET OF 3 "BEST FRIENDS" TINS',
    "SWEETHEART CAKESTAND, 3 TIER",
    'PACK OF 12 "LONDON" TISSUES',
    'DOORMAT "HOME SWEET HOME"',
    'CHRISTMAS CARD, "SILENT NIGHT"',
    "TEA, COFFEE, SUGAR JARS",
    "ALPHABET STENCIL, CRAFT",
    '"ANTIQUE" WHITE MIRROR, SMALL',
)
_COLORS = (
    "RED", "BLUE", "PINK", "WHITE", "GREEN", "IVORY", "CREAM", "BLACK", "SILVER",
    "GOLD", "PURPLE", "ORANGE", "YELLOW", "PASTEL", "ANTIQUE", "LILAC", "TURQUOISE",
    "NATURAL", "CHOCOLATE", "MINT",
)  # fmt: skip
_PATTERNS = (
    "RETROSPOT", "POLKADOT", "SPACEBOY", "DOLLY GIRL", "SKULL", "FLORAL",
    "PAISLEY", "STRAWBERRY", "VINTAGE LEAF", "REGENCY", "HEART", "STAR", "BIRD",
    "OWL", "ROSE", "CHERRY", "LOVEBIRD", "JAM MAKING", "ALPHABET", "DOILY",
    "GINGHAM", "UNION JACK", "PARIS", "WOODLAND", "CIRCUS PARADE", "SNOWFLAKE",
    "BUTTERFLY", "TOADSTOOL", "MOROCCAN", "BAROQUE",
)  # fmt: skip
_ITEMS = (
    "T-LIGHT HOLDER", "CAKE STAND", "LUNCH BAG", "JUMBO BAG", "MUG",
    "TEACUP AND SAUCER", "CAKE CASES", "NAPKINS", "BUNTING", "DOORSTOP",
    "CUSHION COVER", "HOT WATER BOTTLE", "LANTERN", "PHOTO FRAME", "TRINKET BOX",
    "WALL CLOCK", "NOTEBOOK", "PENCILS", "PAPER CHAIN KIT", "CHILDRENS APRON",
    "WATER BOTTLE", "BAKING SET", "SPOON", "PLATE", "BOWL", "TISSUES", "STICKERS",
    "GIFT WRAP", "BAG CHARM", "KEY RING", "FRIDGE MAGNET", "CANDLE", "GARLAND",
    "WREATH", "DECORATION", "HANGING ORNAMENT", "COAT HANGER", "STORAGE TIN",
    "SHOPPING BAG", "PURSE", "PARASOL", "UMBRELLA", "TEAPOT", "MILK JUG", "EGG CUP",
    "BIRTHDAY CARD", "CHRISTMAS CARD", "SIGN", "DOORMAT", "TRAY", "CAKE TIN",
    "JAR", "BOTTLE OPENER", "PEG BAG", "HAND WARMER", "PICNIC BASKET", "MIRROR",
    "CLOCK", "BELL", "BUNNY",
)  # fmt: skip
_MATERIALS = (
    "GLASS", "WOODEN", "METAL", "ENAMEL", "CERAMIC", "ZINC", "WICKER", "FELT",
    "TIN", "PAPER", "KNITTED", "CROCHET", "PORCELAIN", "BAMBOO", "WIRE",
)  # fmt: skip
_STYLES = (
    "VINTAGE", "FRENCH", "HANGING", "RETRO", "EDWARDIAN", "SWEETHEART", "FAIRY",
    "CHRISTMAS", "ENGLISH ROSE", "SCANDINAVIAN", "SMALL", "LARGE", "MINI", "JUMBO",
)  # fmt: skip
_SUFFIXES = ("ASSORTED", "SMALL", "LARGE", "3 TIER", "SET OF 2", "DESIGN", "KIT")
_PRICE_POINTS = np.array(
    [19, 21, 29, 39, 42, 55, 65, 72, 79, 83, 85, 125, 145, 165, 169, 195, 210, 250,
     255, 295, 325, 375, 425, 495, 595, 675, 795, 850, 995, 1275, 1495]
)  # fmt: skip
_EXPENSIVE_POINTS = np.array([1695, 1995, 2495, 2995, 3995, 4995, 9500, 16500, 29500])


# ==================================================================================
# Public configuration and results
# ==================================================================================
@dataclass(frozen=True)
class GeneratorConfig:
    """All parameters of the generator (defaults mimic the real 2-year export).

    Time:
        seed: seed of ``numpy.random.default_rng``; everything derives from it.
        start, end: first and last calendar day of the period (both included), as
            ISO strings or ``date`` objects.
    Customers (BG/NBD):
        n_customers: number of registered customers.
        r, alpha: purchase rate per day ``lambda ~ Gamma(r, scale=1/alpha)``.
        dropout_a, dropout_b: dropout probability ``p ~ Beta(a, b)``, applied after
            each purchase.
        acquisition_a, acquisition_b: acquisition (first purchase) time, as a
            fraction of the seasonal clock, ``~ Beta(a, b)`` (more early, some late).
        uk_share: share of customers in the United Kingdom.
    Baskets:
        n_products: size of the product catalog.
        zipf_s, zipf_offset: product popularity ``(rank + offset) ** -s``.
        mean_lines: mean lines per customer invoice (customer means vary).
        max_lines: maximum number of product lines on one invoice.
        wholesale_share: mean probability of a wholesale quantity (24-144) per line.
    Dirt:
        guest_line_share: share of product lines on guest invoices (no customer).
        cancel_rate: probability that a customer invoice is later (partly) cancelled.
        nonproduct_rate: base probability that an invoice carries a non-product line
            (scaled up for foreign customers, who nearly always pay POSTAGE).
        duplicate_rate: share of lines immediately repeated (exact duplicates).
        zero_price_rate: share of product lines with price 0.
        bad_debt_rate: "Adjust bad debt" lines per line (at least one in the
            first chunk when > 0).
    Behaviour change:
        change: None, "churn_wave" or "price_rise".
        change_at: when the change starts (ISO string, ``date`` or ``datetime``).
        churn_multiplier: ``churn_wave``: dropout probability multiplier (after
            every purchase from ``change_at``).
        churn_rate_multiplier: ``churn_wave``: purchase rate multiplier of the
            customers who stay (they split their purchases with a competitor).
        churn_poached_share: ``churn_wave``: the most frequent buyers, this top
            share of the purchase rate distribution ``Gamma(r, 1/alpha)``, stop
            buying (a competitor wins them over) ...
        churn_poach_days: ... each after an exponential delay of this mean (in
            the seasonal clock's average days) from ``change_at``; 0 = at once.
        price_multiplier: product price multiplier of ``price_rise``.
    """

    seed: int = 42
    start: str | date = "2009-12-01"
    end: str | date = "2011-12-09"
    n_customers: int = 3000
    # BG/NBD
    r: float = 0.7
    alpha: float = 30.0
    dropout_a: float = 0.8
    dropout_b: float = 4.0
    acquisition_a: float = 0.7
    acquisition_b: float = 1.4
    uk_share: float = 0.88
    # baskets
    n_products: int = 3000
    zipf_s: float = 0.7
    zipf_offset: float = 10.0
    mean_lines: float = 17.0
    max_lines: int = 60
    wholesale_share: float = 0.06
    # dirt
    guest_line_share: float = 0.22
    cancel_rate: float = 0.025
    nonproduct_rate: float = 0.05
    duplicate_rate: float = 0.01
    zero_price_rate: float = 0.003
    bad_debt_rate: float = 1e-5
    # behaviour change
    change: str | None = None
    change_at: str | date | datetime | None = None
    churn_multiplier: float = 3.0
    churn_rate_multiplier: float = 0.5
    churn_poached_share: float = 0.2
    churn_poach_days: float = 60.0
    price_multiplier: float = 1.15

    def __post_init__(self) -> None:
        start, end = _parse_day(self.start), _parse_day(self.end)
        if end < start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        if self.n_customers < 0:
            raise ValueError("n_customers must be >= 0")
        if self.n_products < 20:
            raise ValueError("n_products must be >= 20")
        if self.max_lines < 1 or self.mean_lines < 1:
            raise ValueError("mean_lines and max_lines must be >= 1")
        for name in ("r", "alpha", "dropout_a", "dropout_b"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        for name in ("acquisition_a", "acquisition_b", "zipf_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0")
        for name in (
            "uk_share",
            "wholesale_share",
            "cancel_rate",
            "nonproduct_rate",
            "duplicate_rate",
            "zero_price_rate",
            "bad_debt_rate",
        ):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")
        if not 0.0 <= self.guest_line_share < 0.95:
            raise ValueError("guest_line_share must be in [0, 0.95)")
        if self.change is not None and self.change not in CHANGES:
            raise ValueError(f"change must be one of {CHANGES} or None")
        if self.change is not None and self.change_at is None:
            raise ValueError("change needs change_at")
        if self.change_at is not None:
            _parse_moment(self.change_at)
        if self.churn_multiplier < 0 or self.price_multiplier < 0:
            raise ValueError("multipliers must be >= 0")
        if not 0.0 <= self.churn_rate_multiplier <= 1.0:
            raise ValueError("churn_rate_multiplier must be in [0, 1]")
        if not 0.0 <= self.churn_poached_share < 1.0:
            raise ValueError("churn_poached_share must be in [0, 1)")
        if self.churn_poach_days < 0:
            raise ValueError("churn_poach_days must be >= 0")


@dataclass(frozen=True)
class WriteResult:
    """What a ``write_*`` function wrote."""

    path: Path
    lines: int
    customers: int
    invoices: int
    seconds: float


# ==================================================================================
# Public API
# ==================================================================================
def iter_chunks(
    config: GeneratorConfig | None = None,
    *,
    customers_per_chunk: int = DEFAULT_CUSTOMERS_PER_CHUNK,
    target_lines: int | None = None,
) -> Iterator[pa.Table]:
    """Yield the data as Arrow tables with schema ``SCHEMA``, one per customer block.

    Customers are generated in blocks of ``customers_per_chunk`` (each block with its
    own random stream derived from ``config.seed``), so memory depends on the block
    size only (~110 lines per customer with the defaults).  Each block also holds
    its share of guest, cancellation and bad-debt invoices.  Within a block, lines
    are sorted by InvoiceDate then Invoice; invoice numbers increase with time
    within a block and are globally unique (each block numbers on from where the
    previous one stopped).  With a single block (the default sample), the output is
    sorted exactly like the real export.

    When ``target_lines`` is given, ``config.n_customers`` is ignored: blocks are
    generated until about ``target_lines`` lines are reached, the last block being
    cut to the number of customers that fits (measured lines per customer).
    """
    config = config or GeneratorConfig()
    for table, _, _ in _generate(config, customers_per_chunk, target_lines):
        yield table


class _Tally:
    """Counts lines, customers and invoices as chunks stream to a file, prints
    progress, and makes the WriteResult: the part every writer shares."""

    def __init__(self, path: str | Path, progress: bool) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.progress = progress
        self.start = time.perf_counter()
        self.lines = self.customers = self.invoices = 0

    def chunks(
        self,
        config: GeneratorConfig,
        customers_per_chunk: int,
        target_lines: int | None,
    ) -> Iterator[pa.Table]:
        for table, n_cust, n_inv in _generate(
            config, customers_per_chunk, target_lines
        ):
            yield table
            self.lines += table.num_rows
            self.customers += n_cust
            self.invoices += n_inv
            if self.progress:
                _progress(self.lines, self.start)

    def result(self) -> WriteResult:
        return WriteResult(
            self.path,
            self.lines,
            self.customers,
            self.invoices,
            time.perf_counter() - self.start,
        )


def write_csv(
    path: str | Path,
    config: GeneratorConfig | None = None,
    *,
    target_lines: int | None = None,
    customers_per_chunk: int = DEFAULT_CUSTOMERS_PER_CHUNK,
    progress: bool = False,
) -> WriteResult:
    """Write a CSV like the real export read through pandas and saved with to_csv.

    InvoiceDate is ``YYYY-MM-DD HH:MM:SS``, Price has 2 decimals, ``Customer ID`` is
    a float string (``12346.0``) or empty; fields are quoted only when needed.
    """
    tally = _Tally(path, progress)
    with tally.path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        for table in tally.chunks(
            config or GeneratorConfig(), customers_per_chunk, target_lines
        ):
            writer.writerows(zip(*_csv_columns(table), strict=True))
    return tally.result()


def write_parquet(
    path: str | Path,
    config: GeneratorConfig | None = None,
    *,
    target_lines: int | None = None,
    customers_per_chunk: int = DEFAULT_CUSTOMERS_PER_CHUNK,
    progress: bool = False,
) -> WriteResult:
    """Stream the data into a Parquet file (zstd, row groups of 1M-1.5M rows).

    With ``target_lines`` the number of customers is chosen from the measured lines
    per customer so that the file has about that many lines (within ~1%).
    """
    tally = _Tally(path, progress)
    pending: list[pa.Table] = []
    n_pending = 0
    with pq.ParquetWriter(tally.path, SCHEMA, compression="zstd") as writer:
        for table in tally.chunks(
            config or GeneratorConfig(), customers_per_chunk, target_lines
        ):
            pending.append(table)
            n_pending += table.num_rows
            # keep >= half a row group back so the last group is not tiny
            while n_pending >= ROW_GROUP_SIZE * 3 // 2:
                merged = pa.concat_tables(pending)
                writer.write_table(
                    merged.slice(0, ROW_GROUP_SIZE), row_group_size=ROW_GROUP_SIZE
                )
                pending = [merged.slice(ROW_GROUP_SIZE)]
                n_pending -= ROW_GROUP_SIZE
        if n_pending:
            writer.write_table(pa.concat_tables(pending), row_group_size=n_pending)
    return tally.result()


def write_xlsx(
    path: str | Path,
    config: GeneratorConfig | None = None,
    *,
    target_lines: int | None = None,
    customers_per_chunk: int = DEFAULT_CUSTOMERS_PER_CHUNK,
    progress: bool = False,
) -> WriteResult:
    """Write an Excel workbook shaped like the real ``online_retail_II.xlsx``.

    One sheet per year of data, counted back from ``end`` (defaults: 'Year
    2009-2010' up to 2010-12-09 and 'Year 2010-2011' after), each with the header
    row.  As in the real file, all-digit Invoice and StockCode values are stored as
    numbers (others, like 'C489449' or '85123A', as text), InvoiceDate as a date
    and an empty cell for a missing Customer ID.  Slow (openpyxl): small files only.
    """
    from openpyxl import Workbook

    tally = _Tally(path, progress)
    config = config or GeneratorConfig()
    bounds, names = _sheet_bounds(config)
    workbook = Workbook(write_only=True)
    sheets = [workbook.create_sheet(title=name) for name in names]
    for sheet in sheets:
        sheet.append(list(COLUMNS))
    for table in tally.chunks(config, customers_per_chunk, target_lines):
        minutes = (
            table.column("InvoiceDate")
            .to_numpy()
            .astype("datetime64[m]")
            .astype(np.int64)
        )
        sheet_of = np.searchsorted(bounds, minutes, side="right")
        cols = [
            [int(v) if v.isdigit() else v for v in table.column("Invoice").to_pylist()],
            [
                int(v) if v.isdigit() else v
                for v in table.column("StockCode").to_pylist()
            ],
            table.column("Description").to_pylist(),
            table.column("Quantity").to_pylist(),
            table.column("InvoiceDate").to_pylist(),
            table.column("Price").to_pylist(),
            table.column("Customer ID").to_pylist(),
            table.column("Country").to_pylist(),
        ]
        for i, row in enumerate(zip(*cols, strict=True)):
            sheets[sheet_of[i]].append(row)
    workbook.save(tally.path)
    return tally.result()


# ==================================================================================
# Internals: parsing, calendar, catalog
# ==================================================================================
def _parse_day(value: str | date) -> np.datetime64:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return np.datetime64(value, "D")
    return np.datetime64(date.fromisoformat(str(value)[:10]), "D")


def _parse_moment(value: str | date | datetime) -> np.datetime64:
    if isinstance(value, datetime):
        return np.datetime64(value.replace(tzinfo=None), "m")
    if isinstance(value, date):
        return np.datetime64(value, "D").astype("datetime64[m]")
    return np.datetime64(datetime.fromisoformat(str(value)), "m")


class _Calendar:
    """Seasonal clock: maps "operational time" (in average days) to minutes."""

    def __init__(self, config: GeneratorConfig) -> None:
        first = _parse_day(config.start)
        last = _parse_day(config.end)
        hours = np.arange(
            first.astype("datetime64[h]"), (last + 1).astype("datetime64[h]")
        )
        days = hours.astype("datetime64[D]")
        months = days.astype("datetime64[M]")
        month = months.astype(np.int64) % 12
        day_of_month = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        hour = hours.astype(np.int64) % 24
        weight = (
            np.asarray(MONTH_WEIGHTS)[month]
            * np.asarray(WEEKDAY_WEIGHTS)[weekday]
            * np.asarray(HOUR_WEIGHTS)[hour]
        )
        closed = ((month == 11) & (day_of_month >= 24)) | (
            (month == 0) & (day_of_month <= 3)
        )
        weight[closed] = 0.0
        if weight.sum() <= 0:
            raise ValueError("the period has no trading hours")
        n_days = float((last - first).astype(np.int64) + 1)
        self.first_minute = int(first.astype("datetime64[m]").astype(np.int64))
        self.cum = np.cumsum(weight) * (n_days / weight.sum())
        self.total = float(self.cum[-1])
        self.n_hours = len(hours)

    def minutes(self, op: np.ndarray) -> np.ndarray:
        """Minutes since the epoch of operational times ``op`` (0 <= op <= total)."""
        h = np.minimum(np.searchsorted(self.cum, op, side="right"), self.n_hours - 1)
        below = np.where(h > 0, self.cum[h - 1], 0.0)
        frac = (op - below) / (self.cum[h] - below)
        minute = np.clip((frac * 60.0).astype(np.int64), 0, 59)
        return self.first_minute + h * 60 + minute

    def op_at(self, minute: int) -> float:
        """Operational time of a moment (minutes since the epoch)."""
        hours = (minute - self.first_minute) / 60.0
        if hours <= 0:
            return 0.0
        if hours >= self.n_hours:
            return self.total
        grid = np.concatenate(([0.0], self.cum))
        return float(np.interp(hours, np.arange(self.n_hours + 1), grid))


@dataclass(frozen=True)
class _Catalog:
    codes: pa.Array  # products, then NON_PRODUCT, then BAD_DEBT
    descriptions: pa.Array
    price: np.ndarray  # pence, products only
    cum_weight: np.ndarray  # popularity CDF over products
    n_products: int


def _build_catalog(config: GeneratorConfig) -> _Catalog:
    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(0,)))
    n = config.n_products
    codes: list[str] = [c for c, _, _ in _CLASSICS]
    descs: list[str] = [d for _, d, _ in _CLASSICS]
    prices: list[int] = [p for _, _, p in _CLASSICS]
    seen_codes, seen_descs = set(codes), set(descs)

    def word(words: Sequence[str]) -> str:
        return words[int(rng.integers(len(words)))]

    def new_description() -> str:
        form = int(rng.integers(7))
        if form == 0:
            return f"{word(_COLORS)} {word(_PATTERNS)} {word(_ITEMS)}"
        if form == 1:
            return f"{word(_ITEMS)} {word(_COLORS)} {word(_PATTERNS)}"
        if form == 2:
            return f"{word(_MATERIALS)} {word(_ITEMS)} {word(_COLORS)}"
        if form == 3:
            n_set = int(rng.choice([2, 3, 4, 6]))
            return f"SET OF {n_set} {word(_PATTERNS)} {word(_ITEMS)}"
        if form == 4:
            n_pack = int(rng.choice([6, 10, 12, 20, 24, 60, 72]))
            return f"PACK OF {n_pack} {word(_PATTERNS)} {word(_ITEMS)}"
        if form == 5:
            return f"{word(_STYLES)} {word(_MATERIALS)} {word(_ITEMS)}"
        return f"{word(_COLORS)} {word(_MATERIALS)} {word(_ITEMS)} {word(_SUFFIXES)}"

    def new_code() -> str:
        while True:
            base = str(int(rng.integers(10002, 90999)))
            if rng.random() < 0.25:
                base += "ABCDEFGHIJKL"[int(rng.integers(12))]
            if base not in seen_codes:
                seen_codes.add(base)
                return base

    for text in _QUOTED:
        codes.append(new_code())
        descs.append(text)
        seen_descs.add(text)
    while len(descs) < n:
        text = new_description()
        if text in seen_descs:
            continue
        seen_descs.add(text)
        codes.append(new_code())
        descs.append(text)
    codes, descs = codes[:n], descs[:n]
    n_fixed = min(len(_CLASSICS) + len(_QUOTED), n)
    # Prices: snapped log-normal, mostly 0.19-14.95, 1% expensive.
    drawn = np.exp(rng.normal(np.log(250.0), 0.9, n))
    snapped = _PRICE_POINTS[
        np.abs(np.log(drawn)[:, None] - np.log(_PRICE_POINTS)[None, :]).argmin(axis=1)
    ]
    expensive = rng.random(n) < 0.01
    snapped = np.where(expensive, rng.choice(_EXPENSIVE_POINTS, n), snapped).astype(
        np.int64
    )
    snapped[: len(prices)] = prices[: min(len(prices), n)]
    # Popularity: classics on top, quoted descriptions among the top ~300, rest random.
    rank = np.empty(n, dtype=np.int64)
    n_classic = min(len(_CLASSICS), n)
    rank[:n_classic] = np.arange(n_classic)
    others = rng.permutation(np.arange(n_classic, n))
    quoted_ranks = rng.choice(
        np.arange(n_classic, min(n, 300)), n_fixed - n_classic, replace=False
    )
    rest = others[~np.isin(others, quoted_ranks)]
    rank[n_classic:n_fixed] = quoted_ranks
    rank[n_fixed:] = rest
    weight = (rank + config.zipf_offset) ** -config.zipf_s
    cum = np.cumsum(weight)
    cum /= cum[-1]
    all_codes = codes + [c for c, _ in NON_PRODUCT] + [BAD_DEBT[0]]
    all_descs = descs + [d for _, d in NON_PRODUCT] + [BAD_DEBT[1]]
    return _Catalog(
        codes=pa.array(all_codes, pa.string()),
        descriptions=pa.array(all_descs, pa.string()),
        price=snapped,
        cum_weight=cum,
        n_products=n,
    )


def _sheet_bounds(config: GeneratorConfig) -> tuple[np.ndarray, list[str]]:
    """Sheet boundaries (first minute of each later sheet) and sheet names."""
    first, last = _parse_day(config.start), _parse_day(config.end)
    n_days = int((last - first).astype(np.int64)) + 1
    n_sheets = max(1, round(n_days / 365.25))
    starts = [first]
    for k in range(n_sheets - 1, 0, -1):
        end_of: date = last.astype(object)
        day = min(end_of.day, 28) if end_of.month == 2 else end_of.day  # 29 Feb
        boundary = np.datetime64(end_of.replace(year=end_of.year - k, day=day)) + 1
        starts.append(boundary)
    names = []
    for i, sheet_start in enumerate(starts):
        sheet_end = starts[i + 1] - 1 if i + 1 < len(starts) else last
        y0, y1 = sheet_start.astype(object).year, sheet_end.astype(object).year
        name = f"Year {y0}-{y1}" if y1 != y0 else f"Year {y0}"
        names.append(name if name not in names else f"{name} ({i + 1})")
    bounds = np.array(
        [int(s.astype("datetime64[m]").astype(np.int64)) for s in starts[1:]],
        dtype=np.int64,
    )
    return bounds, names


# ==================================================================================
# Internals: generation
# ==================================================================================
def _generate(
    config: GeneratorConfig, customers_per_chunk: int, target_lines: int | None
) -> Iterator[tuple[pa.Table, int, int]]:
    """Yield (table, customers, invoices) per block of customers."""
    if customers_per_chunk < 1:
        raise ValueError("customers_per_chunk must be >= 1")
    if target_lines is not None and target_lines < 1:
        raise ValueError("target_lines must be >= 1")
    calendar = _Calendar(config)
    catalog = _build_catalog(config)
    done_customers = lines = invoice_offset = 0
    ratio = _LINES_RATIO_GUESS
    base_lines = 0
    k = 0
    while True:
        budget = None
        if target_lines is None:
            n = min(customers_per_chunk, config.n_customers - done_customers)
            if n <= 0 and k > 0:
                return
        else:
            if lines >= target_lines * 0.999:
                return
            n = customers_per_chunk
            budget = (target_lines - lines) / ratio
        table, n_cust, n_inv, n_base = _chunk(
            config,
            calendar,
            catalog,
            k,
            max(n, 0),
            done_customers,
            invoice_offset,
            budget,
        )
        yield table, n_cust, n_inv
        done_customers += n_cust
        invoice_offset += n_inv
        lines += table.num_rows
        base_lines += n_base
        if base_lines:
            ratio = lines / base_lines
        k += 1
        if target_lines is not None and n_cust < n:
            return


def _gamma_isf(share: float, shape: float, scale: float) -> float:
    """The rate above which lies ``share`` of ``Gamma(shape, scale)``."""
    from scipy.stats import gamma

    return float(gamma.isf(share, shape, scale=scale))


def _segment_starts(counts: np.ndarray) -> np.ndarray:
    return np.cumsum(counts) - counts


def _chunk(
    config: GeneratorConfig,
    cal: _Calendar,
    cat: _Catalog,
    k: int,
    n: int,
    first_customer: int,
    invoice_offset: int,
    budget: float | None,
) -> tuple[pa.Table, int, int, int]:
    """Generate one block of ``n`` customers (fewer if cut to a line budget).

    Returns the table, the number of customers kept, of invoices and the number of
    customer product lines before de-duplication (used to calibrate the budget).
    """
    rng = np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(1, k)))
    T = cal.total
    churn = config.change == "churn_wave"
    change_minute = (
        int(_parse_moment(config.change_at).astype(np.int64))
        if config.change is not None
        else None
    )
    change_op = cal.op_at(change_minute) if change_minute is not None else np.inf

    # ---- customers: BG/NBD purchase times (operational time) -------------------------
    lam = rng.gamma(config.r, 1.0 / config.alpha, n)
    p = rng.beta(config.dropout_a, config.dropout_b, n)
    acq = T * rng.beta(config.acquisition_a, config.acquisition_b, n)
    n_events = np.minimum(rng.poisson(lam * (T - acq)), 5000)
    owner = np.repeat(np.arange(n), n_events)
    u = np.sort(owner + rng.random(owner.size)) - owner  # sorted within customer
    t = acq[owner] + u * (T - acq)[owner]

    def dropout(prob: np.ndarray, when: np.ndarray) -> np.ndarray:
        if not churn:
            return prob
        raised = np.minimum(prob * config.churn_multiplier, 1.0)
        return np.where(when >= change_op, raised, prob)

    dead_first = rng.random(n) < dropout(p, acq)
    dies = rng.random(owner.size) < dropout(p[owner], t)
    # churn_wave, besides the dropout above: who stays buys less often, each
    # purchase opportunity after the change being kept with probability
    # churn_rate_multiplier (Poisson thinning, drawn from a stream of its own so
    # the draws of the main stream stay the same) ...
    skipped = np.zeros(owner.size, dtype=bool)
    if churn and config.churn_rate_multiplier < 1.0:
        wave_rng = np.random.default_rng(
            np.random.SeedSequence(config.seed, spawn_key=(2, k))
        )
        skipped = (t >= change_op) & (
            wave_rng.random(owner.size) >= config.churn_rate_multiplier
        )
        dies &= ~skipped
    if churn and config.churn_poached_share > 0:
        # ... and the most frequent buyers (the top churn_poached_share of the purchase
        # rate prior, so the same customers whatever the chunking) stop buying
        poached = lam >= _gamma_isf(
            config.churn_poached_share, config.r, 1.0 / config.alpha
        )
        leaves = np.full(n, change_op)
        if config.churn_poach_days > 0:
            poach_rng = np.random.default_rng(
                np.random.SeedSequence(config.seed, spawn_key=(3, k))
            )
            leaves = leaves + poach_rng.exponential(config.churn_poach_days, n)
        skipped |= poached[owner] & (t >= leaves[owner])
    before = np.cumsum(dies) - dies
    first_of = np.append(before, 0)[_segment_starts(n_events)]
    alive = ~dead_first[owner] & (before == first_of[owner]) & ~skipped
    inv_cust = np.concatenate([np.arange(n), owner[alive]])
    inv_op = np.concatenate([acq, t[alive]])

    # ---- customer attributes ---------------------------------------------------------
    foreign = rng.random(n) >= config.uk_share
    other_w = np.array([w for _, w in OTHER_COUNTRIES])
    cust_country = np.where(
        foreign, 1 + rng.choice(len(other_w), n, p=other_w / other_w.sum()), 0
    )
    cust_mean_lines = 1.0 + rng.gamma(2.0, (config.mean_lines - 1.0) / 2.0, n)
    ws = config.wholesale_share
    cust_wholesale = (
        rng.beta(0.5, 0.5 * (1 - ws) / ws, n) if 0 < ws < 1 else np.full(n, ws)
    )

    # ---- lines per customer invoice; cut customers to the line budget ----------------
    m = cust_mean_lines[inv_cust] - 1.0
    n_lines = 1 + rng.poisson(rng.gamma(3.0, m / 3.0))
    n_lines = np.minimum(n_lines, config.max_lines)
    n_keep = n
    if budget is not None:
        per_customer = np.bincount(inv_cust, weights=n_lines, minlength=n)
        n_keep = int(np.searchsorted(np.cumsum(per_customer), budget, side="left")) + 1
        n_keep = min(n_keep, n)
        if n_keep < n:
            kept = inv_cust < n_keep
            inv_cust, inv_op, n_lines = inv_cust[kept], inv_op[kept], n_lines[kept]
    n_base = int(n_lines.sum())
    cust_id = FIRST_CUSTOMER_ID + first_customer + rng.permutation(n_keep)

    # ---- guest invoices --------------------------------------------------------------
    g = config.guest_line_share
    guest_target = n_base * g / (1.0 - g)
    n_guess = int(guest_target / _GUEST_MEAN_LINES * 1.3) + 5
    g_lines = 1 + rng.poisson(rng.gamma(1.5, (_GUEST_MEAN_LINES - 1) / 1.5, n_guess))
    g_lines = np.minimum(g_lines, config.max_lines)
    n_guest = int(np.searchsorted(np.cumsum(g_lines), guest_target)) if g > 0 else 0
    g_lines = g_lines[:n_guest]
    g_op = rng.random(n_guest) * T
    g_foreign = rng.random(n_guest) >= GUEST_UK_SHARE
    g_country = np.where(
        g_foreign, 1 + rng.choice(len(other_w), n_guest, p=other_w / other_w.sum()), 0
    )

    # ---- regular invoices (customers, then guests) -----------------------------------
    r_cust = np.concatenate([inv_cust, np.full(n_guest, -1)])
    r_op = np.concatenate([inv_op, g_op])
    r_minute = cal.minutes(r_op)
    r_country = np.concatenate([cust_country[inv_cust], g_country])
    r_wholesale = np.concatenate(
        [cust_wholesale[inv_cust], np.full(n_guest, _GUEST_WHOLESALE)]
    )
    r_lines = np.concatenate([n_lines, g_lines])
    n_regular = r_cust.size

    # ---- product lines ---------------------------------------------------------------
    l_inv = np.repeat(np.arange(n_regular), r_lines)
    l_prod = np.searchsorted(cat.cum_weight, rng.random(l_inv.size), side="right")
    l_prod = np.minimum(l_prod, cat.n_products - 1)
    key = l_inv * cat.n_products + l_prod  # drop repeated products within an invoice
    order = np.argsort(key, kind="stable")
    repeated = np.zeros(key.size, dtype=bool)
    repeated[order[1:]] = key[order[1:]] == key[order[:-1]]
    l_inv, l_prod = l_inv[~repeated], l_prod[~repeated]
    n_pl = l_inv.size

    qty = _QTY_VALUES[
        np.searchsorted(np.cumsum(_QTY_WEIGHTS) / _QTY_WEIGHTS.sum(), rng.random(n_pl))
    ]
    price = cat.price[l_prod]
    cheap = (price < 100) & (rng.random(n_pl) < 0.35)
    qty = np.where(cheap, np.where(rng.random(n_pl) < 0.6, 12, 24), qty)
    wholesale = rng.random(n_pl) < r_wholesale[l_inv]
    w_qty = _WHOLESALE_VALUES[
        np.searchsorted(
            np.cumsum(_WHOLESALE_WEIGHTS) / _WHOLESALE_WEIGHTS.sum(), rng.random(n_pl)
        )
    ]
    qty = np.where(wholesale, w_qty, qty).astype(np.int64)
    price = np.where(qty >= 24, np.maximum(np.rint(price * 0.85), 1), price)
    if config.change == "price_rise":
        after = r_minute[l_inv] >= change_minute
        price = np.where(after, np.rint(price * config.price_multiplier), price)
    price = np.where(rng.random(n_pl) < config.zero_price_rate, 0, price).astype(
        np.int64
    )

    # ---- cancellations of customer invoices ------------------------------------------
    chosen = (rng.random(n_regular) < config.cancel_rate) & (r_cust >= 0)
    c_of = np.flatnonzero(chosen)
    c_op = r_op[c_of] + rng.exponential(_CANCEL_DELAY_DAYS, c_of.size) + 0.01
    ok = c_op < T
    c_of, c_op = c_of[ok], c_op[ok]
    c_minute = cal.minutes(c_op)
    ok = c_minute > r_minute[c_of]
    c_of, c_minute = c_of[ok], c_minute[ok]
    n_cancel = c_of.size
    c_full = rng.random(n_cancel) < _CANCEL_FULL_SHARE
    cancel_idx = np.full(n_regular, -1)
    cancel_idx[c_of] = np.arange(n_cancel)
    inv_count = np.bincount(l_inv, minlength=n_regular)
    inv_first = _segment_starts(inv_count)
    forced = inv_first[c_of] + (rng.random(n_cancel) * inv_count[c_of]).astype(np.int64)
    line_c = cancel_idx[l_inv]
    take = (line_c >= 0) & (
        c_full[np.maximum(line_c, 0)] | (rng.random(n_pl) < _CANCEL_LINE_SHARE)
    )
    take[forced] = True
    taken = np.flatnonzero(take)

    # ---- non-product lines -----------------------------------------------------------
    context = np.where(
        r_cust < 0, 3, np.where(r_country == 0, 0, np.where(r_country == _EIRE, 2, 1))
    )
    np_prob = np.minimum(config.nonproduct_rate * _NP_CONTEXT_MULTIPLIER[context], 0.9)
    carries = rng.random(n_regular) < np_prob
    np_inv = np.flatnonzero(carries)
    cum_fam = np.cumsum(_NP_FAMILY_WEIGHTS, axis=1)
    cum_fam /= cum_fam[:, -1:]
    np_fam = (rng.random(np_inv.size)[:, None] > cum_fam[context[np_inv]]).sum(axis=1)
    np_fam = np.minimum(np_fam, len(NON_PRODUCT) - 1)
    if k == 0 and config.nonproduct_rate > 0:  # every family at least once
        missing = np.setdiff1d(np.arange(len(NON_PRODUCT)), np_fam)
        free = np.flatnonzero(~carries)
        if missing.size and free.size >= missing.size:
            extra = np.sort(rng.choice(free, missing.size, replace=False))
            np_inv = np.concatenate([np_inv, extra])
            np_fam = np.concatenate([np_fam, missing])
    np_qty = np.empty(np_inv.size, dtype=np.int64)
    np_price = np.empty(np_inv.size, dtype=np.int64)
    for fam in range(len(NON_PRODUCT)):
        sel = np.flatnonzero(np_fam == fam)
        np_qty[sel] = rng.choice(np.array(_NP_QUANTITY[fam]), sel.size)
        spec = _NP_PRICE[fam]
        if spec[0] == -1:
            np_price[sel] = np.rint(
                np.exp(rng.normal(np.log(spec[1]), spec[2], sel.size))
            )
        else:
            np_price[sel] = rng.choice(np.array(spec, dtype=np.int64), sel.size)

    # ---- bad debt --------------------------------------------------------------------
    expected = config.bad_debt_rate * (n_pl + taken.size + np_inv.size)
    n_bad = int(np.floor(expected + rng.random()))
    if k == 0 and config.bad_debt_rate > 0:
        n_bad = max(n_bad, 1)
    b_minute = cal.minutes(rng.random(n_bad) * T)
    b_price = -np.rint(np.exp(rng.normal(np.log(800000.0), 0.6, n_bad))).astype(
        np.int64
    )

    # ---- assemble invoices: regular, cancellations, bad debt -------------------------
    i_minute = np.concatenate([r_minute, c_minute, b_minute])
    i_kind = np.concatenate(
        [
            np.zeros(n_regular, np.int8),
            np.ones(n_cancel, np.int8),
            np.full(n_bad, 2, np.int8),
        ]
    )
    i_cust = np.concatenate([r_cust, r_cust[c_of], np.full(n_bad, -1)])
    i_country = np.concatenate([r_country, r_country[c_of], np.zeros(n_bad, np.int64)])
    n_inv = i_minute.size
    inv_order = np.argsort(i_minute, kind="stable")
    inv_rank = np.empty(n_inv, dtype=np.int64)
    inv_rank[inv_order] = np.arange(n_inv)

    n_cat = cat.n_products
    a_inv = np.concatenate(
        [
            l_inv,
            np_inv,
            n_regular + line_c[taken],
            n_regular + n_cancel + np.arange(n_bad),
        ]
    )
    a_prod = np.concatenate(
        [
            l_prod,
            n_cat + np_fam,
            l_prod[taken],
            np.full(n_bad, n_cat + len(NON_PRODUCT)),
        ]
    )
    a_qty = np.concatenate([qty, np_qty, -qty[taken], np.ones(n_bad, np.int64)])
    a_price = np.concatenate([price, np_price, price[taken], b_price])
    a_rank = inv_rank[a_inv]
    line_order = np.argsort(a_rank, kind="stable")
    # exact duplicates, adjacent (bad-debt lines excluded)
    dup = rng.random(line_order.size) < config.duplicate_rate
    dup &= a_prod[line_order] != n_cat + len(NON_PRODUCT)
    line_order = np.repeat(line_order, 1 + dup.astype(np.int64))

    # ---- Arrow table -----------------------------------------------------------------
    numbers = FIRST_INVOICE + invoice_offset + np.arange(n_inv)
    prefix = pa.array(["", "C", "A"]).take(pa.array(i_kind[inv_order]))
    invoice_str = pc.binary_join_element_wise(
        prefix, pc.cast(pa.array(numbers), pa.string()), ""
    )
    ranks = a_rank[line_order]
    cust_of_line = i_cust[a_inv[line_order]]
    has_cust = cust_of_line >= 0
    cust_value = np.where(has_cust, cust_id[np.maximum(cust_of_line, 0)], 0).astype(
        np.float64
    )
    prod = pa.array(a_prod[line_order])
    when = (i_minute[a_inv[line_order]] * 60_000_000).astype("datetime64[us]")
    table = pa.Table.from_arrays(
        [
            invoice_str.take(pa.array(ranks)),
            cat.codes.take(prod),
            cat.descriptions.take(prod),
            pa.array(a_qty[line_order], pa.int64()),
            pa.array(when, pa.timestamp("us")),
            pa.array(a_price[line_order] / 100.0, pa.float64()),
            pa.array(cust_value, pa.float64(), mask=~has_cust),
            pa.array(COUNTRY_NAMES, pa.string()).take(
                pa.array(i_country[a_inv[line_order]])
            ),
        ],
        schema=SCHEMA,
    )
    return table, n_keep, n_inv, n_base


# ==================================================================================
# Internals: output helpers
# ==================================================================================
def _csv_columns(table: pa.Table) -> list[list]:
    """Columns of ``table`` as lists of CSV field values (None for empty)."""
    cents = np.rint(table.column("Price").to_numpy() * 100).astype(np.int64)
    sign = pa.array(np.where(cents < 0, "-", ""))
    absolute = np.abs(cents)
    price = pc.binary_join_element_wise(
        sign,
        pc.binary_join_element_wise(
            pc.cast(pa.array(absolute // 100), pa.string()),
            pc.utf8_lpad(pc.cast(pa.array(absolute % 100), pa.string()), 2, "0"),
            ".",
        ),
        "",
    )
    customer = table.column("Customer ID")
    customer_str = pc.binary_join_element_wise(
        pc.cast(pc.cast(customer, pa.int64()), pa.string()), pa.scalar(".0"), ""
    )
    when = pc.strftime(
        pc.cast(table.column("InvoiceDate"), pa.timestamp("s")),
        format="%Y-%m-%d %H:%M:%S",
    )
    return [
        table.column("Invoice").to_pylist(),
        table.column("StockCode").to_pylist(),
        table.column("Description").to_pylist(),
        table.column("Quantity").to_pylist(),
        when.to_pylist(),
        price.to_pylist(),
        customer_str.to_pylist(),
        table.column("Country").to_pylist(),
    ]


def _progress(lines: int, start: float) -> None:
    print(
        f"generate: {lines:,} lines, {time.perf_counter() - start:.1f} s",
        file=sys.stderr,
        flush=True,
    )


# ==================================================================================
# Command line
# ==================================================================================
def _positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1: {text!r}")
    return value


def _iso_date(text: str) -> str:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {text!r}") from None
    return text


_SUFFIX_FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point (``python -m clv_warehouse.generate``)."""
    parser = argparse.ArgumentParser(
        prog="python -m clv_warehouse.generate",
        description="Generate Online-Retail-II-shaped transaction lines "
        "(deterministic for a given seed).",
    )
    parser.add_argument("--out", required=True, type=Path, help="output file")
    parser.add_argument(
        "--format",
        choices=("csv", "parquet", "xlsx"),
        help="output format (default: from the file suffix)",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--customers", type=_positive_int, help="number of customers (default 3000)"
    )
    size.add_argument(
        "--lines", type=_positive_int, help="approximate number of lines to write"
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (42)")
    parser.add_argument("--start", type=_iso_date, default="2009-12-01")
    parser.add_argument("--end", type=_iso_date, default="2011-12-09")
    parser.add_argument("--change", choices=CHANGES, help="behaviour change")
    parser.add_argument(
        "--change-at", type=_iso_date, help="when the change starts (ISO date)"
    )
    parser.add_argument(
        "--customers-per-chunk",
        type=_positive_int,
        default=DEFAULT_CUSTOMERS_PER_CHUNK,
        help=f"customers generated per block ({DEFAULT_CUSTOMERS_PER_CHUNK})",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no per-chunk progress on stderr"
    )
    args = parser.parse_args(argv)

    fmt = args.format or _SUFFIX_FORMATS.get(args.out.suffix.lower())
    if fmt is None:
        parser.error(f"cannot tell the format from {args.out.name!r}; use --format")
    if (args.change is None) != (args.change_at is None):
        parser.error("--change and --change-at go together")
    try:
        config = GeneratorConfig(
            seed=args.seed,
            start=args.start,
            end=args.end,
            n_customers=args.customers or GeneratorConfig.n_customers,
            change=args.change,
            change_at=args.change_at,
        )
    except ValueError as exc:
        parser.error(str(exc))
    writer = {"csv": write_csv, "parquet": write_parquet, "xlsx": write_xlsx}[fmt]
    result = writer(
        args.out,
        config,
        target_lines=args.lines,
        customers_per_chunk=args.customers_per_chunk,
        progress=not args.quiet,
    )
    print(
        f"wrote {result.path}: {result.lines:,} lines, {result.customers:,} customers, "
        f"{result.invoices:,} invoices in {result.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    main()
