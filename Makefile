# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint bench clean system-deps

# (Re)install when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

## run: SQLite ./duban.db + sandbox + demo county, on http://127.0.0.1:8000
run: $(VENV)/.installed
	$(BIN)/duban init
	$(BIN)/duban demo
	$(BIN)/duban serve --host $(HOST) --port $(PORT)

# Debian's Chromium and a CJK font for the dashboard's browser tests (never a browser
# download). Needs root; otherwise it says what to install.
system-deps:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "cjk" || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	  else \
	    echo "note: install Debian's chromium and fonts-noto-cjk for the browser tests (sudo apt-get install chromium fonts-noto-cjk)"; \
	  fi; }

## test: lint, the layer contracts, types, then the whole suite on SQLite, PostgreSQL and MariaDB
test: $(VENV)/.installed system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest

## bench: every benchmark (several minutes; the broadcast one waits out real 60 s windows)
bench: $(VENV)/.installed
	$(BIN)/python -m bench.bench_schedule
	$(BIN)/python -m bench.bench_ranking
	$(BIN)/python -m bench.bench_ledger_import
	$(BIN)/python -m bench.bench_hostile
	$(BIN)/python -m bench.bench_callbacks
	$(BIN)/python -m bench.bench_ledger
	$(BIN)/python -m bench.bench_delivery

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
