# Set-up and everyday commands. `make run` and `make test` do everything on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install prepare run test bench lock clean

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	$(BIN)/python -m maps.vendor_assets
	$(BIN)/python -m api.docs_assets
	touch $(STAMP)

install: $(STAMP)

prepare: install
	$(BIN)/asih prepare

run: prepare
	$(BIN)/asih serve --host $(HOST) --port $(PORT)

# Two pytest-xdist workers, one test file at a time each (its module fixtures stay in one process), the slow packages
# first in collection order (tests/conftest.py: SLOW_FIRST) so both end together: on 2 cores about half the time of
# one process. TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= 2
test: prepare
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

bench: prepare
	$(BIN)/python bench/run_all.py

lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) data/cache
