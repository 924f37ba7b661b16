# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-fast faults lint format check lock manage clean-data help bench-import bench-kpis bench-web bench-qbr bench-load schemathesis

help:
	@echo "make run      start the portal on http://127.0.0.1:8000 (embedded PostgreSQL and Redis)"
	@echo "make test     run the whole test suite against real PostgreSQL and Redis"
	@echo "make test-fast  the tests that need no database, for the edit loop (under a minute)"
	@echo "make faults   kill workers, restart Redis, drop database connections mid-job (RELIABILITY.md)"
	@echo "make install  create .venv and install the locked dependencies"
	@echo "make fuzz     the parser and clock properties with many more examples (FUZZ_EXAMPLES=5000)"
	@echo "make lint     ruff check + format check + mypy on the pure modules + migrations check"
	@echo "make manage ARGS='apply_contract FILE'   any manage.py command with the services up"
	@echo "make bench-import   a million-row export and a 5-million-update event log imported (benchmarks/RESULTS.md)"
	@echo "make bench-kpis     clocks and KPI recompute on the same million tickets"
	@echo "make bench-web      dashboard and ticket list under 20 concurrent users"
	@echo "make bench-qbr      the demo client's QBR PDF with a warm worker"
	@echo "make bench-load     50 users on dashboards and ticket lists during a 200,000-row import"
	@echo "make schemathesis   the API against its schema with more examples than the suite's"

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (found %d.%d); set PYTHON=/path/to/python3.11" % sys.version_info[:2])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $(STAMP)

run: install
	$(BIN)/python -m msp_portal.devstack run

test: install
	$(BIN)/python -m msp_portal.devstack test $(ARGS)

# The edit loop: the tests that need no database (clocks, formulas, parsers, rules, charts,
# properties), in well under a minute. `make test` is still the whole suite.
test-fast: install
	$(BIN)/python -m msp_portal.devstack test -m "no_database and not faults" $(ARGS)

# The hypothesis properties of the readers, parsers and the SLA clock, with the `fuzz` profile
# (tests/conftest.py): FUZZ_EXAMPLES examples per property instead of the suite's few hundred.
FUZZ_EXAMPLES ?= 5000
.PHONY: fuzz
fuzz: install
	HYPOTHESIS_PROFILE=fuzz FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		$(BIN)/python -m msp_portal.devstack test tests/test_fuzz_parsers.py $(ARGS)

# Faults injected into real processes (tests/faults/): each test starts its own Redis,
# workers, beat and web server, and kills or restarts them mid-job. About three minutes.
faults: install
	RUN_FAULTS=1 $(BIN)/python -m msp_portal.devstack test -m faults tests/faults $(ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m msp_portal.devstack manage makemigrations --check --dry-run

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

manage: install
	$(BIN)/python -m msp_portal.devstack manage $(ARGS)

# Benchmarks: ratios against a baseline measured in the same run, appended to benchmarks/RESULTS.md.
bench-import: install
	$(BIN)/python -m msp_portal.devstack script benchmarks/bench_import.py $(ARGS)

bench-kpis: install
	$(BIN)/python -m msp_portal.devstack script benchmarks/bench_kpis.py $(ARGS)

bench-web: install
	$(BIN)/python -m msp_portal.devstack script benchmarks/bench_web.py $(ARGS)

bench-qbr: install
	$(BIN)/python -m msp_portal.devstack script benchmarks/bench_qbr.py $(ARGS)

bench-load: install
	$(BIN)/python -m msp_portal.devstack script benchmarks/bench_load.py $(ARGS)

# The suite runs tests/test_api_schema.py with 25 examples per operation; this runs it with more
# (SCHEMATHESIS_MAX_EXAMPLES=1000 make schemathesis for longer still).
SCHEMATHESIS_MAX_EXAMPLES ?= 200
schemathesis: install
	SCHEMATHESIS_MAX_EXAMPLES=$(SCHEMATHESIS_MAX_EXAMPLES) \
		$(BIN)/python -m msp_portal.devstack test tests/test_api_schema.py $(ARGS)

# Re-resolve every dependency from pyproject.toml into requirements.lock (exact pins).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --disable-pip-version-check \
		$$($(PYTHON) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; print(" ".join(repr(d) for d in p["dependencies"] + p["optional-dependencies"]["dev"]))' | tr -d "'")
	( echo "# Exact versions for a reproducible install: regenerate with 'make lock'."; \
	  .lock-venv/bin/python -m pip freeze --disable-pip-version-check | LC_ALL=C sort ) > requirements.lock
	rm -rf .lock-venv

# Deletes the embedded database and broker data (the demo is loaded again on the next run).
clean-data:
	rm -rf .data
