"""Run faults one at a time under a running Load and measure each: requests and errors while the
fault lasted, seconds until the last failed or slow request, and the ledger check afterwards. The
ledger check covers every write acknowledged so far, so a lost write first shows on the fault that
lost it and stays visible on the rows after it."""
import http.client
import time
from collections.abc import Callable
from dataclasses import dataclass

from localplatform import config
from localplatform.proc import PlatformError, wait_for

from .convergence import Convergence
from .ledger import LedgerCheck
from .load import Load, Sample

# A request slower than this counts as "not recovered yet" (pool exhaustion shows as waiting, not errors).
SLOW_SECONDS = 2.0


@dataclass
class Fault:
    name: str
    inject: Callable[[], object]  # what it returns is printed as a note
    converged: Callable[[], Convergence | None] = lambda: None  # None: no Tenants to look at


@dataclass(frozen=True)
class Row:
    fault: str
    requests: int
    errors: int
    errors_by_method: dict[str, int]
    recovery_seconds: float
    lost: int
    duplicates: int
    converged: Convergence | None
    failure: str = ""  # the fault could not be injected or the platform did not come back
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.failure and self.lost == self.duplicates == 0 and (
            self.converged is None or self.converged.ok)


def recovery_seconds(samples: list[Sample], injected: float) -> float:
    """From the injection to the end of the last request that failed or was slow (0 if none)."""
    bad = [s.end for s in samples if not s.ok or s.end - s.start > SLOW_SECONDS]
    return round(max(bad) - injected, 2) if bad else 0.0


def serving(port: int, host: str) -> bool:
    """/readyz answers 200 at a tenant's host (so through an ingress controller too)."""
    conn = http.client.HTTPConnection(config.HOST, port, timeout=5)
    try:
        conn.request("GET", "/readyz", headers={"Host": host})
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def run_fault(fault: Fault, load: Load, ledger_check: Callable[[], LedgerCheck], settle: float) -> Row:
    """One fault; a fault that cannot be injected or recovered from is a failed row, not the end of the run."""
    injected = time.monotonic()
    failure = note = ""
    try:
        note = str(fault.inject() or "")
        wait_for(lambda: serving(load.port, load.writers[0].host), "the web app to be ready again", 120, every=0.1)
        time.sleep(settle)  # the load keeps going: errors after the restart count too
        converged = fault.converged()
    except PlatformError as err:
        failure, converged = str(err).splitlines()[0], None
    samples = load.samples(since=injected)
    checked = ledger_check()
    failed = [s for s in samples if not s.ok]
    return Row(fault=fault.name, requests=len(samples), errors=len(failed),
               errors_by_method={m: sum(s.method == m for s in failed) for m in sorted({s.method for s in samples})},
               recovery_seconds=recovery_seconds(samples, injected), lost=len(checked.lost),
               duplicates=len(checked.duplicated), converged=converged, failure=failure, note=note)


def run_all(faults: list[Fault], load: Load, ledger_check: Callable[[], LedgerCheck], settle: float = 3.0,
            warmup: float = 2.0, on_row: Callable[[Row], None] = lambda row: None) -> list[Row]:
    time.sleep(warmup)
    rows = []
    for fault in faults:
        rows.append(run_fault(fault, load, ledger_check, settle))
        on_row(rows[-1])
    return rows


HEADER = ("fault", "requests", "errors during fault", "recovery s", "acked writes lost", "duplicates",
          "tenants converged")


def table(rows: list[Row]) -> str:
    """A Markdown table, ready to paste into a note."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for r in rows:
        by_method = ", ".join(f"{method} {n}" for method, n in r.errors_by_method.items() if method)
        lines.append(f"| {r.fault} | {r.requests} | {r.errors} ({r.errors / max(r.requests, 1):.1%}"
                     f"{'; ' + by_method if r.errors and by_method else ''}) | "
                     f"{r.recovery_seconds} | {r.lost} | {r.duplicates} | {r.converged or 'n/a'} |"
                     + (f" FAILED: {r.failure}" if r.failure else ""))
    notes = [f"- {r.fault}: {r.note}" for r in rows if r.note]
    return "\n".join(lines + ([""] + notes if notes else []))
