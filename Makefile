# supportbot — one entry point for every routine task.
#   make run    install what is missing, train if needed, index the KB, serve http://127.0.0.1:8000
#   make test   install what is missing, then run the whole test suite (CI runs exactly this)
#   make bench  knowledge-base quality/latency benchmark (writes bench/results/*.json)
#   make bench-load  the whole hub (real Rasa, KB, SQLite) under concurrent web-chat customers
#   make bench-hubs  1/2/3 hubs on PostgreSQL + Redis (stand-in Rasa) and a hub killed under load
#   make lint   ruff + mypy

SHELL := /bin/bash
PYTHON ?= python3.11
# Rasa 3.6 needs Python 3.10: `python3.10` if it runs, else pyenv's 3.10; override with RASA_PYTHON=...
RASA_PYTHON ?= $(shell for p in python3.10 $$HOME/.pyenv/versions/3.10*/bin/python3.10 /usr/bin/python3.10; do \
	$$p -c 'import sys; assert sys.version_info[:2]==(3,10)' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
RASA_VENV := .venv-rasa
RASA_VERSION := 3.6.21

.PHONY: install run test bench bench-load lint train index browser clean

install: $(VENV)/.installed $(RASA_VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@echo "==> project environment ($(VENV), $(PYTHON))"
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --progress-bar on -q --upgrade pip
	$(VENV)/bin/pip install --progress-bar on -q torch==2.13.0
	$(VENV)/bin/pip install --progress-bar on -q -e '.[dev]'
	touch $@

$(RASA_VENV)/.installed:
	@test -n "$(RASA_PYTHON)" || { echo "Python 3.10 not found: set RASA_PYTHON=/path/to/python3.10"; exit 1; }
	@echo "==> Rasa environment ($(RASA_VENV), $(RASA_PYTHON), rasa==$(RASA_VERSION))"
	test -d $(RASA_VENV) || $(RASA_PYTHON) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/pip install --progress-bar on -q rasa==$(RASA_VERSION)
	touch $@

# Headless Chromium for the browser tests (Debian's package; Playwright never downloads a browser).
browser:
	@test -x /usr/bin/chromium || { command -v apt-get >/dev/null && \
		(apt-get update -q && apt-get install -y -q chromium) || echo "chromium not installed: browser tests will fail"; }

train: install
	$(VENV)/bin/supportbot train

index: install
	$(VENV)/bin/supportbot kb index

run: install
	$(VENV)/bin/supportbot run

test: install browser
	$(VENV)/bin/python -m pytest -q --durations=25

bench: install
	$(VENV)/bin/python bench/kb_banking77.py

bench-load: install
	$(VENV)/bin/python bench/e2e_load.py

bench-hubs: install
	$(VENV)/bin/python bench/hubs.py

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy

clean:
	rm -rf var/models var/kb-index var/*.db
