# MyTrader: `make run` sets up and starts the bot (paper broker, built-in feed); `make test` tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

SUPERVISORD := $(VENV)/bin/supervisord -c supervisord.conf
SUPERVISORCTL := $(VENV)/bin/supervisorctl -c supervisord.conf
PIDFILE := var/run/supervisord.pid

.PHONY: install run stop logs status test test-fast lint bench clean

# MyTrader itself is installed editable (no dependencies: they are the pins above), so
# .venv/bin/mytrader and .venv/bin/dask scheduler|worker import this checkout from any folder.
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m bot init
	mkdir -p var/run var/log
	@if [ -f $(PIDFILE) ] && kill -0 "$$(cat $(PIDFILE))" 2>/dev/null; then \
		echo "supervisord is already running (pid $$(cat $(PIDFILE)))"; \
	else \
		$(SUPERVISORD); \
	fi
	@$(SUPERVISORCTL) status || true
	@echo "Dashboard: http://localhost:$${STREAMLIT_SERVER_PORT:-8501}  (make logs, make stop)"

stop:
	@$(PY) -m bot research --cancel-all >/dev/null 2>&1 || true  # running research runs end too
	@if [ -f $(PIDFILE) ] && kill -0 "$$(cat $(PIDFILE))" 2>/dev/null; then \
		pid=$$(cat $(PIDFILE)); $(SUPERVISORCTL) shutdown; \
		while kill -0 $$pid 2>/dev/null; do sleep 0.2; done; echo "stopped"; \
	else \
		echo "not running"; \
	fi

logs:
	$(SUPERVISORCTL) tail -f bot

status:
	@$(SUPERVISORCTL) status || true  # exit 3 only says a program is not running (news, while off)

# Tests write bytecode even where the environment says not to (PYTHONDONTWRITEBYTECODE): pytest
# rewrites the asserts of every test module in each worker, half of the unit lane's collection
# time, and caches the result only in __pycache__ (git-ignored; stale files are recompiled).
TEST_ENV := PYTHONDONTWRITEBYTECODE=

# Every lane on two workers; a file's tests stay on one worker (module fixtures such as a
# running product start once, and tests of one file never race each other).
test: $(STAMP)
	$(PY) -m ruff check .
	$(TEST_ENV) $(PY) -m pytest -q -n 2 --dist loadfile

# The unit lane only, on two workers as above.
test-fast: $(STAMP)
	$(PY) -m ruff check .
	$(TEST_ENV) $(PY) -m pytest -q -m unit -n 2 --dist loadfile

lint: $(STAMP)
	$(PY) -m ruff check .

bench: $(STAMP)
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build mytrader.egg-info
