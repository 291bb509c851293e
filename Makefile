# Two entry points, each doing its own set-up:
#   make run   build the demo catalog (once) and serve it on http://127.0.0.1:$(PORT)
#   make test  linters, C++ tests (ctest) and the Python test suite

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
WERROR ?= OFF
PYTEST_ARGS ?=
export CARDIOFAIR_HOME ?= $(CURDIR)/var
# Links in pages and records name the port the service is reached on.
export CARDIOFAIR_BASE_URL ?= http://127.0.0.1:$(PORT)

CPP_SOURCES := $(shell find cpp -type f 2>/dev/null) CMakeLists.txt
PY_PACKAGE_FILES := pyproject.toml

.PHONY: run test lint ctest pytest install clean bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The editable install below runs without build isolation, so it also builds
# sdist-only dependencies (docopt) here: setuptools and wheel must be present.
$(VENV)/.build-deps: | $(PY)
	$(PY) -m pip install --quiet "scikit-build-core>=0.10" "pybind11>=2.12" "setuptools>=68" wheel
	touch $@

# Editable install: Python sources are used in place; the C++ extension is
# rebuilt (incrementally, in build/) whenever cpp/ or the build files change.
$(VENV)/.installed: $(PY_PACKAGE_FILES) $(CPP_SOURCES) $(VENV)/.build-deps
	$(PY) -m pip install --quiet --no-build-isolation -e '.[test]'
	touch $@

install: $(VENV)/.installed

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

ctest: install
	cmake -S . -B build/ctest -DCARDIOFAIR_BUILD_PYTHON=OFF \
		-DCARDIOFAIR_WARNINGS_AS_ERRORS=$(WERROR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build/ctest -j 2
	ctest --test-dir build/ctest --output-on-failure

pytest: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test: lint ctest pytest

run: install
	$(VENV)/bin/cardiofair db upgrade
	$(VENV)/bin/cardiofair demo --if-missing
	$(VENV)/bin/cardiofair serve --port $(PORT)

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf build $(VENV)/.installed
