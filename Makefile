# clv-warehouse: `make run` builds everything on the bundled sample, `make test`
# runs every quality gate. Both create the virtualenv on first use.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SAMPLE := data/sample/online_retail_ii_sample.csv
export DBT_PROFILES_DIR := profiles
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help setup sample run backtest replay test lint sqlfluff pytest-fast dbt-ci pytest-slow clean \
	bench-setup bench

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@echo "==> creating $(VENV) with $(PYTHON) and installing pinned dependencies"
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	@$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

setup: $(STAMP)  ## create .venv and install the pinned dependencies

$(SAMPLE): src/clv_warehouse/generate.py | $(STAMP)
	@echo "==> generating the bundled sample (seeded, deterministic)"
	@$(BIN)/python -m clv_warehouse.generate --out $(SAMPLE)

sample: $(SAMPLE)  ## (re)generate the bundled Online-Retail-II-shaped sample

run: $(STAMP) $(SAMPLE)  ## build the whole warehouse on the bundled sample and publish it for BI
	@$(BIN)/python -m clv_warehouse.cli run

# make backtest: the CDNOW standard split by default; override any of these, e.g.
# make backtest BACKTEST_FORMAT=online_retail_ii BACKTEST_INPUT=$(SAMPLE) \
#   BACKTEST_CUTOFF=2011-03-01 BACKTEST_HOLDOUT_END=2011-12-09 BACKTEST_DATASET=sample
BACKTEST_FORMAT ?= cdnow
BACKTEST_INPUT ?= data/cdnow/CDNOW_master.txt
BACKTEST_CUTOFF ?= 1997-10-01
BACKTEST_HOLDOUT_END ?= 1998-06-30
BACKTEST_DATASET ?= cdnow_master
BACKTEST_DB ?= warehouse/backtest.duckdb

backtest: $(STAMP)  ## every CLV method against a holdout (CDNOW standard split by default)
	@CLV_DUCKDB_PATH=$(BACKTEST_DB) $(BIN)/dbt build --quiet --vars '{input_format: $(BACKTEST_FORMAT), input_path: "$(BACKTEST_INPUT)", backtest_cutoff: "$(BACKTEST_CUTOFF)", backtest_holdout_end: "$(BACKTEST_HOLDOUT_END)", dataset_name: "$(BACKTEST_DATASET)"}'
	@$(BIN)/python -m clv_warehouse.cli backtest-report --path $(BACKTEST_DB)

# make replay: the scheduled build at every month end of the sample's second year,
# on monthly batches with a churn wave from 2011-04-01 (state/replay/), then the
# retrain timeline. Pass options through REPLAY_ARGS, e.g.
# make replay REPLAY_ARGS="--change price_rise --change-at 2011-05-01"
REPLAY_ARGS ?=
replay: $(STAMP)  ## replay monthly builds with a behaviour change; print the retrain timeline
	@$(BIN)/python -m clv_warehouse.replay $(REPLAY_ARGS)

lint: $(STAMP)  ## ruff (lint + format check)
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .

sqlfluff: $(STAMP)  ## sqlfluff with the dbt templater on every SQL model and test (on an empty scratch warehouse, so every model lints its full-build branch)
	@mkdir -p target; rm -f target/sqlfluff.duckdb; status=0; \
		CLV_DUCKDB_PATH=target/sqlfluff.duckdb $(BIN)/sqlfluff lint models tests/dbt --processes 2 \
		> target/sqlfluff.log 2>&1 || status=$$?; \
		grep -vE 'leaked|nanobind|skipped remainder|refleaks' target/sqlfluff.log || true; \
		exit $$status

pytest-fast: $(STAMP) $(SAMPLE)
	@$(BIN)/pytest -m "not slow" -q

dbt-ci: $(STAMP) $(SAMPLE)  ## dbt build (all data and unit tests) on the sample, CI target
	@rm -f warehouse/ci.duckdb
	@$(BIN)/dbt build --target ci

pytest-slow: $(STAMP) $(SAMPLE)
	@$(BIN)/pytest -m slow -q; status=$$?; if [ $$status -eq 5 ]; then echo "no slow tests selected"; exit 0; fi; exit $$status

test: lint sqlfluff pytest-fast dbt-ci pytest-slow  ## every quality gate

# make bench: the benchmark suite (bench/run_bench.py), on demand only, never in
# `make test`. SIZES: 1M 10M 100M (or any <n>, <n>k, <n>M); STEPS: a subset of
# c,p,e,d,b,a (floor, project SQL, pandas, PySpark, marts build, full build).
SIZES ?= 1M
STEPS ?= c,p,e,d,b,a
BENCH_MEMORY_LIMIT ?= 8GB
BENCH_DBT_THREADS ?=  # empty: the profile's 2; 1 at 100M (see README)
BENCH_NOTE ?=
BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): bench/requirements.txt $(STAMP)
	@echo "==> installing the bench-only dependencies (PySpark) into $(VENV)"
	@$(BIN)/pip install --quiet --disable-pip-version-check -r bench/requirements.txt -c constraints.txt
	@command -v java >/dev/null || echo "warning: no java on PATH; PySpark (step d) needs Java 17 (apt-get install -y openjdk-17-jre-headless)"
	@touch $@

bench-setup: $(BENCH_STAMP)  ## install the bench-only dependencies (PySpark, bench/requirements.txt)

bench: $(BENCH_STAMP)  ## benchmark suite, e.g. make bench SIZES="1M 10M" (results in bench/results/)
	@$(BIN)/python bench/run_bench.py --sizes $(SIZES) --steps $(STEPS) \
		--memory-limit $(BENCH_MEMORY_LIMIT) --note "$(BENCH_NOTE)" \
		$(if $(strip $(BENCH_DBT_THREADS)),--dbt-threads $(strip $(BENCH_DBT_THREADS)))

clean:  ## remove build outputs (keeps .venv)
	rm -rf target logs warehouse/*.duckdb warehouse/*.wal warehouse/published data/sample
