"""Probes of the services the web app depends on, for /readyz."""
from django.db import connection
from django_redis import get_redis_connection


def check_postgresql() -> dict:
    settings = connection.settings_dict
    where = f"{settings['HOST']}:{settings['PORT']}" + (" (PgBouncer)" if settings.get("POOLED") else "")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "not ready"; the message says which
        connection.close()
        return {"ok": False, "via": where, "error": str(exc).strip()}
    return {"ok": True, "via": where}


def check_redis() -> dict:
    try:
        get_redis_connection("default").ping()
    except Exception as exc:
        return {"ok": False, "error": str(exc).strip()}
    return {"ok": True}


CHECKS = {"postgresql": check_postgresql, "redis": check_redis}


def readiness() -> tuple[bool, dict]:
    results = {name: check() for name, check in CHECKS.items()}
    return all(result["ok"] for result in results.values()), results
