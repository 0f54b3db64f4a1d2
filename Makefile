# The two commands the README starts with:
#   make demo   - the whole pipeline on this machine, live, until Ctrl-C
#   make test   - every test, end-to-end ones included
# Everything they need is installed by `make setup` (run by both).

SHELL := /bin/bash
PY := .venv/bin/python
# requirements.txt is the Pulumi program's, policy/requirements.txt the policy pack's;
# requirements-dev.txt adds the local stack, the tests and the linters to .venv.
REQS := requirements.txt requirements-dev.txt policy/requirements.txt
VENV_STAMP := .venv/.installed-$(shell cat $(REQS) | sha256sum | cut -c1-12)
POLICY_STAMP := policy/venv/.installed-$(shell sha256sum policy/requirements.txt | cut -c1-12)

# Local stack knobs, passed to local_stack.cli through the environment.
export SUPERSET ?= 1
export MOTO_PORT ?= 0
export SNOWFLAKE_PORT ?= 0
export SUPERSET_PORT ?= 8088

.PHONY: setup policy-setup superset-setup browser demo local-up local-preview local-refresh local-status local-destroy local-down smoke preflight cost test test-fast lint bench clean

setup: $(VENV_STAMP) $(POLICY_STAMP)

# uv installs the pinned requirements (pip's resolver and serial downloads take minutes on a cold cache);
# it is itself pinned in requirements-dev.txt and bootstrapped with the venv's pip.
UV = .venv/bin/python -m uv pip install --quiet --compile-bytecode
$(VENV_STAMP): $(REQS)
	@test -x .venv/bin/python || python3 -m venv .venv
	.venv/bin/pip install --quiet "$$(grep -m1 '^uv==' requirements-dev.txt | cut -d' ' -f1)"
	$(UV) --python .venv/bin/python -r requirements-dev.txt
	@rm -f .venv/.installed-* && touch $@

# The policy pack's own venv (PulumiPolicy.yaml): `pulumi preview --policy-pack policy`.
policy-setup: $(POLICY_STAMP)

# uv when `make setup` has put it in .venv; pip alone where only the pack is wanted (the PR preview job).
$(POLICY_STAMP): policy/requirements.txt
	@test -x policy/venv/bin/python || python3 -m venv policy/venv
	@if [ -x .venv/bin/uv ]; then set -x; $(UV) --python policy/venv/bin/python -r policy/requirements.txt; \
	else set -x; policy/venv/bin/pip install --quiet -r policy/requirements.txt; fi
	@rm -f policy/venv/.installed-* && touch $@

# Superset lives in its own venv (.local/superset-venv); cached after the first run.
superset-setup: setup
	$(PY) -m local_stack.cli superset install
	$(PY) -m local_stack.cli superset bootstrap

# Headless Chromium for the browser test (Debian packages; needs root or sudo).
browser:
	@if [ -n "$$CHROMIUM" ] && [ -n "$$CHROMEDRIVER" ]; then exit 0; fi; \
	if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing Debian chromium + chromium-driver for the browser test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

demo: setup
	@if [ "$(SUPERSET)" = 1 ]; then $(MAKE) --no-print-directory superset-setup; fi
	$(PY) -m local_stack.cli demo

local-up: setup
	@if [ "$(SUPERSET)" = 1 ]; then $(MAKE) --no-print-directory superset-setup; fi
	$(PY) -m local_stack.cli up

# Like `pulumi preview` / `pulumi refresh` of the running local stack (`local-up` previews before it deploys).
local-preview: setup
	@$(PY) -m local_stack.cli preview

local-refresh: setup
	@$(PY) -m local_stack.cli refresh

local-status: setup
	@$(PY) -m local_stack.cli status

# Like `pulumi destroy`: deletes what the local deploy created; `local-down` then stops the emulators.
local-destroy: setup
	@$(PY) -m local_stack.cli destroy

local-down:
	@$(PY) -m local_stack.cli down

# Prove a stack end to end: the local one, or a real one with STACK=<name> (after `pulumi up`).
smoke: setup
	$(PY) -m smoke $(if $(STACK),--stack "$(STACK)")

# What a real account must have before the first `pulumi up` (STACK=<name>), or the local stack's account.
preflight: setup
	$(PY) -m smoke --preflight $(if $(STACK),--stack "$(STACK)")

# What a stack would cost on Snowflake, per consumer, for a usage profile (docs/cost.md):
# STACK=dev (default) or any Pulumi.<stack>.yaml; PROFILE=poc (default), wall-screen, office-demo.
cost: setup
	@$(PY) -m cost --stack "$(or $(STACK),dev)" $(if $(PROFILE),--profile "$(PROFILE)")

# 3 workers on 2 cores: the end-to-end tests spend much of their time waiting on the emulators.
TEST_WORKERS ?= 3
test: setup superset-setup browser lint
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

# Unit and mock-runtime tests only: no emulator, Superset or browser starts (tests/conftest.py checks).
test-fast: setup
	$(PY) -m pytest -m "not e2e and not cloud and not emulator" -n 2 --dist loadgroup

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/sqlfluff lint sql/
	.venv/bin/actionlint

bench: setup
	$(PY) bench/bench_pipeline.py
	$(PY) bench/bench_transformations.py
	$(PY) bench/bench_streaming.py

clean: local-down
	rm -rf .local .pytest_cache .ruff_cache
