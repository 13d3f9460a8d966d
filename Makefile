# Two commands do all the set-up: `make report` and `make test`.
# Each bootstraps .venv from requirements.txt when missing or when the
# requirements change (a stamp file keyed on their hash), and is a no-op otherwise.
PYTHON3 ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
PROFILE ?= quick
# EXECUTOR: where the runs execute: local (default: a worker process per core), local:N, inline, or a Dask scheduler tcp://HOST:PORT
EXECUTOR ?=
# ENGINE: precision per run: float32 (default), table (the measured engine table's pick for this CPU), or an engine
ENGINE ?=
# JOBS: notebooks executed at once (default 1; JOBS=2 is faster, its reproducibility still being confirmed: docs/DESIGN.md)
JOBS ?=
REQ_HASH := $(shell cat requirements.txt pyproject.toml | sha256sum | cut -c1-12)
STAMP   := $(VENV)/.installed-$(REQ_HASH)
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: venv test test-fast report smoke notebooks bench lint lab clean

venv: $(STAMP)

$(STAMP):
	@test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-* && touch $@

## make test: unit tests, notebook hygiene, and the stored notebooks under nbval.
test: $(STAMP)
	$(PY) -m pytest -q tests
	EMNIST_PROGRESS=0 $(PY) -m pytest -q --nbval-lax --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--nbval-cell-timeout 600 notebooks

## make test-fast: unit tests without the slow ones.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" tests

## make report: run the study (PROFILE=smoke|quick|emnist|full, EXECUTOR=local|local:N|inline|tcp://..., JOBS=N, ENGINE=table) and build report/.
report: $(STAMP)
	$(PY) -m emnist_lib report --profile $(PROFILE) $(if $(EXECUTOR),--executor $(EXECUTOR)) $(if $(JOBS),--jobs $(JOBS)) $(if $(ENGINE),--engine $(ENGINE))

notebooks: $(STAMP)
	$(PY) -m emnist_lib notebooks

smoke: $(STAMP)
	$(PY) -m emnist_lib report --profile smoke

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

## make lab: JupyterLab on the notebooks with this project's kernel (.venv), on 127.0.0.1 only.
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks \
		--MappingKernelManager.default_kernel_name=python3 $(if $(filter 0,$(shell id -u)),--allow-root)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf build .pytest_cache
