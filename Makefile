# The two commands: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q
# A stamp per requirement set, named by its checksum: a changed pin reinstalls, an unchanged one does not.
RUN_STAMP := $(VENV)/.installed-run-$(shell cat requirements.txt | cksum | cut -d' ' -f1)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test venv bench clean

# What running needs (requirements.txt) ...
$(RUN_STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	rm -f $(VENV)/.installed-run-* && touch $(RUN_STAMP)

# ... and the test and lint tools on top (requirements-dev.txt includes requirements.txt).
$(DEV_STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(DEV_STAMP) $(RUN_STAMP)

## make venv — a developer's environment: the runtime and the dev tools
venv: $(DEV_STAMP)

## make run — migrate the database, load the seeds, start gunicorn and the scheduler (Ctrl-C stops both)
run: $(RUN_STAMP)
	VENV=$(VENV) scripts/run.sh

## make test — ruff, then the whole suite on SQLite and on PostgreSQL (required when CI=true)
test: $(DEV_STAMP)
	VENV=$(VENV) scripts/test.sh

## make bench — the service against a reference app under the same gunicorn settings (needs PostgreSQL and wrk)
bench: $(DEV_STAMP)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.run --floors

clean:
	rm -rf $(VENV) .pytest_cache
