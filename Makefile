# Two commands do all set-up: `make test` and `make demo`. Both are idempotent.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHROMIUM := /usr/bin/chromium
PG_URL := postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: install test lint types pytest demo clean chromium

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall when the project metadata changes or a top-level package appears (an editable
# install maps the packages that exist when it runs).
TOP_PACKAGES := $(wildcard */__init__.py)

$(STAMP): pyproject.toml $(TOP_PACKAGES) | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  echo "Installing Debian's chromium (browser downloads are not used)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk poppler-utils; \
	fi

install: $(STAMP) chromium

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy --strict on the product packages (tests are not type-checked)
PRODUCT := $(wildcard rightswatch crawler matching evidence sandbox scheduler.py)

types: install
	$(VENV)/bin/mypy $(PRODUCT)

pytest: install
	@if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then \
	  export RIGHTSWATCH_TEST_POSTGRES_URL=$${RIGHTSWATCH_TEST_POSTGRES_URL:-$(PG_URL)}; \
	fi; \
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint types pytest

demo: install
	$(PY) -m sandbox.demo

clean:
	rm -rf $(VENV) rightswatch-data .demo
