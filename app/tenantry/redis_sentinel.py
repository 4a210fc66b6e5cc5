"""Redis behind Sentinel for django-redis: the settings' parsing, and a connection that follows the
master through a failover. tenantry.settings uses it when REDIS_SENTINELS is set."""
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured
from redis.backoff import ConstantBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry
from redis.sentinel import SentinelManagedConnection


def parse_sentinels(value: str) -> list[tuple[str, int]]:
    """REDIS_SENTINELS, "host:port,host:port,...", as django-redis wants it: [(host, port), ...]."""
    sentinels = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ImproperlyConfigured(f"REDIS_SENTINELS: {item!r} is not host:port.")
        sentinels.append((host.strip("[]"), int(port)))
    return sentinels


def location(master: str, redis_url: str = "") -> str:
    """The LOCATION of a cache behind Sentinel: redis://[credentials@]<master name>/<db>. REDIS_URL,
    when set, still gives the password and the database number; its host is not used."""
    url = urlsplit(redis_url or "redis:///0")
    if url.scheme != "redis":
        raise ImproperlyConfigured(f"REDIS_URL must be redis://... behind Sentinel, not {url.scheme}://.")
    credentials = url.netloc.rpartition("@")[0]
    return urlunsplit(("redis", f"{credentials}@{master}" if credentials else master,
                       f"/{url.path.strip('/') or '0'}", "", ""))


def retry(seconds: float, attempts: int = 4) -> Retry:
    """How long a cache command waits for a master while the Sentinels fail over: `attempts` more
    tries, `seconds / attempts` apart, on connection errors only (refused, reset, no master known),
    never on a timeout, so a Redis that hangs still costs a request SOCKET_TIMEOUT and no more. A
    command whose connection broke mid-way is retried as often, each time with a reconnection that
    may wait that long: with the defaults 25 s at worst, under gunicorn's 30 s timeout."""
    return Retry(ConstantBackoff(seconds / attempts), attempts, supported_errors=(RedisConnectionError,))


class SentinelFollowingConnection(SentinelManagedConnection):
    """A connection that always reconnects to the master the Sentinels name now. redis-py 8 reconnects
    a connection that broke mid-command to the address it had (send_packed_command ->
    connect_check_health, redis/redis-py#3874): the killed master, or, once that is back as an empty
    master for the seconds before the Sentinels demote it, a Redis without the user's session."""

    def send_packed_command(self, command, check_health=True):
        if not self._sock:
            self.connect()  # SentinelManagedConnection's: asks the Sentinels, with the retry above
        return super().send_packed_command(command, check_health)


def cache_options(sentinels: list[tuple[str, int]], retry_seconds: float) -> dict:
    """The OPTIONS a django-redis cache needs behind these Sentinels (LOCATION comes from location())."""
    return {"CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory", "SENTINELS": sentinels,
            "CONNECTION_POOL_KWARGS": {"retry": retry(retry_seconds), "connection_class": SentinelFollowingConnection}}
