# deploytrail: `make demo` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: demo test lint bench generate clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m compileall -q src
	rm -f $(VENV)/.installed-*; touch $@

demo: $(STAMP)
	$(PY) demo/run_demo.py

test: $(STAMP)
	$(VENV)/bin/ruff check src tests bench demo
	$(VENV)/bin/mypy
	$(PY) -m deploytrail metarunners --check
	$(PY) -m deploytrail docs --check
	$(PY) -m deploytrail kibana --check
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench demo
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/run.py

generate: $(STAMP)
	$(PY) -m deploytrail metarunners
	$(PY) -m deploytrail docs
	$(PY) -m deploytrail kibana

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info
