# The one way to install, build, test, bench and run. Every target installs what it needs
# (npm packages, the pinned OPA via `go install`) idempotently: a second run reuses it.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

NPM_STAMP := node_modules/.install-stamp
BUILD_STAMP := dist/.build-stamp
BUILD_SOURCES := $(shell find src bench/src -name '*.ts') tsconfig.json tsconfig.build.json
REPORTS := .tools/reports
CLI := node dist/src/cli/main.js
# The Python package's virtualenv (git-ignored); PY_VENV=/elsewhere keeps one per checkout.
PY_VENV ?= .tools/python-venv
PY_STAMP := $(PY_VENV)/.install-stamp

.PHONY: nginx
.PHONY: help install opa browser build bundle bundle-check typecheck lint rego-check vitest cli-test test demo bench clean
.PHONY: docs docs-check
.PHONY: python pytest

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' Makefile | sed -E 's/:.*## /\t/' | sort

install: $(NPM_STAMP) ## npm packages (npm ci) and the compiled CLI
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@
	@# npm ci's prepare script has just compiled src/: the build is current, no second tsc.
	@mkdir -p dist && touch $(BUILD_STAMP)

opa: ## the pinned OPA (scripts/opa-version.txt), installed with go install on first use
	@scripts/ensure-opa.sh >/dev/null

browser: ## Debian's chromium for the report's browser test (apt-get, first run only)
	@scripts/ensure-chromium.sh

nginx: ## Debian's nginx for the bundle-service tests, which serve bundles with it (apt-get, first run only)
	@scripts/ensure-nginx.sh

build: $(BUILD_STAMP) ## compile TypeScript to dist/ (when a source changed)
$(BUILD_STAMP): $(NPM_STAMP) $(BUILD_SOURCES)
	@rm -rf dist/src/bench # the bench moved to bench/src (dist/bench/src): an old copy must not ship
	npx tsc -p tsconfig.build.json
	@touch $@

bundle: opa ## rebuild bundle/default.tar.gz from rego/ with the pinned OPA
	scripts/build-bundle.sh

bundle-check: opa ## prove bundle/default.tar.gz is byte-identical to what the pinned OPA builds
	scripts/build-bundle.sh --check

typecheck: install ## tsc --noEmit over src, test and scripts
	npx tsc --noEmit -p tsconfig.json

lint: install ## eslint
	npx eslint --max-warnings 0 .

rego-check: opa ## opa fmt --list, opa check --strict, opa test with coverage
	@mkdir -p $(REPORTS)
	REPORTS_DIR=$(REPORTS) scripts/rego-check.sh

vitest: install opa browser nginx build ## the vitest suite
	@mkdir -p $(REPORTS)
	npx vitest run --reporter=default --reporter=json --outputFile.json=$(REPORTS)/vitest.json

docs: install ## the API reference from the doc comments (TypeDoc, typedoc.json) into docs/api/; open docs/api/index.html
	npx typedoc

docs-check: install ## the API reference's checks, writing nothing: every type a public signature names is exported, every {@link} resolves, every export has a doc comment
	npx typedoc --emit none

python: $(PY_STAMP) ## a virtualenv ($(PY_VENV)) with the Python package (editable) and its Ray and test extras, from PyPI
$(PY_STAMP): python/pyproject.toml
	python3 -m venv $(PY_VENV)
	$(PY_VENV)/bin/pip install --quiet --disable-pip-version-check -e './python[ray,test]'
	@touch $@

pytest: build python ## the Python suite (python/tests) against the built host, junit report for the summary
	@mkdir -p $(REPORTS)
	POLICY_KERNEL_CLI="node $(CURDIR)/dist/src/cli/main.js" $(PY_VENV)/bin/python -m pytest python/tests -q -p no:cacheprovider --junitxml=$(REPORTS)/pytest.xml

cli-test: build ## the decision case files in test/cases through the CLI
	@mkdir -p $(REPORTS)
	$(CLI) test test/cases | tee $(REPORTS)/cli-test.txt

test: typecheck lint docs-check rego-check bundle-check vitest pytest cli-test ## everything; ends with the summary line
	@node scripts/test-summary.mjs $(REPORTS)

demo: build ## a governed training run on the embedded SQL task environment (both arms, default seed)
	$(CLI) train $(DEMO_ARGS)

bench: build python ## the benchmark: kernel vs stock opa-wasm, json-rules-engine, OPA Go, agent-governance SDK, a TS floor, then the Python bridge rows; writes bench/results.json
	node dist/bench/src/main.js --opa "$$(scripts/ensure-opa.sh || true)" $(BENCH_ARGS)
	POLICY_KERNEL_CLI="node $(CURDIR)/dist/src/cli/main.js" $(PY_VENV)/bin/python bench/python/bridge_bench.py $(if $(findstring --quick,$(BENCH_ARGS)),--quick) $(PY_BENCH_ARGS)

clean: ## remove build output (keeps .tools/ with OPA)
	rm -rf dist coverage $(REPORTS) docs/api
