"""Run one load profile headless and write its reports: `python -m loadtest.run --profile load`.

The profile (loadtest/profiles.py) gives users, spawn rate, duration and thresholds; any threshold
can be overridden here (a p95 of 0 ms shows what a broken threshold does). Locust's exit code is the
verdict (see the `quitting` listener in loadtest/locustfile.py). Reports go to
.local/loadtest/<profile>-<UTC time>/ (git-ignored): stats.csv files, report.html and locust.log.
"""
import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from loadtest.profiles import PROFILES

ROOT = Path(__file__).resolve().parents[1]

LOCUST = Path(sys.executable).with_name("locust")


def locust_argv(profile_name: str, host: str, tenant_hosts: str, report_dir: Path,
                overrides: dict[str, float | None], run_time: str | None = None) -> list[str]:
    """The locust command line for a profile; `overrides` replaces thresholds that are not None."""
    profile = PROFILES[profile_name]
    thresholds = {"p95_ms": profile.thresholds.p95_ms, "auth_p95_ms": profile.thresholds.auth_p95_ms,
                  "max_error_ratio": profile.thresholds.max_error_ratio,
                  **{k: v for k, v in overrides.items() if v is not None}}
    return [str(LOCUST), "-f", str(ROOT / "loadtest" / "locustfile.py"), "--headless", "--only-summary",
            "--host", host, "--users", str(profile.users), "--spawn-rate", str(profile.spawn_rate),
            "--run-time", run_time or profile.run_time, "--stop-timeout", "5",
            "--csv", str(report_dir / "stats"), "--html", str(report_dir / "report.html"),
            "--logfile", str(report_dir / "locust.log"), "--tenant-hosts", tenant_hosts,
            "--slo-p95-ms", str(thresholds["p95_ms"]), "--slo-auth-p95-ms", str(thresholds["auth_p95_ms"]),
            "--slo-max-error-ratio", str(thresholds["max_error_ratio"])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="smoke")
    parser.add_argument("--host", default="http://127.0.0.1:8000", help="where gunicorn listens")
    parser.add_argument("--tenant-hosts", default="acme.localhost,globex.localhost")
    parser.add_argument("--report-dir", type=Path, help="default: .local/loadtest/<profile>-<time>")
    parser.add_argument("--run-time", help="instead of the profile's duration (e.g. 10s)")
    parser.add_argument("--p95-ms", type=float)
    parser.add_argument("--auth-p95-ms", type=float)
    parser.add_argument("--max-error-ratio", type=float)
    args = parser.parse_args(argv)
    report_dir = args.report_dir or (ROOT / ".local" / "loadtest" /
                                     f"{args.profile}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
    report_dir.mkdir(parents=True, exist_ok=True)
    command = locust_argv(args.profile, args.host, args.tenant_hosts, report_dir,
                          {"p95_ms": args.p95_ms, "auth_p95_ms": args.auth_p95_ms,
                           "max_error_ratio": args.max_error_ratio}, args.run_time)
    print(f"profile {args.profile} against {args.host} ({args.tenant_hosts}); reports in {report_dir}", flush=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(command, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
