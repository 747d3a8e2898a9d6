# The two commands of the README, and what they need.  Each target installs
# what is missing (Debian packages, the virtual environment, pli in editable
# mode) before it runs.

VENV    ?= .venv
PY      := $(VENV)/bin/python
PLI     := $(VENV)/bin/pli
STAMP   := $(VENV)/.pli-installed
PYTEST_ARGS ?=

.PHONY: demo test test-fast test-pure bench install clean

demo: $(STAMP)
	$(PLI) doctor --build-only
	$(PLI) demo

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# Everything but the slow crash loops and the tmux end-to-end runs: the suite to run while working.
test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow and not tmux" $(PYTEST_ARGS)

# The core's suite again with the pure-Python crypto as the default backend: it must give
# byte-identical results.  tests/tui is left out: the TUI reaches crypto only through core,
# which this run covers, and its Pilot tests are two thirds of the suite's time (CI must stay
# well under 20 minutes).  The MSSanté modules of tests/core/mail are left out too: they start
# real Dovecot servers for mail that is transport-secured, not sealed by pli's crypto.
# `make test-pure PURE_TESTS=` runs everything on it.
PURE_TESTS ?= --ignore=tests/tui --ignore-glob="tests/core/mail/test_mssante_*"
test-pure: $(STAMP)
	PLI_CRYPTO_BACKEND=pure $(PY) -m pytest $(PURE_TESTS) $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m pytest bench --benchmark-only --benchmark-json=bench/latest.json

install: $(STAMP)

# Rebuilt when the build description (this file included) or the C sources change.
#
# cffi is built from its source first, with the interpreter's own flags (-O3): the cffi wheel the package
# index serves here carries a _cffi_backend compiled without optimisation (a frame pointer and stack stores in
# every function), which costs every call into the C core about 40-100 ns (docs/NATIVE.md, "cffi, built
# here").  It adds about 13 s to a fresh install; forced, so that a virtual environment made before holds the
# built one too (pip keeps the built wheel in its cache).  No fallback to the wheel: if the build fails (gcc,
# python3-dev and libffi-dev come from .ci/system-packages), the install stops and says why, rather than
# leaving a slower pli that benchmarks would measure without knowing it.  pli and its dependencies then
# find cffi installed (cryptography and notmuch2 run on it).
$(STAMP): Makefile pyproject.toml setup.py $(wildcard native/*.c native/*.h native/*.py)
	./.ci/system-packages
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q --force-reinstall --no-deps --no-binary cffi cffi
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf build dist *.egg-info native/_pli_native.c native/*.so
