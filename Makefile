# eSO — the two commands: `make run` (the product on the local stack) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export AWS_ACCESS_KEY_ID ?= local
export AWS_SECRET_ACCESS_KEY ?= local
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_EC2_METADATA_DISABLED := true
STAGE ?= dev

.PHONY: run test lint test-unit test-integration test-browser bench fuzz mutants package assets drill install clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	scripts/system-deps.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip<26.3"
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

.local/.installed: scripts/install-local-servers.sh
	scripts/install-local-servers.sh
	touch $@

# The functions run on arm64 (.chalice/config.json): the aarch64 wheels, and this machine's,
# which Chalice resolves first.
.local/wheelhouse/.done: requirements.txt | $(VENV)/.installed
	$(PY) -m devstack wheelhouse
	touch $@

install: $(VENV)/.installed .local/.installed

## make run: DynamoDB Local (8100), the local SES server (8200) and the app (8000); Ctrl-C stops all.
run: install
	$(PY) -m devstack run

## make lint: ruff (errors, import order) and the dependency rules of .importlinter.
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

# Tests run in a random order (pytest-randomly), a new one each time unless TEST_SEED is given:
# `make test TEST_SEED=1234` repeats the order of a run that printed that seed.
ifeq ($(TEST_SEED),)
TEST_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif

## make test: the lint, then every test (unit, integration, browser); installs what is missing.
# pytest exits 5 when it collects no tests: that is a failure here, like any non-zero exit.
test: install .local/wheelhouse/.done lint
	scripts/system-deps.sh --browser
	@echo "test order seed: $(TEST_SEED) (the same order again: make test TEST_SEED=$(TEST_SEED))"
	$(PY) -m pytest -q -p randomly --randomly-seed=$(TEST_SEED)

test-unit: install .local/wheelhouse/.done
	$(PY) -m pytest -q tests/unit

test-integration: install .local/wheelhouse/.done
	$(PY) -m pytest -q tests/integration

test-browser: install
	scripts/system-deps.sh --browser
	$(PY) -m pytest -q tests/browser

## make bench: every benchmark under bench/, one table.
bench: install
	$(PY) -m bench

## make fuzz: the generated-input tests (schemathesis, JSON and text properties) at length.
FUZZ_EXAMPLES ?= 1000
fuzz: install
	ESO_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q tests/integration/web/test_openapi_conformance.py tests/integration/web/test_text_input.py

## make mutants: mutation testing (mutmut, configured in setup.cfg) of the modules that keep the
## privacy policy's promises; prints the score and every surviving mutant not listed, with its
## reason, in tests/mutants-equivalent.txt. Not part of `make test`: hours on 2 cores (go on from a
## stopped run with `.venv/bin/python scripts/mutants.py --resume`).
mutants: install
	$(PY) scripts/mutants.py

## make package STAGE=dev: the CloudFormation/SAM template of one stage, in build/STAGE/.
package: install
	$(PY) -m devstack package --stage $(STAGE)

## make assets STAGE=dev: the static files into the stage's S3 bucket (after deploying the package).
assets: install
	$(PY) -m devstack assets --stage $(STAGE)

## make drill STAGE=dev: both deploy paths of docs/operations.md, rehearsed on an AWS simulator.
drill: install .local/wheelhouse/.done
	$(PY) -m devstack drill --stage $(STAGE)

clean:
	rm -rf build .pytest_cache mutants
