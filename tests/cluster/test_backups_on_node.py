"""Backups as pods on the node: the backup-now annotation and `kubectl create job --from` both run a
Job of the tenant's CronJob in a pod, which writes its dump and manifest to the release's backup
volume; `status.lastBackup` names the file and its sha256, the file on the volume has that checksum,
a restore from the volume verifies every table's checksum, and retention prunes the volume."""
import hashlib
import json
import uuid
from pathlib import Path

import pytest

from localplatform import cluster, config
from localplatform.components import psql_admin
from node_client import NAMESPACE, RELEASE, eventually, kubectl
from testkit import tenants

pytestmark = [pytest.mark.usefixtures("the_node"), pytest.mark.timeout(900)]
DB = {"name": "cluster-postgres", "port": config.CLUSTER_PORTS["cluster-postgres"]}
RETENTION = 2


@pytest.fixture(scope="module")
def tenant():
    """A Tenant of its own, keeping `RETENTION` backups."""
    name = f"bk-{uuid.uuid4().hex[:6]}"
    manifest = tenants.tenant(name, displayName="Backup test", deletionPolicy="Delete", backup={"retention": RETENTION})
    kubectl("-n", NAMESPACE, "apply", "-f", "-", input=tenants.manifest(manifest))
    try:
        kubectl("-n", NAMESPACE, "wait", "--for=condition=Ready", f"tenant/{name}", "--timeout=180s")
        yield name
    finally:
        kubectl("-n", NAMESPACE, "delete", "tenant", name, "--ignore-not-found", "--timeout=180s")


def last_backup(name: str) -> dict:
    tenant = json.loads(kubectl("-n", NAMESPACE, "get", "tenant", name, "-o", "json").stdout)
    return tenant.get("status", {}).get("lastBackup") or {}


def finished_backup(name: str, **expected) -> dict:
    """status.lastBackup once it matches `expected` and has its result."""
    def done():
        last = last_backup(name)
        return last if "succeeded" in last and all(last.get(k) == v for k, v in expected.items()) else None
    return eventually(done, f"status.lastBackup of {name} with {expected}", timeout=240, every=2)


def on_the_volume(path: str) -> Path:
    """The host's view of a file the pods wrote under the chart's backup.dir."""
    return cluster.BACKUP_VOLUME / Path(path).relative_to("/backups")


def job_pod(job: str) -> dict:
    pods = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-l", f"job-name={job}", "-o", "json").stdout)["items"]
    assert pods, f"no pod of Job {job}"
    return pods[0]


def test_the_annotation_runs_a_backup_job_in_a_pod_that_writes_to_the_volume(tenant):
    kubectl("-n", NAMESPACE, "annotate", "--overwrite", "tenant", tenant, "tenantry.dev/backup-now=first")
    last = finished_backup(tenant, request="first")
    assert last["succeeded"] is True, last
    pod = job_pod(last["job"])
    assert pod["spec"]["nodeName"] == config.NODE_NAME and pod["status"]["phase"] == "Succeeded"
    assert pod["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] == "tenantry-backups"
    dump = on_the_volume(last["path"])
    assert hashlib.sha256(dump.read_bytes()).hexdigest() == last["sha256"]
    assert json.loads(dump.with_suffix(".json").read_text())["sha256"] == last["sha256"]


def test_a_job_made_from_the_cronjob_by_hand_is_recorded_and_restores_verified(tenant):
    job = f"by-hand-{uuid.uuid4().hex[:6]}"
    kubectl("-n", NAMESPACE, "create", "job", f"--from=cronjob/tenant-{tenant}-backup", job)
    last = finished_backup(tenant, job=job)
    assert last["succeeded"] is True and last["request"] == job, last
    assert hashlib.sha256(on_the_volume(last["path"]).read_bytes()).hexdigest() == last["sha256"]

    schema = f"restored_{uuid.uuid4().hex[:6]}"
    try:
        restored = kubectl("-n", NAMESPACE, "exec", f"deploy/{RELEASE}-operator", "--", "python", "-m", "django",
                           "restore_tenant", f"--manifest={last['path']}", f"--schema={schema}").stdout
        assert f"into {schema}; verified" in restored, restored
    finally:
        psql_admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE", db=config.DB_NAME, **DB)


def test_retention_prunes_the_volume(tenant):
    for n in range(RETENTION + 1):
        kubectl("-n", NAMESPACE, "annotate", "--overwrite", "tenant", tenant, f"tenantry.dev/backup-now=keep-{n}")
        assert finished_backup(tenant, request=f"keep-{n}")["succeeded"] is True
    folder = on_the_volume(last_backup(tenant)["path"]).parent
    assert len(list(folder.glob("*.dump"))) == len(list(folder.glob("*.json"))) == RETENTION
