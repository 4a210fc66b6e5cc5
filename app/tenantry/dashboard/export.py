"""The projects CSV export.

Spreadsheet programs run a cell that starts with = + - @ (or a tab or carriage return, which some of
them skip before such a sign) as a formula, so such cells get a leading apostrophe: a project named
`=HYPERLINK(...)` stays text (OWASP "CSV injection").
"""
import csv
from collections.abc import Iterable

# Rows are built in memory inside the request's transaction (no streaming: the transaction ends
# when the view returns), so the export is capped; the newest projects are kept.
EXPORT_ROW_LIMIT = 10_000
HEADER = ("name", "status", "owner_email", "created", "updated")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def write_projects(out, rows: Iterable[tuple]) -> None:
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for name, status, owner_email, created, updated in rows:
        writer.writerow([neutralise(name), status, neutralise(owner_email),
                         created.isoformat(timespec="seconds"), updated.isoformat(timespec="seconds")])
