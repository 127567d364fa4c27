# Hotline: `make run` starts the demo, `make test` runs every check CI runs.
# Both install what they need on a fresh Debian machine (apt packages only when missing).
# Python packages come only from the lock files in requirements/ (exact versions and hashes), so a
# fresh clone installs what was tested whatever the registries released since; `make lock` and
# `make lock-upgrade` are the only ways the locks change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PG_INITDB := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))

# The locks are written by uv (one static binary from PyPI, resolves for every platform at once);
# installing them needs nothing but the venv's own pip.
UV_VERSION := 0.13.10
LOCK_TOOLS := var/lock-tools
LOCK := $(LOCK_TOOLS)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes
# Without -q: pip names each package it fetches and installs, the first install's progress.
PIP_LOCKED := $(BIN)/pip install --disable-pip-version-check --require-hashes --no-deps
PIP_SELF := $(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .

.PHONY: run test check system-deps bench clean lock lock-upgrade

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
	@echo "creating the virtual environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)

# Hotline itself goes in editable, built with the locked setuptools (no build isolation, so
# nothing unlocked is fetched); `pip check` fails when pyproject.toml asks for what the lock lacks.
$(VENV)/.installed: requirements/run.lock pyproject.toml | $(VENV)/bin/python
	@echo "[1/3] installing Hotline's locked dependencies into $(VENV) (about a minute the first time)"
	$(PIP_LOCKED) -r requirements/run.lock
	@echo "[2/3] installing Hotline itself"
	$(PIP_SELF)
	@echo "[3/3] checking that the installed packages fit together"
	$(BIN)/pip check
	touch $@

$(VENV)/.test-installed: requirements/test.lock pyproject.toml | $(VENV)/bin/python
	@echo "[1/3] installing the locked dependencies and test tools into $(VENV)"
	$(PIP_LOCKED) -r requirements/test.lock
	@echo "[2/3] installing Hotline itself"
	$(PIP_SELF)
	@echo "[3/3] checking that the installed packages fit together"
	$(BIN)/pip check
	touch $(VENV)/.installed $@

$(LOCK_TOOLS)/bin/uv:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/pip install -q uv==$(UV_VERSION)

# After changing the dependencies in pyproject.toml: resolve again, keeping every pin that still fits.
lock: $(LOCK_TOOLS)/bin/uv
	cd requirements && ../$(LOCK) ../pyproject.toml build.in -o run.lock
	cd requirements && ../$(LOCK) ../pyproject.toml build.in --extra test -c run.lock -o test.lock

# On purpose only: take the newest releases pyproject.toml allows, then run `make test`.
lock-upgrade: $(LOCK_TOOLS)/bin/uv
	cd requirements && ../$(LOCK) --upgrade ../pyproject.toml build.in -o run.lock
	cd requirements && ../$(LOCK) --upgrade ../pyproject.toml build.in --extra test -c run.lock -o test.lock

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
