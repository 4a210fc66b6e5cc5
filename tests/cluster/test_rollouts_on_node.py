"""Day-two rollouts under load on the node: `helm upgrade` to a new image and back, a PgBouncer
rollout, and a PostgreSQL restart, each while API clients write and read through Traefik. An upgrade
and a PgBouncer rollout must fail no request and lose no acknowledged write; the migration hook must
finish before the first new web pod exists. Figures go to .local/cluster/reports/rollouts.txt."""
import json
import time
from datetime import datetime

import pytest

from chaos.faults import restart
from localplatform import cluster, config, images, node
from localplatform.stack import DEMO_PASSWORD
from node_client import (
    NAMESPACE,
    RELEASE,
    api_load,
    browser_session,
    eventually,
    failures,
    helm,
    kubectl,
    ledger_of,
    p95_ms,
    report,
    signed_in,
)

pytestmark = [pytest.mark.usefixtures("the_node"), pytest.mark.timeout(900)]
CHART = config.ROOT / "charts" / "tenantry"
FIGURES: list[str] = []


def helm_upgrade(*extra: str) -> None:
    helm("upgrade", RELEASE, CHART, "--namespace", NAMESPACE, "-f", cluster.VALUES, "-f", cluster.IMAGE_VALUES,
         *extra, "--wait", "--timeout", "8m")


def web_images() -> set[str]:
    pods = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-l", "app.kubernetes.io/component=web",
                              "-o", "json").stdout)["items"]
    return {p["spec"]["containers"][0]["image"] for p in pods if not p["metadata"].get("deletionTimestamp")}


def moment(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def migration_finished_before_new_pods(since: datetime, image: str) -> tuple[datetime, datetime]:
    """(when the migration Job completed, when the first web pod of `image` was created). The Job
    itself is gone (hook-succeeded), its Completed event stays."""
    events = json.loads(kubectl("-n", NAMESPACE, "get", "events", "-o", "json").stdout)["items"]
    completed = [moment(e["lastTimestamp"] or e["eventTime"]) for e in events
                 if e["involvedObject"]["kind"] == "Job" and e["involvedObject"]["name"].endswith("-migrate")
                 and e["reason"] == "Completed" and moment(e["lastTimestamp"] or e["eventTime"]) >= since]
    pods = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-l", "app.kubernetes.io/component=web",
                              "-o", "json").stdout)["items"]
    created = [moment(p["metadata"]["creationTimestamp"]) for p in pods if p["spec"]["containers"][0]["image"] == image]
    assert completed, f"no Completed event of the migration Job since {since}"
    assert created, f"no web pod runs {image}"
    return min(completed), min(created)


def rolled(name: str, load, began: float) -> str:
    samples = load.samples(began)
    return (f"{name}: {len(samples)} requests, {failures(samples)} failed, p95 {p95_ms(samples)} ms")


@pytest.fixture(scope="module", autouse=True)
def figures():
    yield
    report("rollouts", "\n".join(FIGURES))


def test_a_helm_upgrade_to_a_new_image_and_back_fails_no_request_and_loses_no_write():
    base = images.cluster_images()["tenantry"]
    new = images.rebuilt(base, "upgrade-test")
    node.import_image(new.ref, images.ensure(new, prune=False))
    new_tag = new.ref.rsplit(":", 1)[1]
    since = datetime.now().astimezone().replace(microsecond=0)
    # The release generated its Django secret key (devenv sets none): upgrades must keep it, or every
    # logged-in person would be logged out.
    session = browser_session("acme.localhost", "owner@acme.example.com", DEMO_PASSWORD)
    assert signed_in("acme.localhost", session)
    with api_load(clients=4) as load:
        time.sleep(5)
        began = time.monotonic()
        helm_upgrade("--set", f"image.tag={new_tag}")
        eventually(lambda: web_images() == {new.ref}, "only web pods of the new image", timeout=180)
        migrated, first_pod = migration_finished_before_new_pods(since, new.ref)
        time.sleep(10)  # the old pods' drain is over before the figures are read
        upgraded = time.monotonic()
        helm_upgrade()
        eventually(lambda: web_images() == {base.ref}, "only web pods of the first image again", timeout=180)
        time.sleep(10)
    ledger = ledger_of(load)
    FIGURES.append(rolled("helm upgrade to a new image and back", load, began)
                   + f" ({len(load.samples(began, upgraded))} requests during the upgrade, the rest going back)")
    FIGURES.append(f"  writes acknowledged {ledger.acknowledged}, lost {len(ledger.lost)}, "
                   f"duplicated {len(ledger.duplicated)}")
    FIGURES.append(f"  migration Job completed {migrated:%H:%M:%S}, first new web pod created {first_pod:%H:%M:%S}")

    assert failures(load.samples(began)) == 0, rolled("upgrade", load, began)
    assert not ledger.lost and not ledger.duplicated, ledger
    assert migrated <= first_pod
    assert signed_in("acme.localhost", session), "the session did not survive the upgrades"


def test_a_pgbouncer_rollout_fails_no_request():
    with api_load(clients=4) as load:
        time.sleep(5)
        began = time.monotonic()
        kubectl("-n", NAMESPACE, "rollout", "restart", f"deploy/{RELEASE}-pgbouncer")
        kubectl("-n", NAMESPACE, "rollout", "status", f"deploy/{RELEASE}-pgbouncer", "--timeout=180s")
        time.sleep(10)
    ledger = ledger_of(load)
    FIGURES.append(rolled("PgBouncer rollout (kubectl rollout restart)", load, began)
                   + f"; writes lost {len(ledger.lost)}, duplicated {len(ledger.duplicated)}")
    assert failures(load.samples(began)) == 0, FIGURES[-1]
    assert not ledger.lost and not ledger.duplicated, ledger


def test_a_postgresql_restart_is_survived_and_measured():
    """PostgreSQL outside the cluster, fast-restarted: requests in flight may fail (a write's outcome
    is unknown to the client), but nothing acknowledged is lost and the pods recover by themselves."""
    with api_load(clients=4) as load:
        time.sleep(5)
        began = time.monotonic()
        restart(node.cluster_postgres())
        restarted = time.monotonic()
        eventually(lambda: load.samples(time.monotonic() - 3) and not failures(load.samples(time.monotonic() - 3)),
                   "requests to succeed again after the PostgreSQL restart", timeout=60)
        recovered = time.monotonic()
        time.sleep(5)
    ledger = ledger_of(load)
    FIGURES.append(rolled("PostgreSQL fast restart", load, began)
                   + f"; restart took {restarted - began:.1f}s, all requests succeeding again "
                     f"{recovered - began:.1f}s after it began; writes lost {len(ledger.lost)}, "
                     f"duplicated {len(ledger.duplicated)}")
    assert not ledger.lost and not ledger.duplicated, ledger
