# edgekit: `make demo` and `make test` each do all the set-up a fresh Debian machine needs,
# idempotently, and are quick when it is already done.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := qemu-system-arm gcc-arm-none-eabi libnewlib-arm-none-eabi espeak-ng \
                dataset-fashion-mnist sox
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)

.PHONY: setup apt venv test test-fast demo wheel clean

setup: apt venv

# Install only the Debian packages that are missing; skip apt entirely when none is.
apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "apt: all $(words $(APT_PACKAGES)) packages present"; fi

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $@
	@echo "venv: $(VENV) ready"

# The whole suite (what CI runs). `make test-fast` leaves out the slow end-to-end tests.
test: setup
	$(PY) -m pytest -q -n 2 tests

test-fast: setup
	$(PY) -m pytest -q -n 2 -m "not slow" tests

demo: setup
	$(PY) -m edgekit.demo

wheel: setup
	$(PY) -m build --wheel --outdir dist .

clean:
	rm -rf build dist
