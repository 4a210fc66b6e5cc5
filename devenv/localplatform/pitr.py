"""Point-in-time recovery drill: prove that WAL archiving plus a base backup restore to a chosen moment.

`make pitr-drill` (python -m localplatform.pitr) starts a SCRATCH PostgreSQL cluster on its own port
with WAL archiving to `.local/pitr/wal/`, takes a base backup with pg_basebackup, writes row A, notes
the time T, writes row B, then restores the base backup into a second scratch cluster with
`restore_command` and `recovery_target_time = T`, and checks that A is there and B is not. The
platform's own PostgreSQL (15432) is never touched. Both scratch clusters are stopped at the end; their
folders stay for inspection until the next drill.

In a Kubernetes cluster this role belongs to the PostgreSQL operator you run (for example CloudNativePG:
continuous WAL archiving to object storage and `bootstrap.recovery` with a `recoveryTarget`); Tenantry
itself keeps the per-tenant logical backups (`backup_tenant`, `restore_tenant`).
"""
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from . import config
from .components import PG_BIN
from .proc import PlatformError, port_open, run, service_dir, service_user

PRIMARY_PORT, RESTORED_PORT = 15433, 15434
TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class DrillResult:
    target_time: str
    rows_on_primary: list[str]  # what was written: A before the target time, B after it
    rows_after_restore: list[str]
    archived_segments: int
    seconds: float

    @property
    def passed(self) -> bool:
        return self.rows_on_primary == ["A", "B"] and self.rows_after_restore == ["A"]


@dataclass(frozen=True)
class Layout:
    root: Path

    @property
    def primary(self) -> Path:
        return self.root / "primary"

    @property
    def base(self) -> Path:
        return self.root / "base"

    @property
    def restored(self) -> Path:
        return self.root / "restored"

    @property
    def wal(self) -> Path:
        return self.root / "wal"

    @property
    def socket(self) -> Path:
        return self.root / "socket"


def archive_settings(wal: Path) -> list[str]:
    """Server options of the primary: enough WAL for archiving, each finished segment copied once."""
    return ["-c", "wal_level=replica", "-c", "archive_mode=on", "-c", "max_wal_senders=4",
            "-c", f"archive_command=test ! -f {wal}/%f && cp %p {wal}/%f"]


def recovery_settings(wal: Path, target_time: str) -> str:
    """postgresql.auto.conf lines that replay archived WAL up to `target_time`, then promote."""
    return (f"restore_command = 'cp {wal}/%f %p'\n"
            f"recovery_target_time = '{target_time}'\n"
            "recovery_target_action = 'promote'\n")


def _pg(*argv: str, what: str) -> str:
    return run([*argv], what, user=service_user())


def _sql(layout: Layout, port: int, statement: str) -> str:
    return _pg("psql", "-h", str(layout.socket), "-p", str(port), "-U", "postgres", "-d", "postgres", "-X",
               "-v", "ON_ERROR_STOP=1", "-qAt", "-c", statement, what=f"psql on the drill cluster ({port})").strip()


def _start(layout: Layout, data: Path, port: int, extra: list[str]) -> None:
    if port_open(port):
        raise PlatformError(f"port {port} is in use; the PITR drill needs it for a scratch cluster "
                            f"(`ss -ltnp 'sport = :{port}'` shows what holds it)")
    options = " ".join(f"'{o}'" if " " in o else o for o in
                       ["-p", str(port), "-c", f"listen_addresses={config.HOST}",
                        "-c", f"unix_socket_directories={layout.socket}", *extra])
    _pg(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(layout.root / f"{data.name}.log"),
        "-w", "-t", str(TIMEOUT_SECONDS), "start", what=f"the drill cluster in {data} (log {data.name}.log)")


def _stop(data: Path) -> None:
    if (data / "postmaster.pid").exists():
        run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], f"stopping {data}",
            user=service_user())


def _wait(predicate, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not predicate():
        if time.monotonic() > deadline:
            raise PlatformError(f"PITR drill: timed out after {TIMEOUT_SECONDS}s waiting for {what}")
        time.sleep(0.2)


def _fresh(layout: Layout) -> None:
    """Remove the previous drill's folders (stopping any cluster a crashed drill left running)."""
    for data in (layout.primary, layout.restored):
        _stop(data)
    for folder in (layout.primary, layout.base, layout.restored, layout.wal, layout.socket):
        shutil.rmtree(folder, ignore_errors=True)
    for folder in (layout.wal, layout.socket):
        _pg("mkdir", "-p", str(folder), what=f"creating {folder}")


def drill() -> DrillResult:
    started = time.monotonic()
    layout = Layout(service_dir("pitr"))
    _fresh(layout)
    _pg(str(PG_BIN / "initdb"), "-D", str(layout.primary), "-U", "postgres", "-E", "UTF8", "--no-locale",
        "--auth-local=trust", "--auth-host=reject", what="initdb of the drill's primary")
    _start(layout, layout.primary, PRIMARY_PORT, archive_settings(layout.wal))
    try:
        _sql(layout, PRIMARY_PORT, "CREATE TABLE drill (id int PRIMARY KEY, note text NOT NULL)")
        _pg("pg_basebackup", "-h", str(layout.socket), "-p", str(PRIMARY_PORT), "-U", "postgres",
            "-D", str(layout.base), "-X", "stream", "-c", "fast", what="pg_basebackup of the drill's primary")
        _sql(layout, PRIMARY_PORT, "INSERT INTO drill VALUES (1, 'A')")
        target = _sql(layout, PRIMARY_PORT, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                                            "'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
        time.sleep(0.5)  # B's commit is clearly after T
        _sql(layout, PRIMARY_PORT, "INSERT INTO drill VALUES (2, 'B')")
        segment = _sql(layout, PRIMARY_PORT, "SELECT pg_walfile_name(pg_switch_wal())")
        _wait(lambda: _sql(layout, PRIMARY_PORT, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
              >= segment, f"WAL segment {segment} to be archived")
        written = _sql(layout, PRIMARY_PORT, "SELECT note FROM drill ORDER BY id").splitlines()
    finally:
        _stop(layout.primary)

    _pg("cp", "-a", str(layout.base), str(layout.restored), what="copying the base backup")
    _pg("touch", str(layout.restored / "recovery.signal"), what="recovery.signal")
    with (layout.restored / "postgresql.auto.conf").open("a") as conf:
        conf.write(recovery_settings(layout.wal, target))
    _start(layout, layout.restored, RESTORED_PORT, [])
    try:
        _wait(lambda: _sql(layout, RESTORED_PORT, "SELECT pg_is_in_recovery()") == "f",
              "the restored cluster to reach the target time and promote")
        rows = _sql(layout, RESTORED_PORT, "SELECT note FROM drill ORDER BY id").splitlines()
    finally:
        _stop(layout.restored)
    return DrillResult(target_time=target, rows_on_primary=written, rows_after_restore=rows,
                       archived_segments=len(list(layout.wal.iterdir())),
                       seconds=round(time.monotonic() - started, 1))


def main() -> int:
    try:
        result = drill()
    except PlatformError as err:
        print(f"PITR drill failed: {err}", file=sys.stderr)
        return 1
    print(f"PITR drill: restored to {result.target_time} from a base backup and {result.archived_segments} "
          f"archived WAL files; rows written {result.rows_on_primary}, after restore {result.rows_after_restore} "
          f"(expected ['A']) in {result.seconds}s: {'PASSED' if result.passed else 'FAILED'}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
