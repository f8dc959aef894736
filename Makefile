# Everything a fresh machine needs comes from this file and pyproject.toml.
#   make run        set up and run the daemon on the bundled rules (state in state/watcher.db)
#   make test       set up and run the whole test suite (what CI runs)
#   make test-fast  the suite without the tests marked slow
#   make test-deps  system packages the tests use (Debian's chromium for the browser test)
#   make bench      the benchmark (bench/README.md): writes bench/RESULTS.md; BENCH_ARGS=--quick for a short check
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast test-deps validate clean bench bench-profile

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/watcher run

validate: $(BIN)/.installed
	$(BIN)/watcher validate

test-deps:
	bash scripts/test-deps.sh

test: $(BIN)/.installed test-deps
	$(BIN)/pytest

test-fast: $(BIN)/.installed
	$(BIN)/pytest -m "not slow"

$(BIN)/.bench-installed: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(BIN)/.bench-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-profile: $(BIN)/.bench-installed
	$(BIN)/python -m bench.profile $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
