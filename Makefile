# Everything a fresh machine needs comes from this file and pyproject.toml.
#   make run        set up and run the daemon on the bundled rules (state in state/watcher.db)
#   make test       set up and run the whole test suite (what CI runs)
#   make test-fast  the suite without the tests marked slow
#   make test-faults  the fault-injection suite (hostile feeds, crashes, full disks, outages)
#   make test-deps  system packages the tests use (Debian's chromium for the browser test)
#   make docs       write docs/commands.md from the commands' --help (a test fails when it is out of date)
#   make bench      the benchmark (bench/README.md): writes bench/RESULTS.md; BENCH_ARGS=--quick for a short check
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast test-faults test-deps validate docs clean bench bench-profile

# the daemon needs only the package; the tests add their tools (pytest, aiosmtpd, datasette, ...)
$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(BIN)/.test-installed: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/watcher run

validate: $(BIN)/.installed
	$(BIN)/watcher validate

docs: $(BIN)/.installed
	$(BIN)/python -m watcher.cli.reference docs/commands.md

test-deps:
	bash scripts/test-deps.sh

test: $(BIN)/.test-installed test-deps
	$(BIN)/pytest

test-fast: $(BIN)/.test-installed
	$(BIN)/pytest -m "not slow"

test-faults: $(BIN)/.test-installed test-deps
	$(BIN)/pytest tests/test_faults_*.py tests/test_crash.py tests/test_lifecycle.py tests/test_ruleset_fuzz.py \
		tests/test_text.py tests/test_delivery.py tests/test_channels.py tests/test_browser.py

$(BIN)/.bench-installed: $(BIN)/.test-installed
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(BIN)/.bench-installed
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-profile: $(BIN)/.bench-installed
	$(BIN)/python -m bench.profile $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
