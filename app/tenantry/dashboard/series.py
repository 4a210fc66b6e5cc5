"""Pure date arithmetic for the weekly chart (weeks start on Monday, as PostgreSQL's date_trunc)."""
from datetime import date, timedelta


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def zero_filled_weeks(counts: dict[date, int], first_week: date, weeks: int) -> dict[str, list]:
    """Chart.js labels and values for `weeks` consecutive weeks from `first_week`, 0 where no row."""
    starts = [first_week + timedelta(weeks=n) for n in range(weeks)]
    return {"labels": [start.isoformat() for start in starts], "counts": [counts.get(start, 0) for start in starts]}
