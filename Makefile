# complaintforms: `make demo` runs the main job, `make test` the test suite.
# Both set up everything on a fresh Debian machine: system packages (as root, or with sudo),
# a virtual environment in .venv, and the package with its test extras.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DIR ?= build/demo
# fonts-noto-cjk, fontconfig: the forms' Chinese font; fonts-symbola: symbols and emoji the CJK
# font lacks; libharfbuzz-subset0: fast font subsetting; qpdf and poppler-utils: the tests
# check every PDF with qpdf --check and poppler (pdffonts, pdftotext); chromium: the browser
# tests of the web interface drive Debian's Chromium (with Playwright's own driver);
# postgresql: the tests of the PostgreSQL store start a throwaway server of their own as the
# postgres user (tests/pg.py); the system's own cluster is not used.
SYSTEM_PACKAGES := fonts-noto-cjk fontconfig fonts-symbola libharfbuzz-subset0 qpdf poppler-utils chromium postgresql

.PHONY: setup system-packages demo test bench lint format clean

setup: system-packages $(STAMP)

# Each package is checked by what it provides, so a machine that has it by other means is
# left alone.
system-packages:
	@missing=""; \
	command -v fc-list >/dev/null 2>&1 && fc-list :lang=zh-cn family | grep -q . || missing="$$missing fonts-noto-cjk fontconfig"; \
	fc-list 2>/dev/null | grep -q Symbola || missing="$$missing fonts-symbola"; \
	ldconfig -p 2>/dev/null | grep -q 'libharfbuzz-subset\.so\.0' || missing="$$missing libharfbuzz-subset0"; \
	command -v qpdf >/dev/null 2>&1 || missing="$$missing qpdf"; \
	command -v pdffonts >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "please install as root: apt-get install $(SYSTEM_PACKAGES)" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: setup
	rm -rf $(DEMO_DIR)
	$(BIN)/complaintforms demo $(DEMO_DIR)

# The CLI tests of the whole procedure, run a second time with each test's workspace on
# PostgreSQL (COMPLAINTFORMS_TEST_STORE, tests/conftest.py); tests that read or damage the
# TinyDB files themselves are marked tinydb_files and left out of that run.
PG_CLI_TESTS := tests/test_cli.py tests/test_procedure.py tests/test_register.py \
	tests/test_show.py tests/test_corrections.py tests/test_supervision.py tests/test_lookup.py \
	tests/test_extend_send_back.py tests/test_evidence.py tests/test_archive.py \
	tests/test_reports.py tests/test_intake.py tests/test_major_report.py tests/test_launch.py

# Two workers (pytest-xdist): the machine has two cores.
test: setup
	$(BIN)/python -m pytest -q -n 2
	COMPLAINTFORMS_TEST_STORE=postgresql $(BIN)/python -m pytest -q -n 2 -m "not tinydb_files" $(PG_CLI_TESTS)

# Byte-compiled first, as pip leaves an installed package (this environment may set
# PYTHONDONTWRITEBYTECODE, and every command would then compile our modules again).
bench: setup
	$(BIN)/python -m compileall -q src
	$(BIN)/python bench/run.py

lint: setup
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

format: setup
	$(BIN)/ruff format src tests bench scripts
	$(BIN)/ruff check --fix src tests bench scripts

clean:
	rm -rf $(VENV) build .pytest_cache
