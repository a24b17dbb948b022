# Two commands do all set-up on a fresh machine:
#   make run    start the dashboard on the demo district (builds it on first start)
#   make test   run the whole test suite (SQLite always; PostgreSQL when FANGCANG_TEST_PG_URL is set)
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test lint bench demo

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m streamlit run serve.py --server.port $(PORT)

test: $(VENV)/.installed
	bash scripts/ensure-chromium.sh
	$(VENV)/bin/ruff check --quiet . && $(VENV)/bin/ruff format --check --quiet .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: $(VENV)/.installed
	$(PY) -m bench

demo: $(VENV)/.installed
	$(PY) -m fangcang demo --scale full
