# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test lint fuzz oracles bench notebooks docs clean

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

# The fuzz properties of every parser, FUZZ_SCALE times as many inputs as in `make test`,
# freshly drawn; prints (and writes build/fuzz/table.md) the inputs tried and exceptions
# escaped per parser. A crasher it finds goes into its test as an @example.
FUZZ_SCALE ?= 100
fuzz: $(VENV)/.dev
	IPSECSIM_FUZZ_SCALE=$(FUZZ_SCALE) IPSECSIM_FUZZ_RANDOM=1 $(BIN)/python -m pytest -q -p no:xdist \
	    tests/fuzz tests/ike/test_sealed_fuzz.py tests/core/test_node_fuzz.py \
	    tests/ike/test_codec.py::test_mutated_messages_raise_only_decode_errors

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
