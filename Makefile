# The two commands: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run test venv bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

## make run — migrate the database, load the seeds, start gunicorn and the scheduler (Ctrl-C stops both)
run: venv
	VENV=$(VENV) scripts/run.sh

## make test — the whole suite, on SQLite and on PostgreSQL (required when CI=true)
test: venv
	VENV=$(VENV) scripts/test.sh

## make bench — the service against a reference app under the same gunicorn settings (needs PostgreSQL and wrk)
bench: venv
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache
