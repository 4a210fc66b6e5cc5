"""Install what the platform needs and is missing: Debian packages, the virtualenv, Go binaries.

Each check is a file test, so a warm `make up` spends milliseconds here.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from . import config, gotools
from .components import PG_BIN
from .proc import PlatformError

# Debian package -> a file it installs.
DEBIAN_PACKAGES = {
    f"postgresql-{config.POSTGRES_MAJOR}": PG_BIN / "postgres",
    f"postgresql-client-{config.POSTGRES_MAJOR}": Path("/usr/bin/psql"),
    "pgbouncer": Path("/usr/sbin/pgbouncer"),
    "redis-server": Path("/usr/bin/redis-server"),
    # The Sentinels watching the Redis primary and its replica (localplatform/sentinel.py).
    "redis-sentinel": Path("/usr/bin/redis-sentinel"),
    "openssl": Path("/usr/bin/openssl"),
    # The browser tests drive Debian's Chromium through its matching chromedriver.
    "chromium": Path("/usr/bin/chromium"),
    "chromium-driver": Path("/usr/bin/chromedriver"),
    # The local Prometheus (and promtool, which checks and unit-tests the alert rules) and the data
    # tier's exporters. Debian's prometheus-pgbouncer-exporter is left out: its 1.7 cannot read
    # PgBouncer >= 1.8 (see localplatform/pgbouncer_exporter.py).
    "prometheus": Path("/usr/bin/prometheus"),
    "prometheus-postgres-exporter": Path("/usr/bin/prometheus-postgres-exporter"),
    "prometheus-redis-exporter": Path("/usr/bin/prometheus-redis-exporter"),
    # The node of `make cluster`: the container runtime, the pod network, and the daemonless image
    # builder with the tool that makes base images from Debian packages.
    "containerd": Path("/usr/bin/containerd"),
    "runc": Path("/usr/sbin/runc"),
    "containernetworking-plugins": Path("/usr/lib/cni/bridge"),
    "iptables": Path("/usr/sbin/iptables"),
    "conntrack": Path("/usr/sbin/conntrack"),
    "iproute2": Path("/usr/sbin/ip"),
    "buildah": Path("/usr/bin/buildah"),
    "mmdebstrap": Path("/usr/bin/mmdebstrap"),
    "gcc": Path("/usr/bin/gcc"),
    "libc6-dev": Path("/usr/lib/x86_64-linux-gnu/libc.a"),
}
MIN_GO = (1, 25)
# Python command-line tools whose pins clash with the project's own (checkov pins an older pytest),
# each in a virtualenv of its own, cached across checkouts like the Go binaries.
PYTHON_TOOLS = {"checkov": "3.3.30"}


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def ensure_debian_packages() -> None:
    missing = [pkg for pkg, path in DEBIAN_PACKAGES.items() if not path.exists()]
    if not missing:
        return
    say(f"installing Debian packages: {' '.join(missing)}")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    log = config.LOGS / "apt.log"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    with log.open("a") as out:
        for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", *missing]):
            if subprocess.run([*sudo, *argv], stdout=out, stderr=subprocess.STDOUT, env=env).returncode:
                versions = ", ".join(f"{pkg} ({_candidate(pkg)})" for pkg in missing)
                raise PlatformError(f"Debian package install failed for {versions}: `{' '.join(argv)}`; log: {log}")
    # Debian starts a system-wide Redis/PgBouncer where an init system runs; ours use other ports.


def _candidate(package: str) -> str:
    out = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True).stdout
    match = re.search(r"Candidate:\s*(\S+)", out)
    return f"candidate {match.group(1)}" if match else "no candidate version"


def ensure_go() -> None:
    go = shutil.which("go")
    if go is None:
        raise PlatformError("Go is not installed: building etcd, kube-apiserver, kubectl and helm needs "
                            f"Go >= {'.'.join(map(str, MIN_GO))} on PATH")
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True).stdout.strip()
    match = re.match(r"go(\d+)\.(\d+)", version)
    if not match or tuple(map(int, match.groups())) < MIN_GO:
        raise PlatformError(f"Go {version} is too old: need >= {'.'.join(map(str, MIN_GO))}")


def ensure_venv() -> None:
    pyproject = config.ROOT / "pyproject.toml"
    digest = hashlib.sha256(pyproject.read_bytes()).hexdigest()
    stamp = config.VENV / ".tenantry-deps"
    if stamp.exists() and stamp.read_text() == digest:
        _add_dev_paths()
        return
    say(f"installing Python dependencies into {config.VENV}")
    config.LOGS.mkdir(parents=True, exist_ok=True)  # also when `make test-unit` is the first command
    log = config.LOGS / "pip.log"
    python = config.VENV / "bin" / "python"
    with log.open("a") as out:
        if not python.exists():
            _checked([sys.executable, "-m", "venv", str(config.VENV)], out, "creating the virtualenv", log)
        _checked([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-e", f"{config.ROOT}[dev]"],
                 out, "pip install of the project's dependencies (pyproject.toml)", log)
    _add_dev_paths()
    stamp.write_text(digest)


def _add_dev_paths() -> None:
    """Put the repository root and devenv/ on the virtualenv's path (a .pth file), so `bench`,
    `chaos`, `loadtest`, `localplatform` and `testkit` import from any directory without PYTHONPATH
    or sys.path edits. They are development tools, not part of the installed distribution."""
    for site_packages in config.VENV.glob("lib/python3*/site-packages"):
        pth = site_packages / "tenantry-dev.pth"
        wanted = f"{config.ROOT}\n{config.ROOT / 'devenv'}\n"
        if not pth.exists() or pth.read_text() != wanted:
            pth.write_text(wanted)


def _checked(argv: list[str], out, what: str, log: Path, cwd: Path | None = None) -> None:
    out.flush()
    if subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, cwd=cwd).returncode:
        failing = [line for line in log.read_text().splitlines() if "ERROR" in line or "error" in line.lower()][-3:]
        raise PlatformError(f"{what} failed; log: {log}\n" + "\n".join(failing))


def ensure_binaries() -> dict[str, Path]:
    missing = [name for name, path in gotools.binaries().items() if not path.exists()]
    if missing:
        ensure_go()
        say(f"building {', '.join(missing)} from Go modules (cached in {config.CACHE}; the first build takes minutes)")
    try:
        binaries = gotools.ensure_all(config.LOGS)
    except gotools.BuildError as err:
        raise PlatformError(str(err)) from None
    config.BIN.mkdir(parents=True, exist_ok=True)
    for name, path in binaries.items():
        _link(config.BIN / name, path)
    return binaries


def ensure_python_tools() -> None:
    for name, version in PYTHON_TOOLS.items():
        home = config.CACHE / "tools" / f"{name}-{version}"
        executable = home / "bin" / name
        if not executable.exists():
            say(f"installing {name} {version} into {home}")
            log = config.LOGS / "pip.log"
            with log.open("a") as out:
                _checked([sys.executable, "-m", "venv", "--clear", str(home)], out, f"creating the {name} virtualenv",
                         log)
                _checked([str(home / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                          f"{name}=={version}"], out, f"pip install of {name}=={version}", log)
        _link(config.BIN / name, executable)


def _link(link: Path, target: Path) -> None:
    if not link.is_symlink() or os.readlink(link) != str(target):
        link.unlink(missing_ok=True)
        link.symlink_to(target)


def ensure_node_modules() -> None:
    """Front-end packages the app serves as its own static files (package-lock.json pins them)."""
    lock = config.ROOT / "package-lock.json"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    stamp = config.ROOT / "node_modules" / ".tenantry-deps"
    if stamp.exists() and stamp.read_text() == digest:
        return
    if shutil.which("npm") is None:
        raise PlatformError("npm is not installed: the app's front-end packages (package.json) need Node.js and npm")
    say("installing front-end packages from package-lock.json")
    log = config.LOGS / "npm.log"
    with log.open("a") as out:
        _checked(["npm", "ci", "--no-audit", "--no-fund"], out, "npm ci of package-lock.json", log, cwd=config.ROOT)
    stamp.write_text(digest)


def ensure_all() -> None:
    config.LOGS.mkdir(parents=True, exist_ok=True)
    ensure_debian_packages()
    ensure_venv()
    ensure_node_modules()
    ensure_binaries()
    ensure_python_tools()
