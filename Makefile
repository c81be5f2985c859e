# CareRoute developer entry points. Run `make install` once, then `make run`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= config/careroute.yaml
# Test-bed Asterisk reachable only on loopback; see careroute/testbed.py.
PYTEST_ARGS ?=

.PHONY: install model testbed run test unit integration lint typecheck eval bench clean

install: $(BIN)/careroute model

$(BIN)/careroute: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

model: $(BIN)/careroute
	$(BIN)/careroute model

testbed: $(BIN)/careroute
	$(BIN)/careroute testbed run

run: $(BIN)/careroute
	$(BIN)/careroute ari --config $(CONFIG)

test: $(BIN)/careroute
	$(BIN)/ruff check careroute ari_app agi tests
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

unit: $(BIN)/careroute
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: $(BIN)/careroute
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

lint: $(BIN)/careroute
	$(BIN)/ruff check careroute ari_app agi tests

typecheck: $(BIN)/careroute
	$(BIN)/mypy

eval: $(BIN)/careroute
	$(BIN)/careroute eval --manifest ../shared/data/dev-calls/manifest.jsonl

bench: $(BIN)/careroute
	$(BIN)/careroute bench

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
