# Hotline: `make run` starts the demo, `make test` runs every check CI runs.
# Both install what they need on a fresh Debian machine (apt packages only when missing).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PG_INITDB := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))

.PHONY: run test check system-deps bench clean

run: $(VENV)/.installed
	$(BIN)/hotline demo

test: system-deps $(VENV)/.test-installed
	@set -e; scripts/test-services.sh start; trap 'scripts/test-services.sh stop' EXIT; \
	$(MAKE) --no-print-directory check

check:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -q -p no:cacheprovider

# PostgreSQL and Redis for the throwaway test services, Chromium for the browser tests.
system-deps:
	@missing=""; \
	[ -n "$(PG_INITDB)" ] || missing="$$missing postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

bench: $(VENV)/.test-installed
	$(BIN)/python bench/ami_ingest.py
	$(BIN)/python bench/screen_pop_latency.py
	$(BIN)/python bench/tickets.py
	$(BIN)/python bench/wallboard_fanout.py
	$(BIN)/python bench/dialer_sim.py
	$(BIN)/python bench/agi_sessions.py
	$(BIN)/python bench/kb_search.py
	$(BIN)/python bench/escalation_sweep.py
	$(BIN)/python bench/reports.py

clean:
	rm -rf $(VENV) var/test .mypy_cache .ruff_cache .pytest_cache
