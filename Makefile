# careflow: `make run` (the broker, every service and a demonstration) and `make test` (the suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install system-deps run test test-unit faults bench clean console-assets console-catalogue

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# Java 17 and Maven run the broker; PostgreSQL (Debian's package) is the production store the tests cover;
# Chromium and its driver run the console's browser tests.
system-deps:
	@missing=""; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	command -v mvn >/dev/null || missing="$$missing maven"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	test -x /usr/bin/chromedriver || missing="$$missing chromium chromium-driver"; \
	if [ -n "$$missing" ]; then \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  echo "installing$$missing from Debian's packages"; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

run: install system-deps
	$(BIN)/careflow up --demo

test: install system-deps
	$(BIN)/python -m pytest -q

test-unit: install
	$(BIN)/python -m pytest -q tests/unit

# Every fault scenario, the 3-node cluster's too (a few minutes).
faults: install system-deps
	$(BIN)/python -m pytest -q -s -m 'faults or integration' tests/integration/test_faults.py

# The bench's peer (quix-streams) is an extra of its own: neither the services nor `make test` need it.
# One part or smaller sizes: make bench BENCH_ARGS="--only leads --rows 200000" (python -m tests.bench -h).
# valgrind (Debian's package) counts the instructions of part 6.
bench: install system-deps
	@command -v valgrind >/dev/null || { sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq valgrind >/dev/null; }
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

# The console's front-end assets: pinned npm packages (package-lock.json), copied into the package
# and committed, so that the console needs no internet and no npm at run time.
console-assets:
	cd shared/console/assets && npm ci --no-audit --no-fund && \
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/chart.js/dist/chart.umd.js ../static/

# The console's Vietnamese catalogue: new messages of the pages merged in, then compiled.
console-catalogue: install
	cd shared/console && ../../$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ --no-location -o locale/messages.pot . && \
	../../$(BIN)/pybabel update -i locale/messages.pot -d locale -D messages --no-wrap --ignore-obsolete --no-fuzzy-matching && \
	../../$(BIN)/pybabel compile -d locale -D messages && rm locale/messages.pot

clean:
	rm -rf $(VENV) var .pytest_cache
