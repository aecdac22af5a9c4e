# CJS Exchange Hub. `make run` starts the hub with local Kafka and PostgreSQL and a demo;
# `make test` runs the whole suite against real services. Both install what they need.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install run test test-unit test-fast bench lint format lock system-deps clean

help:
	@echo "make run    - start Kafka, PostgreSQL, the API and a worker, feed a demo case"
	@echo "make test   - run the whole test suite against real Kafka and PostgreSQL"
	@echo "make bench  - run the benchmarks"
	@echo "make lint   - ruff and mypy"

# Debian packages a fresh machine may lack: Java and Maven for the Kafka broker, Node and npm
# for the CJS standing data, Chromium for the console's browser tests.
system-deps:
	@missing=""; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[dev]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm install --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

.cache/kafka-jars.ok: deploy/kafka/pom.xml | $(STAMP)
	$(BIN)/python -c "from exchange.devservices.kafka import ensure_jars; ensure_jars()"
	@mkdir -p .cache && touch $@

install: system-deps $(STAMP) node_modules/.installed .cache/kafka-jars.ok

run: install
	$(BIN)/exchange run

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

test-unit: install
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

bench: install
	$(BIN)/exchange bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy exchange adapters transforms

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Refresh the pinned versions after changing pyproject.toml's ranges.
lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf .run .pytest_cache .mypy_cache .ruff_cache
