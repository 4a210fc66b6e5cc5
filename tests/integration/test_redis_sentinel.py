"""Redis behind Sentinel: the Redis primary is killed with SIGKILL while logged-in users load pages,
Sentinel promotes the replica, the app follows it, and the users stay logged in.

It runs on a private set (primary, replica and three Sentinels on free ports, named after the run)
and a private gunicorn going through it, so killing that primary touches nothing `make up` or
another test run shares. The kill is `make chaos`'s fault "Redis primary killed" (chaos.faults).
A session survives because it reached the replica before the kill: replication is asynchronous, so
the test waits for the replica to acknowledge it first, as any session older than a second would be.
"""
import base64
import http.client
import threading
import time

import pytest
import yaml

from chaos.drill import recovery_seconds
from chaos.faults import kill_redis_primary
from chaos.load import Sample
from conftest import RUN_ID
from harness import new_tenant, run_tool, start_or_fail
from localplatform import config
from localplatform.components import web
from localplatform.sentinel import RedisSet, command, role
from localplatform.stack import discard
from testkit.background import Background
from testkit.browser import Browser, Reply
from testkit.net import free_port
from testkit.polling import wait_for

pytestmark = pytest.mark.integration
PASSWORD = "correct horse battery"
CLIENTS = 4
# Measured here: promoted 2.2 s after the kill (down-after 1 s, then two Sentinels agree and one is
# elected); the app served again within a few seconds (see the printed figures). Bounds with room.
PROMOTION_MAX_SECONDS = 10
RECOVERY_MAX_SECONDS = 15
SETTLE_SECONDS = 3


@pytest.fixture(scope="module")
def redis_set(services):
    """Primary, replica and three Sentinels of this run's own, every Sentinel knowing the others."""
    redis_set = RedisSet.private(RUN_ID, free_port(), free_port(), [free_port() for _ in range(3)])
    components = redis_set.components()
    start_or_fail(components)
    try:
        wait_for(redis_set.settled, "the private Sentinels to know the master, its replica and each other", 60)
        yield redis_set
    finally:
        for component in reversed(components):  # Sentinels first: no failover while the set goes away
            discard(component)


@pytest.fixture(scope="module")
def sentinel_web(database, redis_set):
    """This run's gunicorn on its own port, caching and keeping sessions through the private Sentinels."""
    server = web(name=f"web-sentinel-test-{RUN_ID}", port=free_port(), db_name=database, metrics_port=free_port(),
                 extra_env=redis_set.env())
    start_or_fail([server])
    yield server.port
    discard(server)


def resets_session(reply: Reply) -> bool:
    """Does the answer tell the browser to replace or forget its session cookie (Django does when it
    finds no session)?"""
    return any(cookie.startswith("sessionid=") for cookie in reply.headers.get("set-cookie", []))


def replica_acknowledged_everything(redis_set: RedisSet) -> None:
    """Wait until the replica has acknowledged every write the master has (it acks once a second)."""
    master = redis_set.current_master()
    offset = role(master)[1]

    def acknowledged():
        replicas = role(master)[2]
        return bool(replicas) and int(replicas[0][2]) >= offset

    wait_for(acknowledged, "the replica to acknowledge the master's writes", 10, every=0.1)


class DashboardLoad(Background):
    """`CLIENTS` threads loading the dashboard with one session cookie; a redirect to the login page
    counts as a failure (the session was not found), like an error or no answer. A browser would also
    drop its cookie when told to: `cookie_deletions` counts the responses that told it so."""

    def __init__(self, port: int, host: str, cookie: str):
        self.port, self.host, self.cookie = port, host, cookie
        self.samples: list[Sample] = []
        self.cookie_deletions = 0
        self._lock = threading.Lock()
        super().__init__([self._client] * CLIENTS)

    def _client(self) -> None:
        browser = Browser(self.port, self.host, timeout=20)
        while self.running():
            start = time.monotonic()
            try:
                reply = browser.get("/dashboard/", headers={"Cookie": self.cookie})
            except (OSError, http.client.HTTPException):
                reply = Reply(0, "", {})
            with self._lock:
                self.cookie_deletions += resets_session(reply)
                self.samples.append(Sample(start, time.monotonic(), reply.status == 200, "GET", reply.status))
            self.pause(0.02)


def test_killing_the_redis_primary_promotes_the_replica_and_logged_in_users_stay_logged_in(redis_set, sentinel_web):
    t = new_tenant()
    user = t.user(password=PASSWORD)
    browser = Browser(sentinel_web, t.host).log_in(user.email, PASSWORD)
    page = browser.get("/dashboard/")
    assert page.status == 200 and user.email in page.body, page.status
    # The session lives in the private Redis, under this run's cache prefix: not in `make up`'s.
    assert command(redis_set.primary[1], "DBSIZE") > 0
    replica_acknowledged_everything(redis_set)
    wait_for(redis_set.settled, "the Sentinels to be ready for a failover", 30)

    with DashboardLoad(sentinel_web, t.host, browser.cookie_header) as load:
        time.sleep(1)  # every thread has a kept Redis connection to the primary
        injected = time.monotonic()
        failover = kill_redis_primary(redis_set)
        time.sleep(SETTLE_SECONDS)
    samples = [s for s in load.samples if s.start >= injected]
    failed = [s.status for s in samples if not s.ok]
    recovered_after = recovery_seconds(samples, injected)
    print(f"\nRedis primary killed: {failover}; requests {len(samples)}, failed {len(failed)} "
          f"(statuses {sorted(set(failed))}), slowest {max(s.end - s.start for s in samples):.2f}s, "
          f"app recovered {recovered_after:.2f}s after the kill, session cookie deleted {load.cookie_deletions}x")

    assert (failover.old_port, failover.new_port) == (redis_set.primary[1], redis_set.replica[1]), failover
    assert failover.promoted_seconds < PROMOTION_MAX_SECONDS, failover
    assert recovered_after < RECOVERY_MAX_SECONDS, f"requests failed or were slow {recovered_after}s after the kill"
    # Requests waited for the new master rather than fail: nobody was logged out meanwhile.
    assert load.cookie_deletions == 0 and 302 not in failed, "a request found no session and logged the user out"
    assert failed == [], f"{len(failed)} requests failed across the failover: {failed}"
    last = [s for s in samples if s.start >= time.monotonic() - SETTLE_SECONDS]
    assert last and all(s.ok for s in last), "the dashboard still failed after the failover"
    # The killed primary is back, as the new master's replica.
    assert redis_set.replicating(redis_set.primary[1], redis_set.replica[1])
    assert role(redis_set.replica[1])[0] == "master"
    # Same cookie, still logged in: no redirect to the login page, the user's own dashboard.
    page = browser.get("/dashboard/")
    assert page.status == 200 and user.email in page.body, (page.status, page.header("location"))
    assert not resets_session(page), "the session was replaced, not kept"
    ready = browser.get("/readyz")
    assert ready.status == 200 and '"redis": {"ok": true}' in ready.body, ready.body
    # And a stranger without the cookie is still sent to the login page (the check means something).
    stranger = Browser(sentinel_web, t.host).get("/dashboard/")
    assert stranger.status == 302 and stranger.header("location").startswith("/accounts/login/"), stranger.status


def test_a_broken_connection_reconnects_to_the_master_the_sentinels_name_not_to_its_old_address(redis_set):
    """redis-py retries a command whose connection broke on a reconnection to the address that
    connection had (redis/redis-py#3874); the settings' connection class asks the Sentinels instead,
    so a killed master that is back, empty, is never written to or read from."""
    from redis import Redis
    from redis.sentinel import Sentinel, SentinelConnectionPool

    from tenantry.redis_sentinel import SentinelFollowingConnection
    from tenantry.redis_sentinel import retry as sentinel_retry

    sentinels = Sentinel([(config.HOST, port) for port in redis_set.sentinel_ports], socket_timeout=2)
    pool = SentinelConnectionPool(redis_set.master, sentinels, connection_class=SentinelFollowingConnection,
                                  retry=sentinel_retry(4), socket_timeout=2)
    client = Redis(connection_pool=pool)
    assert client.ping()
    conn = pool.get_connection()
    try:
        master = conn.port
        conn.disconnect()
        conn.port = free_port()  # where the old master was: nothing, or an empty Redis, listens there now
        conn.send_command("ROLE")
        assert conn.port == master and conn.read_response()[0] == b"master"
    finally:
        pool.release(conn)
        pool.disconnect()


# --- The chart: a Sentinel set of one's own, or Redis as before ------------------------------------------

CHART = config.ROOT / "charts" / "tenantry"


def render(values_file, *extra, check: bool = True):
    result = run_tool(config.BIN / "helm", "template", "r", CHART, "-f", values_file, *extra, check=check)
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc] if check else result


def _env_of(docs: list[dict], kind: str, name: str) -> tuple[dict[str, str], list[dict]]:
    doc = next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)
    [container] = doc["spec"]["template"]["spec"]["containers"][:1]
    return {e["name"]: e.get("value") for e in container.get("env", [])}, container.get("envFrom", [])


def test_the_chart_points_web_operator_and_migrations_at_the_sentinels():
    docs = render(CHART / "ci" / "sentinel-values.yaml")
    settings = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "r-tenantry-settings")
    hosts = ",".join(f"redis-node-{n}.redis-headless.cache.svc:26379" for n in range(3))
    assert (settings["data"]["REDIS_SENTINELS"], settings["data"]["REDIS_SENTINEL_MASTER"]) == (hosts, "cache")
    for name in ("r-tenantry-web", "r-tenantry-operator"):  # both read the ConfigMap whole
        _, env_from = _env_of(docs, "Deployment", name)
        assert {"configMapRef": {"name": "r-tenantry-settings"}} in env_from, name
    migrate, _ = _env_of(docs, "Job", "r-tenantry-migrate")
    assert (migrate["REDIS_SENTINELS"], migrate["REDIS_SENTINEL_MASTER"]) == (hosts, "cache")
    secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == "r-tenantry-app")
    assert base64.b64decode(secret["data"]["REDIS_URL"]).decode() == "redis://:ci-redis-password@unused/1"
    assert not any(d["metadata"]["name"] == "r-tenantry-redis" for d in docs), "a bundled Redis beside Sentinel"


def test_without_sentinel_the_chart_renders_redis_as_before():
    for values in ("default-values.yaml", "external-redis-values.yaml"):
        docs = render(CHART / "ci" / values)
        settings = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "r-tenantry-settings")
        assert not {"REDIS_SENTINELS", "REDIS_SENTINEL_MASTER"} & set(settings["data"]), values
        migrate, _ = _env_of(docs, "Job", "r-tenantry-migrate")
        assert "REDIS_SENTINELS" not in migrate, values


def test_the_template_refuses_sentinel_beside_the_bundled_redis_even_without_the_schema():
    result = render(CHART / "ci" / "default-values.yaml", "--set", "redis.sentinel.enabled=true",
                    "--set", "redis.sentinel.hosts={s:26379}", "--skip-schema-validation", check=False)
    assert result.returncode != 0 and "redis.sentinel.enabled needs redis.enabled false" in result.stderr
    result = render(CHART / "ci" / "default-values.yaml", "--set", "redis.enabled=false",
                    "--set", "redis.sentinel.enabled=true", "--skip-schema-validation", check=False)
    assert result.returncode != 0 and "redis.sentinel.hosts is required" in result.stderr
