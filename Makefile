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

test: prepare
	$(BIN)/python -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

bench: prepare
	$(BIN)/python bench/run_all.py

lock:
	$(BIN)/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) data/cache
