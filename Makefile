# Two commands do everything on a fresh Debian machine (as root):
#   make video   install what is missing, then render the overview at 1080p
#   make test    install what is missing, then run the test suite
# Both are safe to run again: each step only does what is not done yet.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# Debian packages: Cairo/Pango headers to build manim's pycairo and manimpango, ffmpeg to mux
# and check videos, espeak-ng for the fallback voice and other languages, Chromium for the
# gallery's browser test.
APT_PACKAGES := libcairo2-dev libpango1.0-dev pkg-config ffmpeg espeak-ng chromium poppler-utils
PYTEST_ARGS ?=

.PHONY: all setup system video test bench clean-output help

help:
	@echo "make video   set up and render output/overview-1080p.mp4"
	@echo "make test    set up and run the tests"
	@echo "make bench   set up and run the benchmarks in bench/"

system:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	command -v cc >/dev/null 2>&1 || missing="$$missing build-essential"; \
	python3 -c "import venv, ensurepip" 2>/dev/null || missing="$$missing python3-venv python3-dev"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "Debian packages: all present"; fi

$(VENV)/.installed: pyproject.toml | system
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

setup: system $(VENV)/.installed

video: setup
	$(PY) render.py render overview --quality 1080p

test: setup
	$(VENV)/bin/ruff check --quiet .
	$(VENV)/bin/ruff format --check --quiet .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -n 2 --dist loadscope $(PYTEST_ARGS)

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean-output:  ## everything rendered (videos, captions, sidecars, transcripts, posters, stills, gallery)
	rm -rf output/*
