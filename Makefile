# Tenantry's developer entry points. `make up` then `make test` is all a fresh machine needs.
PYTHON ?= python3
PLATFORM = PYTHONPATH=devenv $(PYTHON) -m localplatform
PYTEST = .venv/bin/pytest

.PHONY: up down status clean deps lint test test-unit bench profile chaos pitr-drill loadtest cluster cluster-build cluster-down cluster-bench cluster-chaos

up: ## Install what is missing and start the whole platform on 127.0.0.1
	$(PLATFORM) up

down: ## Stop every component, keep data
	$(PLATFORM) down

status: ## One line per component: up/down, port, pid, log
	$(PLATFORM) status

cluster: ## A real node (kubelet, containerd, CoreDNS, Traefik) with the Helm chart on it; tenants at *.localhost:8080
	$(PLATFORM) cluster

cluster-build: deps ## Build what the node runs (Go binaries, images) where inputs changed; the first time takes long
	$(PLATFORM) cluster-build

cluster-down: ## Stop the node and its pods, keep its data
	$(PLATFORM) cluster-down

clean: ## Stop everything (the node too) and delete .local/
	$(PLATFORM) clean

deps: ## Install Debian packages, the virtualenv and the Go-built binaries
	$(PLATFORM) deps

test: deps lint cluster-build ## The whole suite: unit, integration, end-to-end, browser and the real node
	$(PYTEST)

lint: ## ruff over every Python file of the project
	.venv/bin/ruff check app operator devenv tests bench charts chaos loadtest dashboards

bench: deps ## One table: request path vs stock django-tenants and plain Django, provisioning, queries, capacity (< 15 min)
	.venv/bin/python -m bench $(BENCH_ARGS)

profile: deps ## Where a request's CPU goes under the load profile: flame graph and top statements in .local/profile/ (~1 min)
	.venv/bin/python -m bench.profile

cluster-bench: deps ## Tenant home page through Traefik -> web pods beside make up's gunicorn (needs both up; ~1 min)
	.venv/bin/python -m bench.ingress_path

PROFILE ?= smoke
loadtest: deps ## Locust against `make up`'s tenants: PROFILE=smoke|load|soak; reports in .local/loadtest/
	.venv/bin/python -m loadtest.run --profile $(PROFILE)

chaos: deps ## Break `make up` on purpose under API load, one fault at a time; prints the table (about 2 min)
	.venv/bin/python -m chaos $(CHAOS_ARGS)

cluster-chaos: deps ## Break `make cluster` on purpose under API load through Traefik: pods, kubelet, containerd, PostgreSQL (~5 min)
	.venv/bin/python -m chaos.cluster $(CHAOS_ARGS)

pitr-drill: ## Point-in-time recovery drill on scratch clusters (ports 15433/15434, .local/pitr/); about 5 s
	PYTHONPATH=devenv $(PYTHON) -m localplatform.pitr

test-unit: ## Only the tests that need no service and no built binary: the virtualenv is all they need
	$(PLATFORM) venv
	$(PYTEST) tests/unit
