# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint oracles bench notebooks docs clean

$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime
	$(BIN)/ipsecsim run topologies/site-to-site.yaml --out out/site-to-site

# ruff over the package, tests and benchmarks; mypy over the package (settings in pyproject.toml).
lint: $(VENV)/.dev
	$(BIN)/ruff check ipsecsim tests benchmarks
	$(BIN)/mypy ipsecsim

test: $(VENV)/.dev lint
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# The teaching notebooks in Jupyter (the extra brings Jupyter; `make test` runs them without it).
notebooks: $(VENV)/.runtime
	$(BIN)/pip install -q -e '.[notebooks]'
	$(BIN)/jupyter notebook notebooks/

# The notebooks executed, as HTML pages with their figures, in build/notebooks/ (index.html).
docs: $(VENV)/.runtime
	$(BIN)/pip install -q -e '.[docs]'
	$(BIN)/python notebooks/html.py build/notebooks

bench: $(VENV)/.runtime
	$(BIN)/python benchmarks/run.py --json

# tshark and strongSwan (charon with its userland ESP) as independent test peers.
oracles:
	apt-get update -qq
	echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    tshark strongswan-charon strongswan-swanctl libcharon-extra-plugins libcharon-extauth-plugins \
	    libstrongswan-standard-plugins iproute2 util-linux iputils-ping procps openssl chromium

clean:
	rm -rf $(VENV) out build .pytest_cache
