# One venv, one set of commands: the same ones the README, the Procfile and CI use.
VENV    := .venv
PYTHON  := $(VENV)/bin/python
STAMP   := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install run test lint format eval bench bench-stats replay clean

$(STAMP):
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

run: install
	flask --app wsgi db upgrade
	@echo ""
	@echo "  Serving on http://localhost:8000  (web + worker + beat; Ctrl-C stops all)"
	@echo "  This machine only: bound to 127.0.0.1 (gunicorn.conf.py), and with ADMIN_API_KEYS unset only the"
	@echo "  Host names localhost, 127.0.0.1 and [::1] are answered (ALLOWED_HOSTS changes that)."
	@echo "  Try:  curl -X POST localhost:8000/models -H 'Content-Type: application/json' -d '{\"name\": \"sentiment\", \"version\": \"1.0.0\"}'"
	@echo ""
	honcho start

test: install
	$(PYTHON) -m pytest

lint: install
	ruff check .
	ruff format --check .

format: install
	ruff format .
	ruff check --fix .

eval: install
	$(PYTHON) -m bench.eval

bench: install
	$(PYTHON) -m bench.throughput

bench-stats: install
	$(PYTHON) -m bench.stats_refresh

# Needs the service up (make run, in another terminal). Replays both human-rated dev sets.
REPLAY_URL ?= http://127.0.0.1:8000
replay: install
	flask --app wsgi replay --url $(REPLAY_URL) --setup --feedback --model sentiment --rate 300 --users 2000

clean:
	rm -rf instance .pytest_cache bench/results/*.tmp
