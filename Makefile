# Build and test plumbing for seamless-config.
#
#   make demo     bring up the example project (examples/quickstart) and run a transformation
#   make test     lint + the whole test suite + the reference's own tests (what CI runs, via .ci/run)
#   make oracle   the long differential run against seamless-config 0.3.2 (ORACLE_COUNT=1000 layouts)
#   make upstream-tests  seamless-config 0.3.2's own test suite, run against this project
#   make transformer-tests  seamless-transformer 0.6.1's tests that use seamless.config (IMPL=ours|ref|both)
#   make bench    the benchmarks (this project and the reference side by side)
#   make docs     regenerate docs/errors.md and the field tables of docs/ from core/errors.py and core/schema.py
#   make clean    remove virtual environments, caches and build output
#
# Installs are recorded in stamp files inside the venvs, so a second `make test`
# reinstalls nothing unless pyproject.toml changed.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

PYTHON ?= python3
VENV := .venv
ORACLE_VENV := .venv-oracle
ORACLE_VERSION := 0.3.2
# extras installed into .venv: the dev tools plus the real Seamless runtime
EXTRAS ?= dev,runtime,dask
PIP := --quiet --disable-pip-version-check --no-input
PYTEST_ARGS ?=
# directories ruff checks (those that exist)
LINT_DIRS := $(wildcard seamless_config effects tests benchmarks)
DEMO_DIR := examples/quickstart

# The differential tests run the reference implementation with this interpreter.
export SEAMLESS_ORACLE_PYTHON := $(CURDIR)/$(ORACLE_VENV)/bin/python

comma := ,
VENV_STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
ORACLE_STAMP := $(ORACLE_VENV)/.installed-$(ORACLE_VERSION)

.PHONY: venv oracle-venv lint test oracle upstream-tests transformer-tests bench demo clean slurm-deps sshd-deps oar-deps docs

venv: $(VENV_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV_STAMP): pyproject.toml | $(VENV)/bin/python
	@echo "Installing seamless-config (editable) with extras [$(EXTRAS)] into $(VENV)"
	$(VENV)/bin/python -m pip install $(PIP) -e '.[$(EXTRAS)]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# the field tables of docs/configuration.md and docs/clusters.md, from the schema table (core/schema.py)
docs: $(VENV_STAMP)
	$(VENV)/bin/python tests/test_schema.py --write
	$(VENV)/bin/python tests/test_errors_doc.py --write

oracle-venv: $(ORACLE_STAMP)

$(ORACLE_STAMP):
	@echo "Installing the reference seamless-config==$(ORACLE_VERSION) into $(ORACLE_VENV)"
	rm -rf $(ORACLE_VENV)
	$(PYTHON) -m venv $(ORACLE_VENV)
	$(ORACLE_VENV)/bin/python -m pip install $(PIP) 'seamless-config==$(ORACLE_VERSION)'
	@touch $@

# Runs every check and fails at the end if any of them failed.
lint: venv
	@status=0; \
	echo "== ruff"; $(VENV)/bin/ruff check $(LINT_DIRS) || status=1; \
	echo "== mypy"; $(VENV)/bin/mypy || status=1; \
	echo "== import-linter"; $(VENV)/bin/lint-imports || status=1; \
	exit $$status

# The SLURM tests (tests/slurm) run a single-node SLURM; as root, install it when missing
# (otherwise those tests skip, saying why; under CI=true they fail).
slurm-deps:
	@if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing slurm-wlm and munge (for tests/slurm)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge >/dev/null; }; \
	else echo "slurm-wlm/munge not installed and not root: tests/slurm will be skipped"; fi

# The OAR tests (tests/oar) run a single-node OAR 2.5 (PostgreSQL backend) as root, with jobs
# submitted by an unprivileged user; as root, install it when missing (otherwise those tests
# skip, saying why; under CI=true they fail). The packages' own services are not left running (the
# PostgreSQL cluster the package starts on install is stopped again):
# the tests start what they need and stop it afterwards.
OAR_PACKAGES := oar-server oar-server-pgsql oar-node oar-user oar-user-pgsql postgresql python3-venv
oar-deps:
	@if command -v oarsub >/dev/null && [ -x /usr/sbin/Almighty ] && command -v pg_ctlcluster >/dev/null \
	  && /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing OAR and PostgreSQL (for tests/oar)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(OAR_PACKAGES) >/dev/null \
	  || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(OAR_PACKAGES) >/dev/null; }; \
	  pg_lsclusters -h 2>/dev/null | awk '$$4 == "online" {print $$1, $$2}' | while read -r v n; do \
	    pg_ctlcluster "$$v" "$$n" stop; done; \
	else echo "OAR not installed and not root: tests/oar will be skipped (and fail in CI)"; fi

# tests/ssh start a private sshd (openssh-server; its client tools come with it)
sshd-deps:
	@if [ -x /usr/sbin/sshd ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing openssh-server (for tests/ssh)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-server openssh-client >/dev/null; \
	else echo "openssh-server not installed and not root: tests/ssh will be skipped (and fail in CI)"; fi

# pytest exit code 5 (no tests collected) counts as a failure.
test: venv oracle-venv lint slurm-deps sshd-deps oar-deps
	@echo "== pytest"
	@rc=0; $(VENV)/bin/python -m pytest tests seamless_config effects $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; \
	echo "== upstream tests (seamless-config 0.3.2's own suite)"; \
	$(VENV)/bin/python tests/upstream/run_upstream.py || rc=1; \
	exit $$rc

# 1000 layouts took 7-10 minutes here (2 cores shared with other work); 5000 would take 35-50.
ORACLE_COUNT ?= 1000
oracle: venv oracle-venv
	$(VENV)/bin/python tests/oracle/run_differential.py --count $(ORACLE_COUNT) --examples

# The reference's own tests, from its sdist (downloaded with pip into scratch/upstream/), one
# pytest process per file; fails on any failure outside the documented private-internals list.
upstream-tests: venv
	$(VENV)/bin/python tests/upstream/run_upstream.py

# seamless-transformer 0.6.1's own tests that configure Seamless through seamless.config, from its
# sdist (downloaded with pip into scratch/transformer-tests/), with a private HOME whose
# ~/.seamless/clusters.yaml defines the docs' cluster `local`. IMPL=ref runs them with
# .venv-ref-runtime (seamless-config 0.3.2 + the same runtime; created on first use), IMPL=both
# runs both and prints them side by side. Prints per-test results; exits 0 whatever they are.
IMPL ?= ours
transformer-tests: venv
	$(VENV)/bin/python tests/upstream/run_transformer_tests.py --impl $(IMPL)

bench: venv oracle-venv
	$(VENV)/bin/python benchmarks/run_all.py
	$(VENV)/bin/python benchmarks/init_bench.py
	$(VENV)/bin/python benchmarks/ssh_bench.py
	$(VENV)/bin/python benchmarks/scale_bench.py

# The embedded default: bring up the quickstart project's services (a local
# cluster, storage in /tmp/seamless-quickstart), run a real transformation,
# show where it went, stop what was started.
demo: venv
	$(VENV)/bin/python $(DEMO_DIR)/demo.py

clean:
	rm -rf $(VENV) $(ORACLE_VENV) .venv-ref-runtime build dist *.egg-info \
	  .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache
	find $(wildcard seamless_config effects tests benchmarks examples) -name __pycache__ -type d -prune -exec rm -rf {} +
