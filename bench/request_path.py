"""Figures 1 and 2: the same pages under Tenantry, stock django-tenants and plain Django, and a bare
WSGI hello, each driven in turn by bench/httpload.py with the same concurrency, round after round
(who goes first rotates), reporting the median round. Servers, data and PgBouncer are shared, so a
ratio compares request paths, not machines; the driver shares the machine's 2 cores with them.
"""
import http.client
import json
import subprocess
import sys
from dataclasses import dataclass

from bench.runner import QUICK
from bench.table import Row, at_least, below, median, rotated
from bench.webstack import TENANT_HOST, TENANT_SCHEMA, Stack, log_in
from localplatform import config

KINDS = ("tenantry", "stock", "plain")
PAGES = {"trivial page": "/bench/trivial/", "tenant home": "/", "warm dashboard": "/dashboard/"}
CONCURRENCY = 8  # = gunicorn's 2 workers x 4 threads: every thread busy, little queueing
# The issues' targets: Tenantry's req/s as a fraction of plain Django's and of stock django-tenants',
# and of the bare-WSGI ceiling.
PLAIN_TARGETS = {"trivial page": 0.9, "tenant home": 0.85}
STOCK_TARGETS = {"warm dashboard": 1.5}
STOCK_MEASURED = {"trivial page": "0.20-0.22x", "tenant home": "0.52-0.61x"}
CEILING_TARGET = 0.4
LIGHT_LOAD_P95_MS = 50
ROUNDS, SECONDS = (1, 2.0) if QUICK else (5, 4.0)  # rounds per page and kind, seconds per round
# Printed under the table: what the section's figures include, with this run's settings.
HOW = (f"gunicorn 2 workers x 4 threads for every server (worker recycling off), private Redis and "
       f"PgBouncer (transaction mode; stock behind its own in session mode, the only mode where its "
       f"answers are right); {CONCURRENCY} closed-loop Locust FastHttpUser connections, "
       f"{SECONDS:g} s after 1 s warm-up, {ROUNDS} round(s) rotating who goes first, median round shown; "
       "trivial page = HttpResponse, no database; tenant home = the tenant's landing page (SELECT current_schema() "
       "and a template); warm dashboard = /dashboard/ logged in, figures cached. Stock = TenantMainMiddleware "
       "and django-tenants' backend; plain = Django's backend in autocommit, fixed request.tenant, the "
       "tenant schema on the role's search_path. The driver runs on the same 2 cores.")


@dataclass
class Result:
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float


def drive(port: int, path: str, seconds: float, users: int = CONCURRENCY, cookie: str = "",
          host: str = TENANT_HOST) -> Result:
    spec = {"port": port, "host": host, "path": path, "users": users, "seconds": seconds, "cookie": cookie}
    done = subprocess.run([sys.executable, "-m", "bench.httpload", json.dumps(spec)], cwd=config.ROOT,
                          capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"the load driver failed: {done.stderr[-1500:]}")
    return Result(**json.loads(done.stdout.strip().splitlines()[-1]))


def check_same_page(stack: Stack, cookies: dict[str, str]) -> None:
    """Every configuration must serve the same tenant's pages before their speed means anything."""
    for kind in KINDS:
        for path, must in (("/", f">{TENANT_SCHEMA}<"), ("/dashboard/", "Web Bench"), ("/bench/trivial/", "ok")):
            conn = http.client.HTTPConnection(config.HOST, stack.port(kind), timeout=30)
            conn.request("GET", path, headers={"Host": TENANT_HOST, "Cookie": cookies[kind]})
            response = conn.getresponse()
            text = response.read().decode(errors="replace")
            conn.close()
            if response.status != 200 or must not in text:
                raise RuntimeError(f"{kind} does not serve {path} of {TENANT_HOST} ({response.status}); "
                                   f"read {config.LOGS}/{stack.servers[kind].name}.log")


def measure(stack: Stack, say) -> tuple[dict[tuple[str, str], list[Result]], dict]:
    cookies = {kind: log_in(stack.port(kind)) for kind in KINDS}
    check_same_page(stack, cookies)
    results: dict[tuple[str, str], list[Result]] = {}
    for page, path in PAGES.items():
        kinds = [*KINDS, "hello"] if page == "trivial page" else list(KINDS)
        for turn in range(ROUNDS):
            for kind in rotated(kinds, turn):
                result = drive(stack.port(kind), path, SECONDS, cookie=cookies.get(kind, ""))
                results.setdefault((page, kind), []).append(result)
                say(f"{page}, {kind}, round {turn + 1}/{ROUNDS}: {result.rps:.0f} req/s, p95 {result.p95_ms:.0f} ms, "
                    f"{result.failures} failed")
    light = drive(stack.port("tenantry"), PAGES["warm dashboard"], SECONDS, users=1, cookie=cookies["tenantry"])
    return results, {"light": light}


def rows(results: dict[tuple[str, str], list[Result]], extra: dict) -> list[Row]:
    def rps(page: str, kind: str) -> float:
        return median([r.rps for r in results[(page, kind)]])

    def p95(page: str, kind: str) -> float:
        return median([r.p95_ms for r in results[(page, kind)]])

    failed = {kind: sum(r.failures for (_, k), rs in results.items() if k == kind for r in rs)
              for kind in [*KINDS, "hello"]}
    out = []
    for page in PAGES:
        t, s, p = rps(page, "tenantry"), rps(page, "stock"), rps(page, "plain")
        out.append(Row(f"1. {page}: req/s (p95 ms)",
                       f"Tenantry {t:.0f} ({p95(page, 'tenantry'):.0f}) | stock {s:.0f} ({p95(page, 'stock'):.0f}) | "
                       f"plain {p:.0f} ({p95(page, 'plain'):.0f})"))
        stock_target = STOCK_TARGETS.get(page)
        out.append(Row(f"1. {page}: Tenantry / stock", f"{t / s:.2f}x req/s",
                       f">= {stock_target}x" if stock_target else "-",
                       at_least(t / s, stock_target) if stock_target else "info"))
        target = PLAIN_TARGETS.get(page)
        stock_note = f"; stock / plain {s / p:.2f}x" + (f" (issue: {STOCK_MEASURED[page]})" if page in STOCK_MEASURED
                                                         else "")
        out.append(Row(f"1. {page}: Tenantry / plain", f"{t / p:.2f}x{stock_note}",
                       f">= {target}x" if target else "-", at_least(t / p, target) if target else "info"))
    light = extra["light"]
    out.append(Row("1. warm dashboard p95, 1 user (light load)", f"{light.p95_ms:.0f} ms (p50 {light.p50_ms:.0f} ms, "
                   f"{light.rps:.0f} req/s)", f"< {LIGHT_LOAD_P95_MS} ms",
                   below(light.p95_ms, LIGHT_LOAD_P95_MS)))
    hello, trivial = rps("trivial page", "hello"), rps("trivial page", "tenantry")
    out.append(Row("2. bare WSGI hello, same gunicorn: req/s (p95 ms)",
                   f"{hello:.0f} ({p95('trivial page', 'hello'):.0f})"))
    out.append(Row("2. Tenantry trivial page / bare WSGI", f"{trivial / hello:.0%}", f">= {CEILING_TARGET:.0%}",
                   at_least(trivial / hello, CEILING_TARGET)))
    if any(failed.values()):
        out.append(Row("1-2. failed requests while measuring", ", ".join(f"{k} {n}" for k, n in failed.items()),
                       "0", "MISS"))
    return out
