"""Provisioning through the operator: one Tenant, then 100 at once, then growth to 500, with the
operator's memory and CPU along the way.

The operator is this run's own process, built by `localplatform.components.operator` exactly as the
e2e harness builds it, watching the run's own namespace. Memory and CPU are read from /proc of its
pid (VmRSS; utime+stime over all threads), and "idle" is checked, not assumed: the operator must
spend under 5 % of a core for a second first. Drift timers are set to 600 s so they cannot fire
inside the run. Growth stops at its deadline and reports how far it got.
"""
import os
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench.procstat import (
    CLK_TCK,
    cpu_percent,
    machine_busy_cores,
    machine_cpu_sample,
    process_cpu_seconds,
    process_mib,
    wait_until_idle,
)
from bench.runner import BenchTimeout, Interrupted, Run, time_limit
from bench.schemas import LABEL
from bench.waves import Wave, apply_and_wait, list_tenants, wave_how, wave_summary
from localplatform import config, proc
from localplatform.components import operator
from localplatform.stack import ensure_namespace, install_crd, kubectl, start_all
from testkit import tenants
from testkit.net import free_port

BURST_TENANTS = 100
GROWTH_TARGET = 500  # tenants applied in bursts: 100 at once, then 400 more
GROWTH_BATCH = 100
IDLE_CPU_WINDOW_SECONDS = 30
IDLE_CPU_FRACTION = 0.05  # "idle": under 5 % of one core over one second
IDLE_SETTLE_MAX_SECONDS = 15
TENANT_PREFIX = "bench"


def start_operator(run: Run) -> None:
    runner = operator(name=f"operator-bench-{run.hex}", port=free_port(), namespace=run.namespace,
                      db_name=run.db, drift_interval_seconds=600)
    run.operator_name = runner.name
    start_all([runner])
    run.operator_pid = proc.read_pid(runner.name)
    if run.operator_pid is None:
        raise RuntimeError(f"the operator exited right after starting; read {proc.log_file(runner.name)}")
    cmdline = Path(f"/proc/{run.operator_pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    if "kopf" not in cmdline:
        raise RuntimeError(f"pid {run.operator_pid} is not the kopf process: {cmdline}")


def idle_rss(run: Run, label: str, present_note: str) -> None:
    pid = run.operator_pid

    def read() -> tuple[bool, float, float, float]:
        idle, waited = wait_until_idle(pid, IDLE_CPU_FRACTION, IDLE_SETTLE_MAX_SECONDS)
        return idle, waited, process_mib(pid), process_mib(pid, "VmHWM")

    got = run.attempt(label, IDLE_SETTLE_MAX_SECONDS + 5, read)
    if got is None:
        return
    idle, waited, rss, peak = got
    state = (f"idle after {waited:.0f} s (<{IDLE_CPU_FRACTION:.0%} of a core over 1 s)" if idle
             else f"NOT idle after {waited:.0f} s: read while still busy")
    run.add(label, f"{rss:.1f} MiB", f"VmRSS of pid {pid} (/proc/<pid>/status), {present_note}, "
            f"{state}; peak so far (VmHWM) {peak:.1f} MiB")


def figure_operator(run: Run) -> None:
    """The operator figures share one operator; each step reports its own failure and the next one
    goes on while the operator is still alive."""
    def start() -> bool:
        with time_limit(min(60, run.left())):
            install_crd()
            ensure_namespace(run.namespace)
        with time_limit(min(100, run.left())):
            start_operator(run)
        run.say(f"operator {run.operator_name} is pid {run.operator_pid}, log {proc.log_file(run.operator_name)}")
        run.add(f"{LABEL} operator RSS at start, 0 tenants", f"{process_mib(run.operator_pid):.1f} MiB",
                "VmRSS right after start (Django and kopf imported, nothing to reconcile): a baseline")
        return True

    if not run.attempt(f"{LABEL} operator", 170, start):
        return
    for step in (step_single, step_burst, step_growth):
        if proc.read_pid(run.operator_name) is None:
            run.errors.append(f"the operator died; read {proc.log_file(run.operator_name)}")
            print(f"  the operator died:\n{proc.log_tail(run.operator_name)}")
            return
        step(run)


def _step(run: Run, label: str, budget: float, body: Callable[[float], None]) -> None:
    """body(deadline) under a hard time limit a little past the deadline it is given."""
    deadline = time.monotonic() + max(0.0, min(budget, run.left()))
    run.attempt(label, deadline - time.monotonic() + 10, lambda: body(deadline))


def names(start: int, count: int) -> list[str]:
    return tenants.names(TENANT_PREFIX, start, count)


def step_single(run: Run) -> None:
    label = f"{LABEL} one Tenant alone, apply->Ready"

    def body(deadline: float) -> None:
        started = time.monotonic()
        wave = apply_and_wait(run, names(0, 1), deadline)
        if not wave.complete:
            raise BenchTimeout(f"not Ready within {time.monotonic() - started:.0f} s of applying it")
        run.add(label, f"{wave.total_seconds:.1f} s", wave_how(wave))

    _step(run, label, 60, body)


def step_burst(run: Run) -> None:
    label = f"{LABEL} {BURST_TENANTS} Tenants at once"

    def body(deadline: float) -> None:
        wave = apply_and_wait(run, names(1, BURST_TENANTS), deadline)
        rate = f"; {len(wave.ready_after) / wave.total_seconds:.1f} tenants/s" if wave.complete else ""
        run.add(label, wave_summary(wave, server=True) + rate, wave_how(wave))
        if not wave.complete:
            run.errors.append(f"{label}: only {len(wave.ready_after)} of {BURST_TENANTS} Ready by the deadline")

    # Leave room for growth, the idle measurements and cleanup.
    _step(run, label, max(60.0, run.left() - IDLE_CPU_WINDOW_SECONDS - 2 * IDLE_SETTLE_MAX_SECONDS - 60), body)
    idle_rss(run, f"{LABEL} operator RSS idle, {len(run.tenants_applied)} tenants",
             f"{len(run.tenants_applied)} tenants applied (1 alone + {BURST_TENANTS} at once)")


def step_growth(run: Run) -> None:
    label = f"{LABEL} growth to {1 + GROWTH_TARGET} tenants (1+{BURST_TENANTS}+{GROWTH_TARGET - BURST_TENANTS})"
    waves: list[Wave] = []
    # The growth must leave time for the idle CPU window and its settle.
    growth_end = time.monotonic() + run.left() - IDLE_CPU_WINDOW_SECONDS - IDLE_SETTLE_MAX_SECONDS - 10

    def grow() -> str:
        """Batches one after another until the target or the deadline; what stopped it early, or ""."""
        start = 1 + BURST_TENANTS
        while start < 1 + GROWTH_TARGET:
            if growth_end - time.monotonic() < 5:
                return "time bound reached before every batch was applied"
            batch = names(start, min(GROWTH_BATCH, 1 + GROWTH_TARGET - start))
            wave = apply_and_wait(run, batch, growth_end)
            waves.append(wave)
            run.say(f"batch {start}..{start + len(batch) - 1}: {wave_summary(wave)}, "
                    f"{wave.ready_present}/{wave.present} present are Ready")
            if not wave.complete:
                return "time bound reached while waiting for Ready"
            start += len(batch)
        return ""

    note = run.attempt(label, growth_end - time.monotonic() + 15, grow)
    present, ready = _count_ready(run)
    if waves:
        per_batch = ", ".join(f"{w.total_seconds:.1f}" if w.complete else f"{len(w.ready_after)}/{len(w.names)}"
                              for w in waves)
        spent = sum(w.total_seconds if w.complete else w.waited_seconds for w in waves)
        grown = sum(len(w.ready_after) for w in waves)
        cpu = sum(w.operator_cpu_seconds or 0 for w in waves)
        value = f"{ready}/{present} present are Ready" + (f" ({note})" if note else "")
        run.add(label, value,
                f"{len(waves)} batch(es) of {GROWTH_BATCH} applied one after another, each with one `kubectl apply` "
                f"and awaited as in the burst; seconds to all-Ready per batch: {per_batch}; {grown} tenants in "
                f"{spent:.1f} s ({grown / spent if spent else 0:.1f}/s); operator CPU {cpu:.1f} s; polls of "
                f"~{present} tenants took "
                f"{statistics.fmean([w.poll_seconds / w.polls for w in waves if w.polls] or [0]):.2f} s each")
    elif note is not None:
        run.add(label, f"not attempted ({note or 'an earlier failure'})", "no batch could be applied in time")
    if ready < 1 + GROWTH_TARGET:
        run.errors.append(f"{label}: only {ready} of {1 + GROWTH_TARGET} tenants Ready within the time bound")
    idle_rss(run, f"{LABEL} operator RSS idle, {present} tenants", f"{present} tenants present, {ready} Ready")
    step_idle_cpu(run, present, ready)


def _count_ready(run: Run) -> tuple[int, int]:
    """(present, Ready) now; (applied, -1) when the API server does not answer in time."""
    try:
        with time_limit(30):
            items = list_tenants(run.namespace)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | Interrupted):
            raise
        return len(run.tenants_applied), -1
    return len(items), sum(1 for item in items if tenants.ready(item))


def step_idle_cpu(run: Run, present: int, ready: int) -> None:
    label = f"{LABEL} operator CPU idle, {present} tenants"
    pid = run.operator_pid

    def sample() -> tuple[float, float, float]:
        cpu0, machine0, t0 = process_cpu_seconds(pid), machine_cpu_sample(), time.monotonic()
        time.sleep(IDLE_CPU_WINDOW_SECONDS)
        cpu1, machine1, t1 = process_cpu_seconds(pid), machine_cpu_sample(), time.monotonic()
        return cpu1 - cpu0, t1 - t0, machine_busy_cores(machine0, machine1)

    got = run.attempt(label, IDLE_CPU_WINDOW_SECONDS + 10, sample)
    if got is None:
        return
    used, window, busy = got
    caveat = "" if ready == present else f"; NOT all idle: only {ready}/{present} were Ready when the window began"
    run.add(label, f"{cpu_percent(used, window):.2f} % of one core ({used:.2f} CPU s in {window:.1f} s)",
            f"utime+stime of pid {pid} (all threads, /proc/<pid>/stat, {CLK_TCK} ticks/s) over {window:.1f} s "
            f"with no kubectl polling and drift timers at 600 s (none due); the whole machine was busy "
            f"{busy:.2f} of {os.cpu_count()} cores meanwhile (other users){caveat}")


def remove(run: Run, namespace: bool) -> None:
    """Cleanup of what provisioning made: the operator, its backup folder, and (`namespace`) the
    namespace with its Tenants."""
    def strip_finalizers() -> None:
        # The operator is stopped: its finalizer would keep every Tenant, and so the namespace, forever.
        # Through the Python client: `kubectl patch` of many objects is throttled client-side to about
        # 5 requests/s (GET + PATCH each), which makes 500 Tenants take ~100 s.
        import kubernetes

        api = kubernetes.client.CustomObjectsApi(
            kubernetes.config.new_client_from_config(config_file=str(config.KUBECONFIG)))
        group, version, plural = "tenantry.dev", "v1alpha1", "tenants"
        for item in api.list_namespaced_custom_object(group, version, run.namespace, plural)["items"]:
            if item["metadata"].get("finalizers"):
                api.patch_namespaced_custom_object(group, version, run.namespace, plural, item["metadata"]["name"],
                                                   {"metadata": {"finalizers": None}})

    if run.operator_name:
        run.cleanup_step("stopping the operator", 25, lambda: proc.stop(run.operator_name))
        backups = config.LOCAL / "backups" / run.operator_name
        if backups.is_dir():
            run.cleanup_step("removing its backup folder", 5, lambda: shutil.rmtree(backups))
    if namespace:
        run.cleanup_step("removing Tenant finalizers", 40, strip_finalizers)
        run.cleanup_step("deleting the namespace", 20, lambda: kubectl("delete", "namespace", run.namespace,
                                                                        "--wait=false", "--ignore-not-found"))
