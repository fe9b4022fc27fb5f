# MCP Gateway. `make run` and `make test` work on a fresh machine: they create .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PROTO_FILES := $(shell find proto -name '*.proto')

.PHONY: run test lint typecheck layers proto proto-check openapi openapi-check bench clean install

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/mcpgw dev

proto: $(STAMP)
	$(BIN)/python -m shared.wire.generate

proto-check: $(STAMP)
	$(BIN)/python -m shared.wire.generate --check

openapi: $(STAMP)
	$(BIN)/python -m control_plane.openapi

openapi-check: $(STAMP)
	$(BIN)/python -m control_plane.openapi --check

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy control_plane data_plane shared mcpgw bench

layers: $(STAMP)
	$(BIN)/lint-imports

test: lint typecheck layers proto-check openapi-check
	$(BIN)/python -m pytest -q

# Benchmarks: BENCH_DURATION=<seconds per point> (default 5), BENCH_QUICK=1 for a tiny smoke run.
# Installs wrk and nginx with apt-get when they are missing and it runs as root; fails otherwise.
bench: $(STAMP)
	BENCH_DURATION=$(BENCH_DURATION) BENCH_QUICK=$(BENCH_QUICK) $(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
