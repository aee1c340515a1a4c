# Redress: `make demo` runs the product, `make test` runs the tests. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := $(PYTHON) -m uv
export UV_PYTHON_DOWNLOADS := never
VENV := .venv/bin
DEMO_COMPLAINTS ?= 20000

.PHONY: install browser demo demo-data test lint format messages services bench

install:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	@UV_PYTHON="$$(scripts/find-python)" $(UV) sync --frozen --quiet
	@mkdir -p var

# The demo always runs in development mode (console/file email, insecure dev key, DEBUG off).
demo demo-data: export DJANGO_ENV := development
demo demo-data: export DEBUG := false
# Set-up output in English, like the README (the admin itself starts in zh-Hans).
DEMO_SETUP := LANGUAGE_CODE=en $(VENV)/python manage.py

# The system checks run once, at the end, not before every step while holidays and
# notification lists are still being loaded.
demo-data: install
	@$(DEMO_SETUP) migrate --noinput --skip-checks -v 0
	@$(DEMO_SETUP) load_holidays --country CN --year 2025 --year 2026 --skip-checks -v 0
	@$(DEMO_SETUP) seed_demo --complaints $(DEMO_COMPLAINTS) --if-empty --skip-checks
	@$(DEMO_SETUP) seed_followups --skip-checks
	@$(DEMO_SETUP) demo_superuser --skip-checks
	@$(DEMO_SETUP) check

demo: demo-data
	@echo "Admin: http://127.0.0.1:8000/admin/  (Ctrl-C stops web, worker and beat)"
	@echo "Try the demo accounts listed on the login page (password demo-pass-2026)."
	$(VENV)/honcho -f Procfile.dev start

# Browser tests (tests/e2e) drive Debian's Chromium; Playwright's own browser download does not
# work here. As root with apt-get the missing packages are installed; otherwise the browser
# tests are skipped with a loud warning (CI, where CI is set, fails instead).
BROWSER_PACKAGES := chromium chromium-driver fonts-noto-cjk
browser:
	@missing=""; for pkg in $(BROWSER_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" \
	        || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        echo "Installing$$missing for the browser tests (apt-get)"; \
	        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	            --no-install-recommends $$missing >/dev/null; \
	    else \
	        echo "WARNING: missing$$missing; browser tests (tests/e2e) will be SKIPPED." \
	            "Install them as root: apt-get install $(BROWSER_PACKAGES)"; \
	    fi; \
	fi

test: install browser
	$(VENV)/pytest -n 2 --ignore=tests/e2e
	$(VENV)/pytest -n 2 tests/e2e

lint: install
	$(VENV)/ruff check .
	$(VENV)/ruff format --check .

format: install
	$(VENV)/ruff format .
	$(VENV)/ruff check --fix .

messages: install
	$(VENV)/python manage.py makemessages -l zh_Hans --ignore=.venv --ignore=tests
	$(VENV)/python manage.py compilemessages --ignore=.venv

# Benchmarks (PostgreSQL; each in a database of its own, refused otherwise). BENCH_SIZE=5000000
# by default; BENCH_SIZES=100000,1000000,5000000 prints the history-flatness table instead.
# Not part of `make test`. See README, "Performance at 5,000,000 complaints".
bench: install
	status=0; \
	$(VENV)/python tests/benchmarks/bench_suite.py || status=1; \
	[ -n "$$BENCH_SIZES" ] || $(VENV)/python tests/benchmarks/bench_dashboard.py || status=1; \
	exit $$status
