"""What a migration command's output says: how many schemas migrate_tenants surveyed and migrated,
when stock migrate_schemas started its first schema, and from that the time per schema, start-up
left out, so that stock's figures on K schemas extrapolate to N.

Each figure is checked against what the command printed before it is reported: a run that did
less than the figure claims raises instead.
"""
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bench.migration_probe import PROBE_NAME
from bench.sampling import Measured


def per_schema(wall: float, startup: float, count: int) -> float:
    """Seconds per schema of a run over `count` schemas, its start-up (before the first schema) left out."""
    if count <= 0:
        raise ValueError("a run over no schemas has no time per schema")
    if not 0 <= startup <= wall:
        raise ValueError(f"start-up {startup} is outside the run's 0..{wall} s")
    return (wall - startup) / count


def extrapolated(wall: float, startup: float, count: int, to: int) -> float:
    """The wall time of the same run over `to` schemas: start-up once, then `to` times per schema."""
    return startup + per_schema(wall, startup, count) * to


def first_at(lines: Iterable[tuple[float, str]], needle: str) -> float | None:
    """When (seconds after the start) the first output line holding `needle` arrived."""
    return next((at for at, text in lines if needle in text), None)


ROLLOUT_LINE = re.compile(r"rollout to (?P<version>\w+): (?P<migrated>\d+) migrated, (?P<failed>\d+) failed, "
                          r"(?P<moved>\d+) changed meanwhile in (?P<seconds>[\d.]+) s")
SURVEY_LINE = re.compile(r"target (?P<version>\w+): (?P<current>\d+) current, (?P<behind>\d+) behind, "
                         r"(?P<failed>\d+) failed before this run")


def parse_rollout(output: str) -> dict | None:
    """migrate_tenants' last line: {"version", "migrated", "failed", "moved", "seconds"}, or None."""
    found = list(ROLLOUT_LINE.finditer(output))
    if not found:
        return None
    last = found[-1].groupdict()
    return {"version": last["version"], "seconds": float(last["seconds"]),
            **{key: int(last[key]) for key in ("migrated", "failed", "moved")}}


def parse_survey(output: str) -> dict | None:
    """migrate_tenants' first line: {"version", "current", "behind", "failed"}, or None."""
    found = SURVEY_LINE.search(output)
    if not found:
        return None
    return {"version": found["version"], **{key: int(found[key]) for key in ("current", "behind", "failed")}}


@dataclass
class Stock:
    measured: Measured
    count: int

    @property
    def startup(self) -> float:
        at = first_at(self.measured.lines, "=== Starting migration")
        if at is None:
            raise RuntimeError(f"{self.measured.label}: no schema was started:\n{self.measured.tail()}")
        return at

    @property
    def per_schema(self) -> float:
        return per_schema(self.measured.wall, self.startup, self.count)

    def at(self, count: int) -> float:
        return extrapolated(self.measured.wall, self.startup, self.count, count)

    def value(self, to: int) -> str:
        return (f"{self.count} schemas in {self.measured.wall:.1f} s: {self.per_schema * 1000:.0f} ms/schema "
                f"after {self.startup:.1f} s start-up -> {self.at(to):.0f} s per {to}")


def tenantry_value(measured: Measured, count: int) -> str:
    rollout = parse_rollout(measured.output)
    inside = f"rollout {rollout['seconds']:.1f} s in-command, " if rollout else ""
    return (f"{count} schemas in {measured.wall:.1f} s wall ({inside}"
            f"{measured.wall / count * 1000:.1f} ms/schema all included)")


def check_tenantry(measured: Measured, count: int, migrated: int) -> None:
    """The run did what the figure claims: `count` schemas surveyed, `migrated` of them migrated."""
    survey, rollout = parse_survey(measured.output), parse_rollout(measured.output)
    if not survey or not rollout:
        raise RuntimeError(f"{measured.label}: unexpected output:\n{measured.tail()}")
    surveyed = survey["current"] + survey["behind"] + survey["failed"]
    if surveyed != count or rollout["migrated"] != migrated or rollout["failed"] or rollout["moved"]:
        raise RuntimeError(f"{measured.label}: surveyed {surveyed} (expected {count}), migrated {rollout['migrated']} "
                           f"(expected {migrated}), failed {rollout['failed']}, moved {rollout['moved']}")


def check_stock(measured: Measured, count: int, applied: int) -> None:
    """Every schema started; `applied` of them applied the probe (0 in a no-op)."""
    started = measured.output.count("=== Starting migration")
    # "... OK" may land on a later line when the workers' output interleaves.
    probes = measured.output.count(f"Applying projects.{PROBE_NAME}...")
    if started != count or probes != applied:
        raise RuntimeError(f"{measured.label}: {started} schemas started (expected {count}), the probe applied "
                           f"{probes} times (expected {applied}):\n{measured.tail()}")
