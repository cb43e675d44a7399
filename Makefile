# Two commands: `make demo` runs the whole MiniNet study; `make test` runs the test suite.
# Both create .venv and install into it when needed (idempotent).
VENV  ?= .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.shiftlab-installed
CORES ?= 2
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: demo test install lint format clean-demo restore

# Locally every job gets one thread so that small jobs (most of them) run side by side.
LOCAL_THREADS := --set-threads predict=1 train=1 corrupt_shard=1 aggregate=1

demo: $(STAMP)
	snakemake --cores $(CORES) $(LOCAL_THREADS)
	@echo
	@echo "Report:  results/demo/report.html"
	@echo "Summary: results/demo/summary.csv"

test: $(STAMP)
	$(PY) -m pytest

install: $(STAMP)

$(STAMP): envs/requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r envs/requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

lint: $(STAMP)
	ruff check src tests benchmarks
	ruff format --check src tests benchmarks
	snakefmt --check Snakefile workflow
	snakemake --lint

format: $(STAMP)
	ruff format src tests benchmarks
	snakefmt Snakefile workflow

# After `git checkout <rev> && dvc checkout`: make Snakemake's metadata match the restored files.
restore: $(STAMP)
	dvc checkout
	snakemake --cores 1 --touch --forceall

clean-demo:
	rm -rf results/demo data/mininet data/derived logs/demo
