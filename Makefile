# quant_assets — two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= demo
export DAGSTER_HOME := $(CURDIR)/data/dagster_home
export QUANT_ASSETS_PROFILE ?= $(PROFILE)

.PHONY: demo test ui bench clean-data venv

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	@cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m quant_assets.demo --profile $(PROFILE)

test: $(STAMP)
	$(PY) -m pytest -q -n 2 -p no:cacheprovider

ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean-data:
	@echo "Generated data lives in data/; remove a profile with: rm -rf data/<profile>"
