# 党建工作台 — make run / make test / make bench / make install
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501

.PHONY: install run test test-fast bench clean-venv

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

run: install
	$(BIN)/python -m dangjian_core db prepare
	$(BIN)/streamlit run app.py --server.port=$(PORT) --server.address=127.0.0.1

test: install
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -m "not e2e"

bench: install
	$(BIN)/python -m bench

clean-venv:
	rm -rf $(VENV)
