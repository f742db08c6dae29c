# quant_assets — two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LOCK := requirements/lock.txt
TOOLS := .venv-tools
PROFILE ?= demo
export DAGSTER_HOME := $(CURDIR)/data/dagster_home
export QUANT_ASSETS_PROFILE ?= $(PROFILE)

.PHONY: demo test test-ui lint format ui mlflow-ui bench clean-data venv lock check-lowest

# Installs exactly the locked set (requirements/lock.txt), then the project without resolving
# anything else; `pip check` fails if the lock no longer satisfies pyproject.toml.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check
	@touch $(STAMP)

venv: $(STAMP)

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	@mkdir -p $(DAGSTER_HOME)
	@cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(PY) -m quant_assets.demo --profile $(PROFILE)

test: $(STAMP)
	$(PY) -m pytest -q -n 2 -p no:cacheprovider

# The Dagster UI in headless Chromium (installed from Debian packages when missing); screenshots
# under data/ui/.
test-ui: $(STAMP)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		($$(command -v sudo) apt-get update -q && DEBIAN_FRONTEND=noninteractive $$(command -v sudo) apt-get install -y -q chromium)
	$(PY) -m pytest -q -p no:cacheprovider -m ui quant_assets_tests/ui

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Refresh the lock: newest releases allowed by pyproject.toml (dependencies + the dev extra),
# for CPython 3.11 on Linux. Commit requirements/lock.txt after `make test` passes on it.
lock:
	@test -x $(TOOLS)/bin/uv || ($(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/pip install --quiet uv)
	$(TOOLS)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header \
		--upgrade -o $(LOCK)

ui: $(STAMP) $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# The MLflow UI over the profile's local tracking store (model selections, trials, registry).
mlflow-ui: $(STAMP)
	@mkdir -p data/$(PROFILE)/mlflow
	$(VENV)/bin/mlflow ui --host 127.0.0.1 --port 5000 \
		--backend-store-uri sqlite:///$(CURDIR)/data/$(PROFILE)/mlflow/mlflow.db

bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean-data:
	@echo "Generated data lives in data/; remove a profile with: rm -rf data/<profile>"

# The lower bounds in pyproject.toml hold: the oldest allowed release of every direct dependency,
# installed side by side in .venv-lowest, passes the test suite.
check-lowest:
	@test -x $(TOOLS)/bin/uv || ($(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/pip install --quiet uv)
	$(TOOLS)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 --no-header \
		--resolution lowest-direct -o $(TOOLS)/lowest.txt
	$(TOOLS)/bin/uv venv --allow-existing -p $(PYTHON) .venv-lowest
	VIRTUAL_ENV=.venv-lowest $(TOOLS)/bin/uv pip install -r $(TOOLS)/lowest.txt
	VIRTUAL_ENV=.venv-lowest $(TOOLS)/bin/uv pip install --no-deps -e .
	.venv-lowest/bin/python -m pytest -q -n 2 -p no:cacheprovider
