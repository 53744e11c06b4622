# 党建工作台 — make run / make test / make bench / make install / make bundle / make test-bundle
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501
PLATFORM ?= x86_64
PYVER ?= 3.11

.PHONY: install run lint test test-fast bench clean-venv bundle bundle-check test-bundle

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

run: install
	$(BIN)/python -m dangjian_core db prepare
	$(BIN)/streamlit run app.py --server.port=$(PORT) --server.address=127.0.0.1

# ruff (pyflakes, pycodestyle, import order, bugbear, pyupgrade) over everything; mypy --strict over dangjian_core
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# two workers (pytest-xdist), whole files each (a module's tests keep their order and fixtures);
# browser tests take no screenshots for people here (a failed one still leaves FAILED-*.png)
test: install lint
	DANGJIAN_SHOTS_OFF=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder

test-fast: install
	$(BIN)/python -m pytest -m "not e2e"

bench: install
	$(BIN)/python -m bench

clean-venv:
	rm -rf $(VENV)

# Offline install bundle for the office's intranet: dist/dangjian-<version>-linux-$(PLATFORM).tar.gz
# (PLATFORM=x86_64|aarch64, PYVER = the target's Python). Needs PyPI once; wheels are cached.
bundle: install
	$(BIN)/python deploy/build_bundle.py --platform $(PLATFORM) --python $(PYVER)

# Does every locked runtime package have a wheel for PLATFORM? (reads the index, no download)
bundle-check: install
	$(BIN)/python deploy/build_bundle.py --check --platform $(PLATFORM) --python $(PYVER)

# Build the x86_64 bundle, install it with no network in a fresh directory, start it, log in;
# check the aarch64 bundle is complete.
test-bundle: install
	$(BIN)/python -m pytest -q deploy/test_bundle.py
