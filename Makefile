# The two set-up commands of the README: `make run` (the product with demo content) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
WORKERS ?= 2
# gunicorn's settings (elibrary/web/gunicorn_conf.py): the access log without Basic user (an OPDS card number),
# query string or token (elibrary/web/accesslog.py), with the request id; Prometheus multiprocess mode for /metrics.

.PHONY: run test lint install install-test frontend system-packages init serve bench clean docs

run: install frontend init serve

test: install-test frontend system-packages lint
	$(BIN)/python -W error::SyntaxWarning -m pytest $(PYTEST_ARGS)

# ruff (style and mistakes) and import-linter (the layering rules of docs/architecture.md), both in setup.cfg/pyproject.toml.
lint: install-test
	$(BIN)/python -m ruff check .
	$(BIN)/lint-imports

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[postgresql]'

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[postgresql,test]'

# The readers' JavaScript engines come from npm (pinned in readers/package-lock.json); so does the OpenID
# Provider the school sign-in tests run on loopback (tests/oidc, test-only, never served).
frontend:
	@if [ -f readers/package.json ]; then cd readers && npm ci --no-audit --no-fund --loglevel=error; fi
	@if [ -f tests/oidc/package.json ]; then cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error; fi

# Debian packages the tests use: Chromium for the browser tests (never a downloaded browser), Japanese fonts
# (Noto CJK for screenshots, IPAex for the PDFs reportlab draws), jing and a JRE for the OPDS 1 RELAX NG and
# EPUBCheck tests. Installed when running as root; otherwise the command to run is printed and the tests
# that need a missing package say so when they are skipped.
SYSTEM_PACKAGES := chromium:/usr/bin/chromium fonts-noto-cjk:/usr/share/fonts/opentype/noto \
	fonts-ipaexfont-gothic:/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf \
	fonts-ipaexfont-mincho:/usr/share/fonts/opentype/ipaexfont-mincho/ipaexm.ttf \
	jing:/usr/bin/jing default-jre-headless:/usr/bin/java \
	nginx:/usr/sbin/nginx prometheus:/usr/bin/promtool clamav-daemon:/usr/sbin/clamd logrotate:/usr/sbin/logrotate \
	systemd:/usr/bin/systemd-analyze pandoc:/usr/bin/pandoc poppler-utils:/usr/bin/pdftoppm
system-packages:
	@missing=""; for entry in $(SYSTEM_PACKAGES); do \
	  [ -e "$${entry#*:}" ] || missing="$$missing $${entry%%:*}"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "tests that need them will be skipped; install with: sudo apt-get install$$missing" >&2; fi

init:
	$(BIN)/elibrary init --demo

serve:
	$(BIN)/gunicorn -c python:elibrary.web.gunicorn_conf --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - wsgi:app

bench: install-test
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/search.py

clean:
	rm -rf $(VENV) readers/node_modules tests/oidc/node_modules .pytest_cache

# The Japanese manuals of docs/ja as PDFs, 詳細版 and 簡易版 (pandoc + WeasyPrint): docs/ja/build/ (gitignored).
docs: $(BIN)/python system-packages
	$(BIN)/pip install --quiet -e '.[docs]'
	$(BIN)/python docs/tools/build_manuals.py docs/ja docs/ja/build
