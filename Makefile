# The single entry point.  `make run` serves the API locally; `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

# The newest Python >= 3.11 this machine has (3.13 matches the Lambda runtime).
PYTHON_FOR_VENV ?= $(shell for p in python3.13 python3.12 \
	$$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13 \
	$$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { command -v $$p; break; }; done)

# checkov in a venv of its own: its pins conflict with the project venv's.
CHECKOV_VENV := .venv-checkov
CHECKOV_VERSION := 3.3.30
CHECKOV_STAMP := $(CHECKOV_VENV)/.checkov-$(CHECKOV_VERSION)

.PHONY: help install run test tiers static lint validate checkov unit integration e2e deploy-tier build bench clean

help:
	@echo "make run       serve the whole API on http://127.0.0.1:$${PORT:-3000} (embedded AWS, demo data)"
	@echo "make test      lint, sam validate --lint, checkov, and every test tier"
	@echo "make unit      tests/unit: the domain and the dialects on an in-memory store (the edit-test loop)"
	@echo "make integration / e2e / deploy-tier   one tier: handlers on moto / HTTP on the local run / the template"
	@echo "make build     sam build (layer wheels for the Lambda runtime, any local Python)"
	@echo "make bench     benchmarks: cold init vs a bare boto3 client and the stack, own imports, warm time, DynamoDB calls"

$(PY): requirements-dev.txt layers/common/requirements.txt
	@test -n "$(PYTHON_FOR_VENV)" || { echo "Python >= 3.11 is needed" >&2; exit 1; }
	test -x $(PY) || $(PYTHON_FOR_VENV) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(PY)

install: $(PY)

run: $(PY)
	$(PY) -m devkit.local

lint: $(PY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

validate: $(PY)
	$(VENV)/bin/sam validate --lint

$(CHECKOV_STAMP):
	@test -n "$(PYTHON_FOR_VENV)" || { echo "Python >= 3.11 is needed" >&2; exit 1; }
	test -x $(CHECKOV_VENV)/bin/python || $(PYTHON_FOR_VENV) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	touch $@

# Security scan of template.yaml and of the CloudFormation SAM makes of it (devkit.transform: what
# `sam deploy` deploys, with the generated roles, versions, stage...). Skips are justified in
# .checkov.yaml and inline in template.yaml; the transform carries the inline ones to what it makes.
# Both files in one checkov run (its start is ~1.5 s of CPU).
TRANSFORMED := .aws-sam/checkov/transformed.json

checkov: $(CHECKOV_STAMP) $(PY)
	$(PY) -m devkit.transform --checkov -o $(TRANSFORMED)
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml -f template.yaml -f $(TRANSFORMED) \
		--framework cloudformation --skip-download --compact --quiet

# The test tiers (docs/DEVELOPING.md): tests/unit (no AWS, seconds), tests/integration (handlers on
# moto), tests/e2e (HTTP on the local run, the console in a headless browser), tests/deploy (the
# template as SAM transforms it).  `make test` runs them all in one pytest run (xdist balances them).
# pytest's rewritten test modules and plugins (hypothesis', schemathesis'...) and the bytecode of
# our modules are kept between runs under .pytest_cache/, out of the tree (PYTHONDONTWRITEBYTECODE
# otherwise has every worker and local run compile them again: ~4 s of CPU a worker)
PYCACHE := env PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/.pytest_cache/pycache
# worksteal: a worker that runs out takes tests queued for another (the long e2e ones end unevenly).
# Three workers on two cores: the e2e tests wait on their local run (another process) and on
# sockets, so a third worker fills the gaps (measured, the four tiers: 124 s with -n 2, 108 s
# with -n 3, 114 s with -n 4)
PYTEST := $(PYCACHE) $(PY) -m pytest -n 3 --dist worksteal -q

# tests/unit in one process: its tests take ~8 s, less than a second xdist worker's own start and
# collection (measured: 11 s with -n 0, 22 s with -n 2 on this 2-core machine)
unit: $(PY)
	$(PYCACHE) $(PY) -m pytest -n 0 -q tests/unit

integration: $(PY)
	$(PYTEST) tests/integration

e2e: $(PY)
	$(PYTEST) tests/e2e

deploy-tier: $(PY)
	$(PYTEST) tests/deploy

tiers: $(PY)
	$(PYTEST) tests/unit tests/integration tests/e2e tests/deploy

static: lint validate checkov

# The tiers and the static checks side by side (pytest's workers often wait on the local run):
# the static checks one after the other in make's second job slot, each target's output printed
# whole once it is done (the tiers' last); any failure fails `make test`.
test: $(PY) $(CHECKOV_STAMP)
	@$(MAKE) --no-print-directory -j2 --output-sync=target tiers static

build: $(PY)
	$(VENV)/bin/sam build

bench: build
	$(PY) -m devkit.bench --markdown BENCHMARKS.md

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache .hypothesis
