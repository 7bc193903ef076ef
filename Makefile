# The Inter-Centre Hub. `make run` serves it with demo data; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export DJANGO_SETTINGS_MODULE := hub.settings

.PHONY: run test test-core test-services lint bench bench-data bench-reports audit messages clean setup browser axe

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

# Debian's chromium for the browser tests (Playwright drives it; no browser download is possible),
# and nginx for the test that runs deploy/nginx.conf in front of a hub (tests/security/).
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! { command -v nginx || test -x /usr/sbin/nginx; } >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium and nginx for the browser and proxy tests…"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core nginx-light) >/dev/null \
	      || { echo "chromium/nginx could not be installed"; [ "$$CI" != "true" ] || exit 1; }; \
	  else echo "chromium or nginx not found: browser/proxy tests will skip (or fail under CI=true)"; fi; \
	fi

# axe-core for the accessibility tests (tests/frontend/test_accessibility.py): the version pinned in
# tests/axe/package-lock.json, `npm ci`'d into tests/axe/node_modules/ (git-ignored). Without npm the
# tests skip, and under CI=true this step and the tests fail.
AXE := tests/axe/node_modules/axe-core/axe.min.js
$(AXE): tests/axe/package.json tests/axe/package-lock.json
	@if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's npm for axe-core…"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm) >/dev/null || true; \
	fi
	@if command -v npm >/dev/null 2>&1; then \
	  cd tests/axe && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/axe-core/axe.min.js; \
	else echo "npm not found: the accessibility tests will skip (or fail under CI=true)"; [ "$$CI" != "true" ]; fi

axe: $(AXE)

# .env: the development settings `make run` uses, read by hub/settings.py in every command of this
# checkout (so `.venv/bin/python manage.py issue_token ht.security` works after it, as README says).
.env:
	printf '# Written by make run: development settings for every command in this checkout.\nDJANGO_DEBUG=1\n' > .env

run: $(STAMP) .env
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} $(PY) manage.py seed_demo --history
	DJANGO_DEBUG=$${DJANGO_DEBUG:-1} HOST=$(HOST) PORT=$(PORT) $(PY) -m hub.server.serve

# Core tests on SQLite + the in-memory layer, then the whole suite on PostgreSQL + Redis.
test: $(STAMP) browser axe
	$(PY) -m ruff check .
	DJANGO_DEBUG=1 $(PY) -m mypy
	$(PY) -m tests.run

# mypy with django-stubs over the whole project, strict on services, selectors and hub/realtime
# (pyproject.toml). `python -m mypy`, not the script: our `requests` app must shadow PyPI's.
lint: $(STAMP)
	$(PY) -m ruff check .
	DJANGO_DEBUG=1 $(PY) -m mypy

# DJANGO_DEBUG=1: the commands need settings, and outside `make run` a checkout may have no .env yet.
messages: $(STAMP)
	set -e; for app in hub chat alerts requests reports notify frontend duty worktime events; do (cd $$app && DJANGO_DEBUG=1 ../$(PY) ../manage.py makemessages -l vi -l en --no-obsolete >/dev/null); done
	cd frontend && DJANGO_DEBUG=1 ../$(PY) ../manage.py makemessages -d djangojs -l vi -l en --no-obsolete >/dev/null
	DJANGO_DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv >/dev/null

bench: $(STAMP)
	$(PY) -m bench

# Issue 27's data targets, apart from `make bench`'s 10 minutes (docs/benchmarks.md):
# - search and history over years of messages (target 4): 1,000,000 Vietnamese messages by default
#   (about 10 minutes on a quiet 2-core machine); BENCH_DATA_SIZES=1000000,5000000 for both sizes;
# - the dashboard, the yearly report (HTML, PDF) and the request exports over 1,000,000 requests and
#   5,000,000 messages (target 5, `make bench-reports` alone): seeded once into its own database,
#   kept (BENCH_REPORT_DATABASE_URL, default hub_data_big; ~25 minutes to seed under load), then
#   7-8 minutes of measuring (412 and 472 s on 6 December, load 5-15).
BENCH_DATA_SIZES ?= 1000000
bench-data: $(STAMP)
	$(PY) -m bench.search_data --sizes $(BENCH_DATA_SIZES) --tickets 0
	$(PY) -m bench.report_data

bench-reports: $(STAMP)
	$(PY) -m bench.report_data

# --strict: a dependency that could not be looked up fails the audit. Without it pip-audit skipped
# every package behind a mirror that serves only the simple index and still said "No known
# vulnerabilities found" (docs/deployment.md, "Dependency audit").
audit: $(STAMP)
	$(VENV)/bin/pip install --quiet pip-audit
	$(VENV)/bin/pip-audit --strict -r requirements.txt || { \
	  echo "make audit: FAILED — vulnerabilities listed above, or packages pip-audit could not look up" \
	       "(it needs https://pypi.org/pypi/<name>/json or https://api.osv.dev)." >&2; exit 1; }

clean:
	rm -rf $(VENV) db.sqlite3 var .pytest_cache
