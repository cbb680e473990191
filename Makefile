# The README's commands. Each one creates (or reuses) .venv and installs the project into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
LAB_STAMP := labextension/.build-stamp
DEMO   ?= demo-workspace

.PHONY: setup bytecode demo test bench lint clean browser postgres dashboard labextension lab lablink

setup: $(LAB_STAMP) $(STAMP) lablink

# The JupyterLab extension (labextension/, TypeScript) built into aml_jupyter/labextension, again
# only when its sources change. npm ci runs when the lock file is newer than node_modules.
LAB_SOURCES := $(wildcard labextension/src/* labextension/style/* labextension/style/icons/* labextension/schema/*) \
    labextension/package.json labextension/package-lock.json labextension/tsconfig.json
labextension: $(LAB_STAMP)
$(LAB_STAMP): $(LAB_SOURCES)
	@command -v npm >/dev/null || { echo "npm (Node 20+) is needed to build labextension/" >&2; exit 1; }
	@cd labextension && { [ node_modules/.package-lock.json -nt package-lock.json ] || \
	    npm ci --no-audit --no-fund --loglevel=error; } && \
	    { npm run --silent build >.build.log 2>&1 || { cat .build.log >&2; exit 1; }; }
	@touch $@

# The editable install's JupyterLab finds the extension where a wheel would put it: a link there to
# the build folder, so a rebuild needs no reinstall.
LAB_LINK := $(VENV)/share/jupyter/labextensions/aml_jupyter
lablink: $(STAMP)
	@[ -L $(LAB_LINK) ] || { rm -rf $(LAB_LINK); mkdir -p $(dir $(LAB_LINK)); ln -s $(abspath aml_jupyter/labextension) $(LAB_LINK); }

# uv installs in seconds; plain pip is the fallback when uv cannot be had. Bytecode is compiled at
# install: where PYTHONDONTWRITEBYTECODE is set, every process (a CLI call, a kernel, a Dask worker)
# would otherwise compile pandas and the rest from source again (import pandas: 3.3 s -> 0.9 s).
$(STAMP): pyproject.toml | $(LAB_STAMP)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv || echo "uv unavailable; using pip"
	@if [ -x $(BIN)/uv ]; then \
	    $(BIN)/uv pip install --python $(BIN)/python -q --compile-bytecode -e ".[dev]"; \
	else \
	    $(BIN)/python -m pip install -q -e ".[dev]"; \
	fi
	@touch $(STAMP)

# The project's own modules too (their caches are refreshed whenever a source file changes).
bytecode: setup
	@$(BIN)/python -m compileall -q -j 0 aml_jupyter tests benchmarks >/dev/null

demo: bytecode
	$(BIN)/python -m aml_jupyter.demo $(DEMO)

# The browser tests drive Debian's chromium through playwright (never playwright's own download).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; }; } \
	    || echo "chromium unavailable: the browser tests will fail" >&2

# The store tests run on a real PostgreSQL server too (started by the tests as the postgres user).
postgres:
	@command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || \
	    { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && { apt-get update -qq >/dev/null 2>&1; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1; }; } \
	    || echo "PostgreSQL unavailable: the PostgreSQL store tests will be skipped" >&2

# pytest exits 5 when it collected nothing: that is a broken suite, not a pass. The tests spread
# over two workers, a test file each at a time (a file's server or cluster starts once); the 15
# slowest are named at the end. PYTEST_ARGS adds to it (PYTEST_ARGS="-n 0" for one process).
TEST_WORKERS ?= 2
test: bytecode browser postgres
	@cd labextension && npm test --silent
	@$(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15 \
	    $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The serving benchmark loads both services with wrk (Debian's package) when it can be had.
bench: setup
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    apt-get install -y -qq wrk >/dev/null 2>&1; } || echo "wrk unavailable: the serving bench uses Python threads"
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/jobs.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/serving.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/sysmetrics.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/pbe.py --dask-rows 0
	$(BIN)/python benchmarks/pbe/score.py
	$(BIN)/python benchmarks/learn.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/rest.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/startup.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/stores.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/team_server.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/mlflow_api.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/lab.py $(BENCH_ARGS)

# The Voila dashboard of the demo's workspace (made by `make demo` when missing), on loopback.
DASHBOARD_PORT ?= 8866
dashboard: setup
	@test -d $(DEMO)/.aml || $(MAKE) --no-print-directory demo
	@echo "dashboard: http://127.0.0.1:$(DASHBOARD_PORT)/ (workspace $(abspath $(DEMO)); Ctrl-C stops it)"
	@AML_WORKSPACE=$(abspath $(DEMO)) exec $(BIN)/voila notebooks/dashboard.ipynb --no-browser \
	    --port=$(DASHBOARD_PORT) --Voila.ip=127.0.0.1 --ServerApp.port_retries=0

# JupyterLab on the demo's workspace (made by `make demo` when missing), on loopback, with a token.
LAB_PORT ?= 8888
lab: setup
	@test -d $(DEMO)/.aml || $(MAKE) --no-print-directory demo
	@token=$${LAB_TOKEN:-$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(24))')}; \
	echo "lab: http://127.0.0.1:$(LAB_PORT)/lab?token=$$token (workspace $(abspath $(DEMO)); Ctrl-C stops it)"; \
	cd $(DEMO) && AML_WORKSPACE=$(abspath $(DEMO)) exec $(abspath $(BIN))/jupyter lab --no-browser --ip=127.0.0.1 \
	    --port=$(LAB_PORT) --ServerApp.port_retries=0 --IdentityProvider.token=$$token \
	    $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

lint: setup
	$(BIN)/ruff check aml_jupyter tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DEMO) benchmarks/.venv-* benchmarks/.work test-output $(LAB_STAMP) aml_jupyter/labextension \
	    labextension/node_modules labextension/lib labextension/build-test labextension/tsconfig.tsbuildinfo
