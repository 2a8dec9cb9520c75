# Quick start: `make demo`, `make test`. Both create .venv and install what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-finger bench-service bench-bulk clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "prum-matcher needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/matcher demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/dna_search.py --profiles 2000000 --queries 1000
	$(BIN)/python benchmarks/vehicle_lookup.py --records 10000000

# Long runs (tens of minutes at full size); each prints its contract line last.
bench-finger: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/finger_search.py --gallery 100000

bench-service: $(STAMP)
	$(BIN)/python benchmarks/service_load.py --profiles 1000000

bench-bulk: $(STAMP)
	$(BIN)/python benchmarks/dna_bulk.py --n 1000000 --m 1000000

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
