# The two quick-start commands are `make demo` and `make test`; both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench hostile ui clean-demo

$(BIN)/acav-assets: pyproject.toml requirements-nodeps.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

demo: $(BIN)/acav-assets
	HF_HUB_OFFLINE=1 $(BIN)/acav-assets demo

test: $(BIN)/acav-assets
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

# The cost of every stage of the lite graph in one run (audio-s per wall-s, ratio to naive baselines).
bench: $(BIN)/acav-assets
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/bench_pipeline.py

# Broken audio, broken manifests, a fault-injecting LLM endpoint and outages, through the CLI:
# prints the counts that must all be zero.
hostile: $(BIN)/acav-assets
	HF_HUB_OFFLINE=1 $(BIN)/python -m acav_assets_tests.hostile_run

ui: $(BIN)/acav-assets
	DAGSTER_HOME=$(CURDIR)/acav_demo/dagster_home ACAV_DATA_ROOT=$(CURDIR)/acav_demo $(BIN)/dg dev

clean-demo:
	rm -rf acav_demo
