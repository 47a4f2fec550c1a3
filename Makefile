# Task runner for the course. Every target creates the environment (.venv) first when it is
# missing or older than requirements.txt / constraints.txt / pyproject.toml.
#
#   make book                 build the course book into _build/html (from stored outputs)
#   make test                 the whole suite: unit, hygiene, book, browser, every notebook
#                             executed once in JupyterLab (two workers on two cores)
#   make test-fast            everything except executing notebooks (a few minutes; while you work)
#   make test-nbval           execute the notebooks with nbval in plain kernels (no browser)
#   make lab                  open the notebooks in JupyterLab (LAB_ARGS="--no-browser ...")
#   make execute              re-execute every notebook in a fresh kernel, store outputs + timings
#   make execute NB=notebooks/01_foundations/01_what_is_generative_ai.ipynb   (one notebook)
#   make timings              measure each notebook's run time without touching the files
#   make engine-check         re-run the LLM engine check, with a tokens/s benchmark
#   make clean                remove build outputs (keeps .venv)
#
# llama-cpp-python (SmolLM2's engine) is compiled from source with LLAMA_CMAKE_ARGS. The
# default is a portable build (x86-64 with AVX2/FMA/F16C, the same code on every such CPU),
# not one tuned to the machine that compiles it: a binary tuned for one CPU can crash on
# another. Override it for an older CPU or to try a native build:
#   make venv LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF"
#   make venv LLAMA_CMAKE_ARGS="-DGGML_NATIVE=ON"
# A changed value recompiles (pip's wheel cache is bypassed, so the flags really apply).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NB     ?= notebooks
JOBS   := $(shell nproc 2>/dev/null || echo 2)
# pytest workers for `make test`; each runs its own kernels, JupyterLab and browser
PYTEST_WORKERS ?= 2
# llama.cpp threads per notebook kernel while the workers share the cores (see llm/engine.py)
TEST_LLAMA_THREADS ?= $(shell n=$$(( $(JOBS) / $(PYTEST_WORKERS) )); [ $$n -ge 1 ] && echo $$n || echo 1)

LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF
LLAMA_VERSION    := $(shell sed -n 's/^llama-cpp-python==//p' requirements.txt)
LLAMA_FLAGS      := $(VENV)/.llama-cmake-args
LLAMA_STAMP      := $(VENV)/.llama-built

.PHONY: venv book test test-fast test-nbval lab execute timings engine-check clean FORCE

venv: $(STAMP)

# The flags file changes only when the flags or the version change, so the engine is rebuilt
# exactly then.
$(LLAMA_FLAGS): FORCE
	@mkdir -p $(VENV)
	@echo "llama-cpp-python==$(LLAMA_VERSION) CMAKE_ARGS=$(LLAMA_CMAKE_ARGS)" > $@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi

$(LLAMA_STAMP): $(LLAMA_FLAGS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Compiling llama-cpp-python $(LLAMA_VERSION) with CMAKE_ARGS=\"$(LLAMA_CMAKE_ARGS)\""
	@echo "(about 5 minutes on 2 cores)."
	@start=$$(date +%s); \
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) \
	  $(BIN)/python -m pip install --quiet --force-reinstall --no-cache-dir \
	  --no-binary llama-cpp-python -c constraints.txt "llama-cpp-python==$(LLAMA_VERSION)" \
	  || exit 1; \
	echo "llama-cpp-python compiled in $$(( $$(date +%s) - start )) s."
	@rm -f $(STAMP)
	@touch $@

# The engine check runs SmolLM2 in a child process: a build that crashes on this CPU stops
# `make` here with a clear message instead of killing a notebook kernel later.
$(STAMP): requirements.txt constraints.txt pyproject.toml $(LLAMA_STAMP)
	@echo "Installing the course environment into $(VENV)."
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m course_utils.llm.engine_check
	@touch $(STAMP)

book: $(STAMP)
	@start=$$(date +%s); \
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going || exit 1; \
	echo "Book built in $$(( $$(date +%s) - start )) s. Open: file://$(CURDIR)/_build/html/index.html"

# Notebook execution happens once, in JupyterLab (tests/test_jupyterlab.py), where widgets and
# figures are checked and nbval's output comparisons run on the executed notebook.
test: $(STAMP)
	COURSE_LLAMA_THREADS=$(TEST_LLAMA_THREADS) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

test-fast: $(STAMP)
	COURSE_LLAMA_THREADS=$(TEST_LLAMA_THREADS) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -m "not notebook"

test-nbval: $(STAMP)
	COURSE_LLAMA_THREADS=$(TEST_LLAMA_THREADS) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --nbval-lax notebooks

# LAB_ARGS passes options to JupyterLab, e.g. LAB_ARGS="--no-browser --port 8899 --ip 0.0.0.0"
# in a container. As root (containers often are), --allow-root is added.
LAB_ARGS ?=
lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/ $$(test "$$(id -u)" = 0 && echo --allow-root) $(LAB_ARGS)

execute: $(STAMP)
	$(BIN)/course-notebooks execute $(NB)

timings: $(STAMP)
	$(BIN)/course-notebooks timings $(NB)

engine-check: $(STAMP)
	$(BIN)/python -m course_utils.llm.engine_check --tokens 128 --threads $(JOBS) --repeats 3

clean:
	rm -rf _build
