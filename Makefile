# The two set-up commands of the README: `make run` and `make test` (see ../shared/CONTRACT.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
WORKERS ?= 2

.PHONY: run test install install-test frontend browser init serve bench clean

run: install frontend init serve

test: install-test frontend browser
	$(BIN)/python -W error::SyntaxWarning -m pytest $(PYTEST_ARGS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[postgresql]'

install-test: $(BIN)/python
	$(BIN)/pip install --quiet -e '.[postgresql,test]'

# The readers' JavaScript engines come from npm (pinned in readers/package-lock.json).
frontend:
	@if [ -f readers/package.json ]; then cd readers && npm ci --no-audit --no-fund --loglevel=error; fi

# Browser tests drive Debian's Chromium (never a downloaded browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium fonts-noto-cjk" >&2; exit 1; fi; }

init:
	$(BIN)/elibrary init --demo

serve:
	$(BIN)/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --access-logfile - wsgi:app

bench: install-test
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/search.py

clean:
	rm -rf $(VENV) readers/node_modules .pytest_cache
