# One venv, one set of commands: the same ones the README, the Procfile and CI use.
# `make run` installs requirements.txt only; test, lint, format, eval and bench add requirements-dev.txt.
VENV    ?= .venv
PYTHON  := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run-$(shell cat requirements.txt | sha1sum | cut -c1-12)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
# pip byte-compiles every file it installs, one after another: half of a first install's time. compileall
# does it on every core and skips test suites and plotly (the service serves its bundled plotly.min.js
# and runs none of its 17 MB of Python); Python compiles anything else it imports when it first does.
PIP     := $(PYTHON) -m pip install --quiet --disable-pip-version-check --no-compile
COMPILE := $(PYTHON) -m compileall -q -j 0 -x '/(tests?|plotly)/' $(VENV)/lib
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install install-dev run test lint format eval bench bench-stats replay clean

$(RUN_STAMP):
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PIP) -r requirements.txt
	$(COMPILE)
	rm -f $(VENV)/.installed-run-* && touch $@

$(DEV_STAMP):
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PIP) -r requirements-dev.txt
	$(COMPILE)
	rm -f $(VENV)/.installed-* && touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)

install-dev: $(DEV_STAMP)

# webapp/devserver.py: with DATABASE_URL unset, the embedded PostgreSQL under instance/ first; then the
# migrations and the Procfile's web, worker and beat (honcho). One Ctrl-C stops them all and exits 0.
run: install
	@echo ""
	@echo "  Starting on http://localhost:8000: the embedded PostgreSQL (while DATABASE_URL is unset), the"
	@echo "  migrations, then web + worker + beat. Ready when it prints"
	@echo "  '==> ready in N s: http://127.0.0.1:8000/health answers 200'."
	@echo "  This machine only: bound to 127.0.0.1 (gunicorn.conf.py), and with ADMIN_API_KEYS unset only the"
	@echo "  Host names localhost, 127.0.0.1 and [::1] are answered (ALLOWED_HOSTS changes that)."
	@echo "  Try:  curl -X POST localhost:8000/models -H 'Content-Type: application/json' -d '{\"name\": \"sentiment\", \"version\": \"1.0.0\"}'"
	@echo "  One Ctrl-C stops web, worker, beat and the database."
	@echo ""
	$(PYTHON) -m webapp.devserver

test: install-dev
	$(PYTHON) -m pytest

lint: install-dev
	ruff check .
	ruff format --check .

format: install-dev
	ruff format .
	ruff check --fix .

eval: install-dev
	$(PYTHON) -m bench.eval

bench: install-dev
	$(PYTHON) -m bench.throughput
	$(PYTHON) -m bench.inference_cost

bench-stats: install-dev
	$(PYTHON) -m bench.stats_refresh

# Needs the service up (make run, in another terminal). Replays both human-rated dev sets.
REPLAY_URL ?= http://127.0.0.1:8000
replay: install
	flask --app wsgi replay --url $(REPLAY_URL) --setup --feedback --model sentiment --rate 300 --users 2000

clean:
	rm -rf instance .pytest_cache bench/results/*.tmp
