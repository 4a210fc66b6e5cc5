"""One JSON log format for Django and for gunicorn's own messages, so a log shipper parses every line.

Plain data (no Django imports): gunicorn's config reads it in the master before Django starts.
"""
from pythonjsonlogger.core import RESERVED_ATTRS

JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    # Kopf passes its live `settings` object as a log extra; it cannot be serialised (it holds async
    # generators), and a formatter error would replace every operator log line with a traceback.
    "reserved_attrs": [*RESERVED_ATTRS, "settings"],
}


def gunicorn_logconfig() -> dict:
    """gunicorn's error log in the same format. Its access log stays off: the request middleware
    writes the one line per request, with the request id and tenant gunicorn cannot know."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": JSON_FORMATTER},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json",
                                 "stream": "ext://sys.stderr"}},
        "loggers": {"gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False}},
    }
