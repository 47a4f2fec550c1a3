# Task runner for the course. Every target creates the environment (.venv) first when it is
# missing or older than requirements.txt / constraints.txt / pyproject.toml.
#
#   make book                 build the course book into _build/html (from stored outputs)
#   make test                 run the whole test suite (unit, hygiene, nbval, book, browser)
#   make lab                  open the notebooks in JupyterLab
#   make execute              re-execute every notebook in a fresh kernel, store outputs + timings
#   make execute NB=notebooks/01_foundations/01_what_is_generative_ai.ipynb   (one notebook)
#   make timings              measure each notebook's run time without touching the files
#   make clean                remove build outputs (keeps .venv)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NB     ?= notebooks

.PHONY: venv book test lab execute timings clean

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "Installing the course environment into $(VENV) (first time: about 6 minutes on 2 cores;"
	@echo "llama-cpp-python compiles llama.cpp from source)."
	CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc 2>/dev/null || echo 2) $(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

book: $(STAMP)
	@start=$$(date +%s); \
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going || exit 1; \
	echo "Book built in $$(( $$(date +%s) - start )) s. Open: file://$(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

execute: $(STAMP)
	$(BIN)/course-notebooks execute $(NB)

timings: $(STAMP)
	$(BIN)/course-notebooks timings $(NB)

clean:
	rm -rf _build
