"""gunicorn's logger without its access log.

With a logconfig_dict set, gunicorn formats an access line for every request (atoms, headers, time)
and hands it to `gunicorn.access`, which has no handler here: the request middleware writes the one
line per request, with the request id and tenant gunicorn cannot know. Profiled under the load test,
building those discarded lines was 2 % of a web worker's CPU.
"""
from gunicorn.glogging import Logger


class NoAccessLog(Logger):
    @property
    def access_log_enabled(self) -> bool:
        """gunicorn asks this before building an access line (and its workers before timing one)."""
        return False
