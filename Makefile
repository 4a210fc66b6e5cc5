# Tenantry's developer entry points. `make up` then `make test` is all a fresh machine needs.
PYTHON ?= python3
PLATFORM = PYTHONPATH=devenv $(PYTHON) -m localplatform
PYTEST = .venv/bin/pytest

.PHONY: up down status clean deps lint test test-unit bench

up: ## Install what is missing and start the whole platform on 127.0.0.1
	$(PLATFORM) up

down: ## Stop every component, keep data
	$(PLATFORM) down

status: ## One line per component: up/down, port, pid, log
	$(PLATFORM) status

clean: ## Stop everything and delete .local/
	$(PLATFORM) clean

deps: ## Install Debian packages, the virtualenv and the Go-built binaries
	$(PLATFORM) deps

test: deps lint ## The whole suite: unit, integration, end-to-end and browser, on real services
	$(PYTEST)

lint: ## ruff over every Python file of the project
	.venv/bin/ruff check app operator devenv tests bench charts

bench: deps ## Benchmarks that print figures (against the running `make up` platform)
	.venv/bin/python bench/operator_bench.py

test-unit: deps ## Only the tests that need no running service
	$(PYTEST) tests/unit
