"""The manifest beside each dump: what the dump holds, so a restore can be proven identical.

Stored as `<stamp>.json` next to `<stamp>.dump`, in `<backup root>/<schema>/` for a tenant and in
`<backup root>/_all/` for a full backup (table keys are then `schema.table`).
"""
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tenantry.backups.digests import TableDigest

DUMP_SUFFIX, MANIFEST_SUFFIX = ".dump", ".json"
FULL_BACKUP_FOLDER = "_all"  # never a tenant schema: those start with a letter


class BackupError(RuntimeError):
    """A backup or restore that cannot be trusted; the message says what is wrong and where."""


@dataclass(frozen=True)
class Manifest:
    schema: str
    created_at: str
    dump_file: str
    size_bytes: int
    sha256: str
    tables: dict[str, int]  # row counts, in the dump's snapshot
    checksums: dict[str, str] = field(default_factory=dict)  # digests.TableDigest.md5, same snapshot
    format: str = "pg_dump custom"
    pg_dump_version: str = ""

    def digests(self) -> dict[str, TableDigest]:
        return {table: TableDigest(rows=rows, md5=self.checksums.get(table, "")) for table, rows in self.tables.items()}

    def dump_path(self, directory: Path) -> Path:
        return Path(directory) / self.schema / self.dump_file


def write_manifest(manifest: Manifest, path: Path) -> None:
    """Under a temporary name first, so a crash never leaves half a manifest beside a dump."""
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(asdict(manifest), indent=2, sort_keys=True))
    partial.replace(path)


def read_manifest(path: Path) -> Manifest:
    path = Path(path)
    if path.suffix == DUMP_SUFFIX:
        path = path.with_suffix(MANIFEST_SUFFIX)
    try:
        return Manifest(**json.loads(path.read_text()))
    except FileNotFoundError:
        raise BackupError(f"manifest {path} is missing: a dump without its manifest cannot be verified") from None
    except (ValueError, TypeError) as exc:
        raise BackupError(f"manifest {path} is unreadable ({exc})") from None


def backup_root(manifest_path: Path) -> Path:
    """The backup root a manifest lives under (<root>/<schema>/<stamp>.json)."""
    return Path(manifest_path).resolve().parent.parent


def newest_manifest(directory: Path, schema: str) -> Path:
    found = sorted((Path(directory) / schema).glob(f"*{MANIFEST_SUFFIX}"))
    if not found:
        raise BackupError(f"no backup of {schema} in {Path(directory) / schema}")
    return found[-1]
