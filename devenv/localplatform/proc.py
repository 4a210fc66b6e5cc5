"""Start, watch and stop the platform's long-running processes.

Each process gets `.local/run/<name>.pid` and `.local/logs/<name>.log`. A process counts as up only
while its pid is alive *and* its port answers, so a stale pid file never hides a dead component.
"""
import functools
import hashlib
import os
import pwd
import signal
import socket
import subprocess
import time
from pathlib import Path

from . import config


class PlatformError(RuntimeError):
    """A failure a person must act on; the message says which component and what to read."""


def port_open(port: int, host: str = config.HOST) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def pid_file(name: str) -> Path:
    return config.RUN / f"{name}.pid"


def log_file(name: str) -> Path:
    return config.LOGS / f"{name}.log"


def read_pid(name: str) -> int | None:
    try:
        pid = int(pid_file(name).read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); it is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def service_user() -> str | None:
    """PostgreSQL and PgBouncer refuse to run as root: run them as `postgres` when we are root."""
    return "postgres" if os.geteuid() == 0 else None


# Where service data goes when the service user cannot reach the checkout (see service_dir).
OUTSIDE_ROOT = Path("/var/lib/tenantry")


@functools.cache
def service_dir(name: str) -> Path:
    """A folder for PostgreSQL's or PgBouncer's files that their user can reach: `.local/<name>`, or,
    when we run as root and the checkout sits below a folder `postgres` may not enter (`mktemp -d`
    makes 0700 folders), /var/lib/tenantry/<checkout hash>/<name> with `.local/<name>` linking to it."""
    local = config.LOCAL / name
    user = service_user()
    config.LOCAL.mkdir(parents=True, exist_ok=True)
    if local.is_symlink():
        return local.resolve()
    if user is None or subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(config.LOCAL)]).returncode == 0:
        local.mkdir(exist_ok=True)
        chown_for_service(local)
        return local
    outside = OUTSIDE_ROOT / hashlib.sha1(str(config.LOCAL).encode()).hexdigest()[:12] / name
    outside.mkdir(parents=True, exist_ok=True)
    for path in (outside.parent, outside):
        chown_for_service(path)
    local.symlink_to(outside)
    return outside


def chown_for_service(path: Path) -> None:
    user = service_user()
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def spawn(name: str, argv: list[str], env: dict[str, str] | None = None, user: str | None = None,
          cwd: Path | None = None) -> int:
    config.LOGS.mkdir(parents=True, exist_ok=True)
    config.RUN.mkdir(parents=True, exist_ok=True)
    log = log_file(name)
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    with log.open("a") as out:
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n")
        out.flush()
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True)
    pid_file(name).write_text(str(process.pid))
    return process.pid


def stop(name: str, sig: int = signal.SIGTERM, timeout: float = 20) -> bool:
    """Stop the process group; True when something was running."""
    pid = read_pid(name)
    if pid is None:
        pid_file(name).unlink(missing_ok=True)
        return False
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    if pid_alive(pid):
        os.killpg(pid, signal.SIGKILL)
    _reap(pid)
    pid_file(name).unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def log_tail(name: str, lines: int = 12) -> str:
    try:
        return "".join(log_file(name).read_text(errors="replace").splitlines(True)[-lines:])
    except FileNotFoundError:
        return "(no log yet)"


def run(argv: list[str], what: str, env: dict[str, str] | None = None, user: str | None = None,
        cwd: Path | None = None, input: str | None = None) -> str:
    """Run a one-shot command; on failure raise an error naming `what` with the command's output."""
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    result = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **(env or {})},
                            cwd=cwd, input=input)
    if result.returncode != 0:
        raise PlatformError(f"{what} failed (exit {result.returncode}): {' '.join(argv)}\n"
                            f"{(result.stderr or result.stdout).strip()}")
    return result.stdout


def wait_for(check, what: str, timeout: float, every: float = 1, error: type[Exception] = PlatformError):
    """Poll `check` until it returns something truthy and return that; past `timeout` seconds raise
    `error` naming `what` and the last answer."""
    deadline = time.monotonic() + timeout
    while not (answer := check()):
        if time.monotonic() > deadline:
            raise error(f"timed out after {timeout:.0f}s waiting for {what} (last: {answer!r})")
        time.sleep(every)
    return answer
