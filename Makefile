# Miliê: make install | up | test | lint | format | bench | faults | browser | clean
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
# A recipe is one bash script: the test recipe's trap must outlive its lines.
.ONESHELL:

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT := apt-get -o DPkg::Lock::Timeout=600
# `make test` runs the tests in this many processes (pytest-xdist), each on databases, broker
# namespaces and ports of its own: most tests wait on the servers or the browser more than they
# compute. A test file goes to one process whole (--dist loadfile). Two, not three: three held
# up to 103 PostgreSQL connections at once (max_connections is 100 on a new machine) and were no
# faster on two cores. PYTEST_WORKERS=0: in one.
PYTEST_WORKERS ?= 2

# Sets DATABASE_URL and AMQP_URL from ensure-infra.sh for the rest of the recipe, and on exit
# (failure or Ctrl-C included, exit code kept) stops the private servers that this run started,
# not those it found running.
define with_infra
started=$$(mktemp)
trap '[[ -s $$started ]] && deploy/local/stop-infra.sh $$(cat "$$started"); rm -f "$$started"' EXIT
trap 'exit 130' INT TERM
infra=$$(MILIE_INFRA_STARTED="$$started" deploy/local/ensure-infra.sh)
while IFS= read -r line; do export "$$line"; done <<<"$$infra"
endef

.PHONY: install browser up test lint format bench faults clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	if ! python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
		echo "make install: python3 must be Python 3.11, it is $$(python3 --version 2>&1)" >&2
		exit 1
	fi
	[[ -x $(BIN)/python ]] || python3 -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install --require-hashes -r requirements.lock
	$(BIN)/pip install --no-deps -e .
	touch $@

browser:
	@if [[ -x /usr/bin/chromium ]]; then exit 0; fi
	if (( EUID != 0 )); then
		echo "make browser: /usr/bin/chromium is missing; install Debian's chromium (as root: apt-get install chromium)" >&2
		exit 1
	fi
	$(APT) update
	$(APT) install -y chromium

# The fault campaign (bench/faults.py) on private PostgreSQL and RabbitMQ servers it starts, kills
# and restarts itself; nftables cuts one service off the broker (installed here when missing).
faults: $(STAMP)
	if ! command -v nft >/dev/null && (( EUID == 0 )); then
		$(APT) update
		$(APT) install -y nftables
	fi
	$(BIN)/python -m bench.faults $(FAULTS_ARGS)

up: $(STAMP)
	$(BIN)/python -m deploy.local.up

test: $(STAMP) browser
	$(with_infra)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m shared.messages --check
	$(BIN)/python -m shared.lifecycle --check
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(with_infra)
	$(BIN)/python -m bench.load

clean:
	deploy/local/stop-infra.sh
	rm -rf .run
