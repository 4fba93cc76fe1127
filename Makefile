# Guild: `make run` serves the demo, `make test` runs every test. Both create .venv when missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
WORKERS ?= 2

.PHONY: run test test-heavy lint audit format bench-load clean install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files re-run the install whenever pyproject.toml changes.
$(VENV)/.installed-app: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,bench]'
	@touch $@ $(VENV)/.installed-test $(VENV)/.installed-app

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.installed-app

install: $(VENV)/.installed-app

run: $(VENV)/.installed-app
	$(BIN)/flask db upgrade
	$(BIN)/flask seed demo --if-empty
	$(BIN)/flask search rebuild --if-missing
	exec $(BIN)/gunicorn --config gunicorn.conf.py --bind 127.0.0.1:$(PORT) --workers $(WORKERS) 'wsgi:app'

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-heavy: $(VENV)/.installed-test
	GUILD_HEAVY=1 $(BIN)/python -m pytest -m heavy $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# Supply chain: known-vulnerable dependencies (pip-audit; warns instead of failing where PyPI's
# vulnerability data cannot be reached, unless AUDIT_STRICT=1) and bandit on the app's code
# with the reviewed exceptions in pyproject.toml [tool.bandit].
audit: $(VENV)/.installed-test
	$(BIN)/python .ci/pip_audit_check.py
	$(BIN)/bandit -q -r marketplace -c pyproject.toml

format: $(VENV)/.installed-test
	$(BIN)/ruff format marketplace tests bench

# Load benchmark (bench/README.md, "Load"): 10,000 organisations, 2,000 tenders, 50 users for
# 2 minutes against gunicorn on loopback. LOAD_ARGS="--database-url postgresql+psycopg://..."
bench-load: $(VENV)/.installed-bench
	$(BIN)/python bench/load_bench.py $(LOAD_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
