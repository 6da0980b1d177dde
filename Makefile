# Two commands a newcomer needs: `make demo` (the main job) and `make test` (what CI runs).
# Both bootstrap .venv from pyproject.toml on first use; nothing else has to be installed by hand.
# `make quick` is the developer's fast loop: the tests not marked slow, in under a minute.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test quick lint types unit browser bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "callbacksim needs Python 3.11 or newer: set PYTHON=python3.11 (or newer) and run make again")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/callbacksim run --html out/report.html

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -n auto -q

test: lint types browser unit

# The report's browser test needs Chromium. Debian's package is installed where we may (root with
# apt, as in CI); elsewhere that one test skips and says why. Never fails the build by itself.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "installing Debian's chromium for the report's browser test"; \
	      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 || \
	      echo "could not install chromium: the browser test will be skipped"; \
	    else echo "no chromium and not root: the browser test will be skipped"; fi; }

quick: $(STAMP)
	$(BIN)/pytest -n auto -q -m "not slow"

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build .mypy_cache .pytest_cache .ruff_cache .hypothesis
