"""The Helm chart against the real kube-apiserver of the local platform: lint, render, server-side
dry run, install, upgrade, uninstall, and values the schema refuses.

There is no kubelet: pods never run. So `helm install` is given `--no-hooks` (the pre-install
migration Job would never complete and helm would wait for it until its timeout); the hook objects
(Job, its ServiceAccount and Secret, the test Pod) are checked by the server-side dry run instead.
"""
import base64
import os
import re
import shutil
import subprocess
import urllib.request

import dj_database_url
import pytest
import yaml

from harness import kubectl_run, run_tool, scratch_namespace
from localplatform import config
from testkit import tenants
from testkit.net import free_port
from testkit.polling import wait_for

CHART = config.ROOT / "charts" / "tenantry"
HELM = config.BIN / "helm"
KUBECTL = config.BIN / "kubectl"
DEFAULT_VALUES = CHART / "ci" / "default-values.yaml"
CERT_MANAGER_VALUES = CHART / "ci" / "cert-manager-values.yaml"
EXTERNAL_REDIS_VALUES = CHART / "ci" / "external-redis-values.yaml"
MONITORING_VALUES = CHART / "ci" / "monitoring-values.yaml"
CERT_MANAGER_GROUP = "cert-manager.io/v1"

# The real kube-apiserver answers the dry runs and installs: started by the harness if needed.
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("services")]


def helm(*args, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    assert HELM.exists(), f"{HELM} is missing: `make deps` builds it"
    return run_tool(HELM, f"--kubeconfig={config.KUBECONFIG}", *args, check=check, input=input)


def render(values_file, *extra, namespace: str = "default") -> list[dict]:
    out = helm("template", "r", CHART, "-n", namespace, "-f", values_file, *extra).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture
def namespace():
    with scratch_namespace("chart-test") as name:
        yield name


@pytest.mark.parametrize("values_file", [DEFAULT_VALUES, CERT_MANAGER_VALUES, EXTERNAL_REDIS_VALUES, MONITORING_VALUES],
                         ids=lambda p: p.name)
def test_helm_lint_strict_passes(values_file):
    result = helm("lint", "--strict", CHART, "-f", values_file)
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("values_file", [DEFAULT_VALUES, EXTERNAL_REDIS_VALUES, MONITORING_VALUES],
                         ids=lambda p: p.name)
def test_values_pass_a_server_side_dry_run(namespace, values_file, request):
    if values_file == MONITORING_VALUES:
        request.getfixturevalue("monitoring_crds")  # ServiceMonitor and PrometheusRule are known kinds
    docs = render(values_file, namespace=namespace)
    text = yaml.safe_dump_all(docs)
    result = kubectl_run("apply", "--dry-run=server", "-n", namespace, "-f", "-", input=text)
    for doc in docs:
        # e.g. `networkpolicy.networking.k8s.io/r-tenantry-web created (server dry run)`
        name = re.escape(doc["metadata"]["name"])
        line = rf"^{doc['kind'].lower()}(\.[a-z0-9.]+)?/{name} created \(server dry run\)$"
        assert re.search(line, result.stdout, re.MULTILINE), (doc["kind"], doc["metadata"]["name"])
    assert {d["kind"] for d in docs} >= {"Job", "Pod", "Secret", "ServiceAccount"}  # hooks are in the stream
    assert {d["kind"] for d in docs} >= {"NetworkPolicy", "ConfigMap", "Service", "Deployment"}


def test_cert_manager_values_fail_the_dry_run_only_on_the_missing_cert_manager_kinds(namespace):
    """cert-manager's CRDs are not installed here: everything else must pass the server-side dry run,
    and the cert-manager objects (Certificate, self-signed Issuer) must fail only as unknown kinds."""
    docs = render(CERT_MANAGER_VALUES, namespace=namespace)
    ours = [d for d in docs if d["apiVersion"] != CERT_MANAGER_GROUP]
    theirs = [d for d in docs if d["apiVersion"] == CERT_MANAGER_GROUP]
    assert {d["kind"] for d in theirs} == {"Certificate", "Issuer"}
    assert {"HorizontalPodAutoscaler", "Ingress"} <= {d["kind"] for d in ours}
    assert not any(d["kind"] == "Secret" for d in ours if "webhook" in d["metadata"]["name"]), \
        "with cert-manager the chart must not make the webhook certificate itself"

    result = kubectl_run("apply", "--dry-run=server", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(ours))
    for doc in ours:
        assert f"/{doc['metadata']['name']} created (server dry run)" in result.stdout, doc["kind"]

    result = kubectl_run("apply", "--dry-run=server", "-n", namespace, "-f", "-", input=yaml.safe_dump_all(theirs),
                     check=False)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line and line != "ensure CRDs are installed first"]
    assert len(errors) == len(theirs), result.stderr
    for line in errors:
        assert f'in version "{CERT_MANAGER_GROUP}"' in line and "no matches for kind" in line, line


def test_install_upgrade_uninstall(namespace):
    release = "r"
    cluster_name = f"{namespace}-{release}-tenantry-operator"
    helm("install", release, CHART, "-n", namespace, "-f", DEFAULT_VALUES, "--no-hooks")

    expected = {
        "deployment": {f"{release}-tenantry-{c}" for c in ("web", "operator", "pgbouncer", "redis")},
        "service": {f"{release}-tenantry-{c}" for c in ("web", "operator", "pgbouncer", "redis")},
        "networkpolicy": {f"{release}-tenantry-{c}" for c in ("web", "operator", "pgbouncer", "redis")},
        "poddisruptionbudget": {f"{release}-tenantry-web"},
        "configmap": {f"{release}-tenantry-settings", f"{release}-tenantry-pgbouncer"},
        "secret": {f"{release}-tenantry-app", f"{release}-tenantry-webhook-tls", f"{release}-tenantry-pgbouncer"},
        "serviceaccount": {f"{release}-tenantry-operator"},
        "role": {f"{release}-tenantry-operator"},
        "rolebinding": {f"{release}-tenantry-operator"},
        "kopfpeerings.kopf.dev": {f"{release}-tenantry"},
    }
    for kind, names in expected.items():
        found = kubectl_run("get", kind, "-n", namespace, "-l", f"app.kubernetes.io/instance={release}",
                        "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
        assert names <= set(found), f"{kind}: expected {names}, found {found}"
    for kind in ("clusterrole", "clusterrolebinding"):
        kubectl_run("get", kind, cluster_name)
    # The hooks skipped above are still part of the release.
    hooks = [d for d in yaml.safe_load_all(helm("get", "hooks", release, "-n", namespace).stdout) if d]
    assert {(d["kind"], d["metadata"]["name"]) for d in hooks} == {
        ("Job", f"{release}-tenantry-migrate"), ("ServiceAccount", f"{release}-tenantry-migrate"),
        ("Secret", f"{release}-tenantry-migrate"), ("Pod", f"{release}-tenantry-test-readyz")}

    # Least privilege, asked of the API server's RBAC authorizer as the operator's ServiceAccount.
    account = f"system:serviceaccount:{namespace}:{release}-tenantry-operator"
    allowed = [
        ("patch", "tenants.tenantry.dev", namespace), ("patch", "tenants.tenantry.dev/status", namespace),
        ("watch", "tenants.tenantry.dev", namespace), ("patch", "kopfpeerings.kopf.dev", namespace),
        ("create", "ingresses.networking.k8s.io", namespace), ("patch", "cronjobs.batch", namespace),
        ("create", "events", namespace), ("list", "customresourcedefinitions.apiextensions.k8s.io", None),
        ("watch", "namespaces", None),
        ("create", "validatingwebhookconfigurations.admissionregistration.k8s.io", None),
        ("patch", f"validatingwebhookconfigurations.admissionregistration.k8s.io/tenantry.dev.{namespace}", None),
        # Kopf manages a mutating configuration beside the validating one (an empty one here).
        ("create", "mutatingwebhookconfigurations.admissionregistration.k8s.io", None),
        ("patch", f"mutatingwebhookconfigurations.admissionregistration.k8s.io/tenantry.dev.{namespace}", None),
    ]
    denied = [
        ("get", "secrets", namespace), ("list", "tenants.tenantry.dev", "default"),
        ("create", "ingresses.networking.k8s.io", "default"), ("delete", "cronjobs.batch", namespace),
        ("patch", "validatingwebhookconfigurations.admissionregistration.k8s.io/someone-else", None),
        ("patch", "mutatingwebhookconfigurations.admissionregistration.k8s.io/someone-else", None),
        ("create", "deployments.apps", namespace),
    ]
    for verb, resource, ns in allowed + denied:
        scope = ["-n", ns] if ns else []
        answer = kubectl_run("auth", "can-i", verb, resource, "--as", account, *scope, check=False).stdout.strip()
        want = "yes" if (verb, resource, ns) in allowed else "no"
        assert answer == want, f"operator can-i {verb} {resource} in {ns or 'the cluster'}: {answer}, want {want}"

    def replicas() -> str:
        return kubectl_run("get", "deployment", f"{release}-tenantry-web", "-n", namespace,
                       "-o", "jsonpath={.spec.replicas}").stdout

    def webhook_cert() -> str:
        return kubectl_run("get", "secret", f"{release}-tenantry-webhook-tls", "-n", namespace,
                       "-o", "jsonpath={.data.tls\\.crt}").stdout

    assert replicas() == "2"
    cert = webhook_cert()
    helm("upgrade", release, CHART, "-n", namespace, "-f", DEFAULT_VALUES, "--set", "web.replicas=3", "--no-hooks")
    assert replicas() == "3"
    assert webhook_cert() == cert, "the webhook certificate must survive an upgrade (lookup)"

    helm("uninstall", release, "-n", namespace)
    gone = kubectl_run("get", "deployment", f"{release}-tenantry-web", "-n", namespace, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr
    assert kubectl_run("get", "clusterrole", cluster_name, check=False).returncode != 0
    # The CRDs stay (Helm never deletes what crds/ installed), as the chart README says.
    kubectl_run("get", "crd", "tenants.tenantry.dev", "kopfpeerings.kopf.dev")
    readme = (CHART / "README.md").read_text()
    assert "## Uninstall: what stays" in readme and "tenants.tenantry.dev" in readme


# --- the required values only, and the generated DJANGO_SECRET_KEY ---------------------------------


def test_the_minimal_values_are_only_the_base_domain_and_the_database_connection():
    """ci/default-values.yaml is what chart-testing installs with, and what the README's first lines
    call required: it must stay minimal and pass `helm lint --strict`."""
    values = yaml.safe_load(DEFAULT_VALUES.read_text())
    assert values == {"baseDomain": values["baseDomain"],
                      "database": {"host": values["database"]["host"], "password": values["database"]["password"]}}
    result = helm("lint", "--strict", CHART, "-f", DEFAULT_VALUES)
    assert "0 chart(s) failed" in result.stdout
    readme_top = "\n".join((CHART / "README.md").read_text().splitlines()[:8])
    for value in ("baseDomain", "database.host", "database.password"):
        assert f"`{value}`" in readme_top, f"the chart README's first lines do not name {value}"


def _app_secret_key(docs: list[dict], name: str = "r-tenantry-app") -> str:
    return _secret_data(docs, name)["DJANGO_SECRET_KEY"]


def test_the_secret_key_is_generated_once_per_render_for_the_app_and_the_migration_hook():
    """Without a cluster (lookup is empty) every render draws a new key, but within one render the
    release's Secret and the migration hook's Secret (created before it on a first install) carry the
    same one, and so do the checksum annotations that roll the pods."""
    first, second = render(DEFAULT_VALUES), render(DEFAULT_VALUES)
    key = _app_secret_key(first)
    assert len(key) == 50 and key.isalnum()
    assert _app_secret_key(first, "r-tenantry-migrate") == key
    assert _app_secret_key(second) != key
    checksums = {d["spec"]["template"]["metadata"]["annotations"]["checksum/secret"] for d in first
                 if d["kind"] == "Deployment" and d["metadata"]["name"] in ("r-tenantry-web", "r-tenantry-operator")}
    assert len(checksums) == 1
    # A chosen key wins, in both Secrets.
    docs = render(DEFAULT_VALUES, "--set-string", "secrets.secretKey=chosen-key")
    assert _app_secret_key(docs) == _app_secret_key(docs, "r-tenantry-migrate") == "chosen-key"


def _installed_key(namespace: str, release: str = "r") -> str:
    data = kubectl_run("get", "secret", f"{release}-tenantry-app", "-n", namespace,
                       "-o", "jsonpath={.data.DJANGO_SECRET_KEY}").stdout
    return base64.b64decode(data).decode()


def test_install_generates_the_secret_key_and_upgrades_keep_it(namespace):
    """A real install with the minimal values only. `--no-hooks`: there is no kubelet, so the
    pre-install migration Job would never complete and helm would wait for it until its timeout; the
    hook's Secret is checked in the release's stored hooks instead. Nothing else is overridden: the
    image is never pulled (no pod runs), so no pull settings matter here."""
    release = "r"
    helm("install", release, CHART, "-n", namespace, "-f", DEFAULT_VALUES, "--no-hooks")
    key = _installed_key(namespace)
    assert len(key) == 50 and key.isalnum()
    # The migration hook of the first install got the same key, though it runs before this Secret exists.
    hooks = [d for d in yaml.safe_load_all(helm("get", "hooks", release, "-n", namespace).stdout) if d]
    assert _app_secret_key(hooks, f"{release}-tenantry-migrate") == key

    def web_checksum() -> str:
        return kubectl_run("get", "deployment", f"{release}-tenantry-web", "-n", namespace,
                           "-o", "jsonpath={.spec.template.metadata.annotations.checksum/secret}").stdout

    checksum = web_checksum()
    helm("upgrade", release, CHART, "-n", namespace, "-f", DEFAULT_VALUES, "--no-hooks")
    assert _installed_key(namespace) == key, "an upgrade must keep the generated key (lookup)"
    assert web_checksum() == checksum, "an upgrade that changes nothing must not roll the pods"
    hooks = [d for d in yaml.safe_load_all(helm("get", "hooks", release, "-n", namespace).stdout) if d]
    assert _app_secret_key(hooks, f"{release}-tenantry-migrate") == key
    # A chosen key replaces it, and is kept when the value is dropped again.
    helm("upgrade", release, CHART, "-n", namespace, "-f", DEFAULT_VALUES, "--no-hooks",
         "--set-string", "secrets.secretKey=chosen-key")
    assert _installed_key(namespace) == "chosen-key"
    helm("upgrade", release, CHART, "-n", namespace, "-f", DEFAULT_VALUES, "--no-hooks")
    assert _installed_key(namespace) == "chosen-key"
    # The generated key is in the Secret only, not in the values Helm stores for the release.
    assert key not in helm("get", "values", release, "-n", namespace, "--all").stdout
    helm("uninstall", release, "-n", namespace)
    gone = kubectl_run("get", "secret", f"{release}-tenantry-app", "-n", namespace, check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def test_an_existing_secret_wins_and_the_chart_generates_none(namespace):
    """`secrets.existingSecret`: no Secret of the chart's, no key generated, every pod reads the
    given Secret, which the install and upgrade leave as it was. `--no-hooks` as above."""
    release, mine = "r", "my-app-secrets"
    url = "postgresql://u:p@db/x"
    kubectl_run("create", "secret", "generic", mine, "-n", namespace, "--from-literal=DJANGO_SECRET_KEY=mine",
                f"--from-literal=DATABASE_URL={url}", f"--from-literal=DATABASE_POOLED_URL={url}",
                "--from-literal=REDIS_URL=redis://cache:6379/0")
    before = kubectl_run("get", "secret", mine, "-n", namespace, "-o", "jsonpath={.metadata.resourceVersion}").stdout
    for verb in ("install", "upgrade"):
        helm(verb, release, CHART, "-n", namespace, "-f", DEFAULT_VALUES, "--set", f"secrets.existingSecret={mine}",
             "--no-hooks")
    secrets = kubectl_run("get", "secret", "-n", namespace, "-l", f"app.kubernetes.io/instance={release}",
                          "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
    assert f"{release}-tenantry-app" not in secrets and f"{release}-tenantry-migrate" not in secrets, secrets
    assert kubectl_run("get", "secret", mine, "-n", namespace,
                       "-o", "jsonpath={.metadata.resourceVersion}").stdout == before, "the chart changed my Secret"
    for component in ("web", "operator"):
        spec = yaml.safe_load(kubectl_run("get", "deployment", f"{release}-tenantry-{component}", "-n", namespace,
                                          "-o", "yaml").stdout)["spec"]["template"]["spec"]
        container = spec["containers"][0]
        assert {"secretRef": {"name": mine}} in container["envFrom"], component
        refs = [e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", [])
                if "secretKeyRef" in e.get("valueFrom", {})]
        assert set(refs) <= {mine}, (component, refs)
    hooks = [d for d in yaml.safe_load_all(helm("get", "hooks", release, "-n", namespace).stdout) if d]
    assert not [d for d in hooks if d["kind"] == "Secret"]
    job = next(d for d in hooks if d["kind"] == "Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["envFrom"] == [{"secretRef": {"name": mine}}]
    helm("uninstall", release, "-n", namespace)
    kubectl_run("get", "secret", mine, "-n", namespace)  # still there: it was never the chart's


BAD_VALUES = {
    "string for web.replicas": (["--set-string", "web.replicas=3"], ["/web/replicas", "want integer"]),
    "no secret source": ([], ["/database/password"]),
    "invalid baseDomain": (["--set", "baseDomain=Not_A_Domain"], ["/baseDomain", "Not_A_Domain"]),
    "external Redis without a URL": (["--set", "redis.enabled=false"], ["/secrets/redisUrl"]),
    "PgBouncer without a userlist source": (
        ["--set", "secrets.existingSecret=app-secrets", "--set", "database.password="], ["/database/password"]),
    "string for pgbouncer.defaultPoolSize": (["--set-string", "pgbouncer.defaultPoolSize=20"],
                                             ["/pgbouncer/defaultPoolSize", "want integer"]),
    "unknown networkPolicy key": (["--set", "networkPolicy.ingressNamespace=nginx"],
                                  ["/networkPolicy", "ingressNamespace"]),
    "web metrics on gunicorn's port": (["--set", "web.metricsPort=8000"], ["/web/metricsPort"]),
    "number for monitoring.interval": (["--set", "monitoring.interval=30"], ["/monitoring/interval", "want string"]),
}


@pytest.mark.parametrize("case", BAD_VALUES, ids=list(BAD_VALUES))
@pytest.mark.parametrize("command", ["lint", "template"])
def test_bad_values_fail_naming_the_value(case, command):
    args, messages = BAD_VALUES[case]
    required = [] if case == "no secret source" else ["-f", DEFAULT_VALUES]
    base = ["--set", "baseDomain=tenantry.example.com"] if case == "no secret source" else []
    argv = ["lint", "--strict", CHART] if command == "lint" else ["template", "r", CHART]
    result = helm(*argv, *required, *base, *args, check=False)
    assert result.returncode != 0, f"{case}: helm {command} accepted it"
    output = result.stdout + result.stderr
    for message in messages:
        assert message in output, f"{case}: {message!r} not in helm {command}'s message:\n{output}"


def test_the_template_names_the_missing_redis_url_even_without_the_schema():
    result = helm("template", "r", CHART, "-f", DEFAULT_VALUES, "--set", "redis.enabled=false",
                  "--skip-schema-validation", check=False)
    assert result.returncode != 0
    assert "secrets.redisUrl is required when redis.enabled is false" in result.stderr, result.stderr


def _pod_specs(docs: list[dict]) -> dict[str, dict]:
    return {d["metadata"]["name"]: (d["spec"] if d["kind"] == "Pod" else d["spec"]["template"]["spec"])
            for d in docs if d["kind"] in ("Deployment", "Job", "Pod")}


@pytest.mark.parametrize("values_file", [DEFAULT_VALUES, EXTERNAL_REDIS_VALUES], ids=lambda p: p.name)
def test_every_rendered_pod_is_hardened(values_file):
    """Every Deployment, Job and Pod of the chart, the data tier's (and the exporter sidecar) included."""
    docs = render(values_file)
    pods = _pod_specs(docs)
    data_tier = {"r-tenantry-pgbouncer"} | ({"r-tenantry-redis"} if values_file == DEFAULT_VALUES else set())
    assert data_tier <= set(pods), set(pods)
    if values_file == EXTERNAL_REDIS_VALUES:
        assert "r-tenantry-redis" not in pods
        names = [c["name"] for c in pods["r-tenantry-pgbouncer"]["containers"]]
        assert names == ["pgbouncer", "exporter"]
    for name, pod in pods.items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in pod["containers"]:
            sc = container["securityContext"]
            where = f"{name}/{container['name']}"
            assert sc["runAsNonRoot"] is True and sc["allowPrivilegeEscalation"] is False, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["capabilities"] == {"drop": ["ALL"]}, where
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, where
            assert container["resources"].get("limits", {}).get("memory"), where
    for name in data_tier:
        assert pods[name]["automountServiceAccountToken"] is False, name
    mounts = {m["mountPath"] for m in pods["r-tenantry-pgbouncer"]["containers"][0]["volumeMounts"]}
    assert {"/tmp", "/etc/pgbouncer/pgbouncer.ini", "/etc/pgbouncer/auth"} <= mounts
    if "r-tenantry-redis" in pods:
        redis = pods["r-tenantry-redis"]["containers"][0]
        assert {m["mountPath"] for m in redis["volumeMounts"]} == {"/data"}
        command = redis["command"]
        assert command[command.index("--save") + 1] == "" and command[command.index("--appendonly") + 1] == "no"


def test_every_pod_is_hardened_and_the_web_pods_are_probed():
    docs = render(DEFAULT_VALUES)
    pods = _pod_specs(docs)
    assert set(pods) == {"r-tenantry-web", "r-tenantry-operator", "r-tenantry-migrate", "r-tenantry-test-readyz",
                         "r-tenantry-pgbouncer", "r-tenantry-redis"}
    for name, pod in pods.items():
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 10001, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert "resources" in container, name
    for name in ("r-tenantry-web", "r-tenantry-operator", "r-tenantry-migrate"):
        mounts = {m["mountPath"] for m in pods[name]["containers"][0]["volumeMounts"]}
        assert "/tmp" in mounts, f"{name}: a read-only root needs an emptyDir at /tmp"
    web = pods["r-tenantry-web"]["containers"][0]
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert pods["r-tenantry-web"]["topologySpreadConstraints"]
    assert pods["r-tenantry-migrate"]["automountServiceAccountToken"] is False
    # The deploy command make up runs too: public, template and tenant migrations in one process.
    assert pods["r-tenantry-migrate"]["containers"][0]["command"] == ["python", "-m", "django", "deploy"]
    operator = pods["r-tenantry-operator"]["containers"][0]
    assert "--peering=r-tenantry" in operator["command"] and "--namespace=default" in operator["command"]


def _secret_data(docs: list[dict], name: str) -> dict[str, str]:
    secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == name)
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_web_goes_through_pgbouncer_and_the_operator_and_migrations_connect_directly():
    password = "p@ss w+rd/:%?#"
    docs = render(DEFAULT_VALUES, "--set", "database.host=pg.db", "--set", "database.pooledHost=bouncer.db",
                  "--set", "pgbouncer.enabled=false", "--set-string", f"database.password={password}")
    assert not any("pgbouncer" in d["metadata"]["name"] for d in docs), "pgbouncer.enabled=false renders none"
    secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == "r-tenantry-app")
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    direct, pooled = dj_database_url.parse(data["DATABASE_URL"]), dj_database_url.parse(data["DATABASE_POOLED_URL"])
    assert (direct["HOST"], direct["PORT"], direct["NAME"], direct["PASSWORD"]) == ("pg.db", 5432, "tenantry", password)
    assert (pooled["HOST"], pooled["PORT"], pooled["PASSWORD"]) == ("bouncer.db", 5432, password)
    web = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "r-tenantry-web")
    env = {e["name"]: e for e in web["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_POOLED_URL"
    for name in ("r-tenantry-operator", "r-tenantry-migrate"):
        workload = next(d for d in docs if d["metadata"]["name"] == name and d["kind"] in ("Deployment", "Job"))
        env = {e["name"]: e.get("value") for e in workload["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["TENANTRY_DB_POOLED"] == "0", name


def test_the_webhook_certificate_names_the_operator_service(tmp_path):
    docs = render(DEFAULT_VALUES, namespace="tenants-prod")
    secret = next(d for d in docs if d["metadata"]["name"] == "r-tenantry-webhook-tls")
    (tmp_path / "tls.crt").write_bytes(base64.b64decode(secret["data"]["tls.crt"]))
    (tmp_path / "ca.crt").write_bytes(base64.b64decode(secret["data"]["ca.crt"]))
    text = run_tool("openssl", "x509", "-in", tmp_path / "tls.crt", "-noout", "-text").stdout
    assert "DNS:r-tenantry-operator.tenants-prod.svc" in text
    run_tool("openssl", "verify", "-CAfile", tmp_path / "ca.crt", tmp_path / "tls.crt")
    operator = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "r-tenantry-operator")
    env = {e["name"]: e.get("value") for e in operator["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["TENANTRY_WEBHOOK_HOST"] == "r-tenantry-operator.tenants-prod.svc"
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    names = [r.get("resourceNames") for r in role["rules"] if "validatingwebhookconfigurations" in r["resources"]]
    assert ["tenantry.dev.tenants-prod"] in names


def test_the_operator_runs_under_the_charts_rbac(namespace, tmp_path):
    """The real operator (kopf run, as the chart's Deployment runs it) with the token of the chart's
    ServiceAccount: it starts, joins the peering, takes a Tenant (finalizer, status, events) and
    never meets a 403. The database URL points nowhere, so provisioning fails harmlessly and no
    shared data is touched; Ingress and CronJob rights are checked with `auth can-i` above."""
    release = "r"
    helm("install", release, CHART, "-n", namespace, "-f", DEFAULT_VALUES, "--no-hooks")
    token = kubectl_run("create", "token", f"{release}-tenantry-operator", "-n", namespace,
                        "--duration=10m").stdout.strip()
    admin = yaml.safe_load(config.KUBECONFIG.read_text())
    cluster = admin["clusters"][0]["cluster"]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "operator",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "operator", "user": {"token": token}}],
        "contexts": [{"name": "operator", "context": {"cluster": "c", "user": "operator", "namespace": namespace}}],
    }))
    kubectl_run("apply", "-n", namespace, "-f", "-",
                input=tenants.manifest(tenants.tenant("rbaccheck", displayName="RBAC check")))
    liveness, metrics = free_port(), free_port()
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "KUBECONFIG": str(kubeconfig),
           "PYTHONPATH": f"{config.ROOT / 'app'}:{config.ROOT / 'operator'}",
           "DJANGO_SETTINGS_MODULE": "tenantry.settings", "DJANGO_SECRET_KEY": "rbac-check",
           "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nowhere", "TENANTRY_DB_POOLED": "0",
           "REDIS_URL": "redis://127.0.0.1:1", "TENANTRY_WATCH_NAMESPACE": namespace,
           "TENANTRY_METRICS_PORT": str(metrics), "TENANTRY_METRICS_ADDR": "127.0.0.1",
           "TENANTRY_BACKUP_DIR": str(tmp_path / "backups")}
    log = tmp_path / "operator.log"
    with log.open("w") as out:
        operator = subprocess.Popen(
            [str(config.VENV / "bin" / "kopf"), "run", "-m", "tenantry_operator.main", f"--namespace={namespace}",
             f"--peering={release}-tenantry", f"--liveness=http://127.0.0.1:{liveness}/healthz"],
            env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        def reported() -> bool:
            assert operator.poll() is None, f"the operator exited:\n{log.read_text()}"
            reasons = kubectl_run("get", "events", "-n", namespace, "--field-selector", "involvedObject.name=rbaccheck",
                                  "-o", "jsonpath={.items[*].reason}").stdout.split()
            return "ProvisioningFailed" in reasons

        wait_for(reported, f"the operator to report on the Tenant (log: {log})", timeout=60, every=1)
        with urllib.request.urlopen(f"http://127.0.0.1:{liveness}/healthz", timeout=5) as response:
            assert response.status == 200
        tenant = yaml.safe_load(kubectl_run("get", "tenant", "rbaccheck", "-n", namespace, "-o", "yaml").stdout)
        assert "tenantry.dev/finalizer" in tenant["metadata"]["finalizers"]
        assert tenant["status"]["phase"], tenant["status"]
    finally:
        operator.terminate()
        operator.wait(timeout=30)
        kubectl_run("patch", "tenant", "rbaccheck", "-n", namespace, "--type=merge",
                "-p", '{"metadata":{"finalizers":null}}', check=False)
        helm("uninstall", release, "-n", namespace, check=False)
    text = log.read_text()
    assert "Forbidden" not in text and " 403" not in text, f"the operator met a 403:\n{text}"


def test_the_web_pods_pooled_url_points_at_the_charts_pgbouncer_service():
    docs = render(DEFAULT_VALUES, "--set", "database.pooledHost=ignored.db", "--set", "pgbouncer.port=6432")
    pooled = dj_database_url.parse(_secret_data(docs, "r-tenantry-app")["DATABASE_POOLED_URL"])
    service = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "r-tenantry-pgbouncer")
    assert (pooled["HOST"], pooled["PORT"]) == (service["metadata"]["name"], 6432)
    assert service["spec"]["ports"] == [{"name": "postgres", "port": 6432, "targetPort": "postgres", "protocol": "TCP"}]
    deployment = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "r-tenantry-pgbouncer")
    assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["pgbouncer", "/etc/pgbouncer/pgbouncer.ini"]
    assert container["ports"][0]["containerPort"] == 6432


def test_the_pgbouncer_config_is_transaction_pooling_as_in_the_local_platform():
    """The settings of devenv's pgbouncer_ini (SET LOCAL under transaction pooling: docs/architecture.md,
    "The request path and PgBouncer")."""
    password = 'pa"ss'
    docs = render(DEFAULT_VALUES, "--set", "database.host=pg.db", "--set", "pgbouncer.defaultPoolSize=30",
                  "--set", "pgbouncer.maxClientConn=500", "--set-string", f"database.password={password}")
    config_map = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "r-tenantry-pgbouncer")
    lines = [line.strip() for line in config_map["data"]["pgbouncer.ini"].splitlines()]
    settings = dict(line.split(" = ", 1) if " = " in line else (line.rstrip(" ="), "") for line in lines
                    if line and not line.startswith("["))
    assert settings["pool_mode"] == "transaction"
    assert settings["ignore_startup_parameters"] == "extra_float_digits,options"
    assert settings["*"] == "host=pg.db port=5432"
    assert (settings["default_pool_size"], settings["max_client_conn"], settings["reserve_pool_size"]) == \
        ("30", "500", "5")
    assert settings["server_reset_query"] == "" and settings["auth_type"] == "scram-sha-256"
    assert settings["auth_file"] == "/etc/pgbouncer/auth/userlist.txt"
    # PgBouncer's userlist format doubles a quote inside a quoted field.
    assert _secret_data(docs, "r-tenantry-pgbouncer") == {"userlist.txt": '"tenantry" "pa""ss"\n'}


def test_the_exporter_sidecar_and_an_existing_pgbouncer_secret():
    docs = render(EXTERNAL_REDIS_VALUES)
    data = _secret_data(docs, "r-tenantry-pgbouncer")
    assert data["exporter-url"] == "postgres://tenantry:ci-password@127.0.0.1:5432/pgbouncer?sslmode=disable"
    service = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "r-tenantry-pgbouncer")
    assert {p["name"]: p["port"] for p in service["spec"]["ports"]} == {"postgres": 5432, "metrics": 9127}
    docs = render(CERT_MANAGER_VALUES, "--set", "pgbouncer.exporter.enabled=true")
    assert not any(d["kind"] == "Secret" and "pgbouncer" in d["metadata"]["name"] for d in docs)
    pod = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "r-tenantry-pgbouncer")
    spec = pod["spec"]["template"]["spec"]
    assert next(v for v in spec["volumes"] if v["name"] == "auth")["secret"]["secretName"] == "tenantry-pgbouncer"
    exporter = next(c for c in spec["containers"] if c["name"] == "exporter")
    assert exporter["env"][0]["valueFrom"]["secretKeyRef"] == {"name": "tenantry-pgbouncer", "key": "exporter-url"}


def test_the_bundled_redis_is_where_the_default_url_points_and_an_external_one_replaces_it():
    docs = render(DEFAULT_VALUES)
    url = _secret_data(docs, "r-tenantry-app")["REDIS_URL"]
    service = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "r-tenantry-redis")
    assert url == f"redis://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}/0"
    docs = render(EXTERNAL_REDIS_VALUES)
    assert not any("redis" in d["metadata"]["name"] for d in docs if d["kind"] != "Secret")
    assert _secret_data(docs, "r-tenantry-app")["REDIS_URL"] == \
        "rediss://:ci-redis-password@redis.cache.example.com:6380/0"
    # An existing Secret carries REDIS_URL itself: no URL needed.
    docs = render(CERT_MANAGER_VALUES, "--set", "redis.enabled=false")
    assert not any(d["kind"] == "Deployment" and d["metadata"]["name"] == "r-tenantry-redis" for d in docs)


def _selector(component: str) -> dict:
    return {"matchLabels": {"app.kubernetes.io/name": "tenantry", "app.kubernetes.io/instance": "r",
                            "app.kubernetes.io/component": component}}


def test_network_policies_allow_only_the_expected_sources():
    docs = render(DEFAULT_VALUES, "--set", "networkPolicy.ingressNamespaceSelector.matchLabels.role=ingress")
    policies = {d["metadata"]["name"].removeprefix("r-tenantry-"): d["spec"] for d in docs
                if d["kind"] == "NetworkPolicy"}
    run_once = policies.pop("run-once")
    assert run_once["policyTypes"] == ["Ingress"] and "ingress" not in run_once, "run-once pods accept nothing"
    assert {e["key"]: e["values"] for e in run_once["podSelector"]["matchExpressions"]} == {
        "app.kubernetes.io/instance": ["r"], "app.kubernetes.io/component": ["migrate", "test"]}
    assert set(policies) == {"web", "operator", "pgbouncer", "redis"}
    for component, spec in policies.items():
        assert spec["podSelector"] == _selector(component), component
        assert spec["policyTypes"] == ["Ingress"], component

    web, web_metrics = policies["web"]["ingress"]
    assert web["ports"] == [{"port": 8000, "protocol": "TCP"}]
    assert web["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx", "role": "ingress"}}},
        {"podSelector": _selector("test")}]
    monitoring = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    assert web_metrics == {"from": [monitoring], "ports": [{"port": 9100, "protocol": "TCP"}]}

    [pgbouncer] = policies["pgbouncer"]["ingress"]
    assert pgbouncer["from"] == [{"podSelector": _selector(c)} for c in ("web", "operator", "migrate")]
    assert pgbouncer["ports"] == [{"port": 5432, "protocol": "TCP"}]

    [redis] = policies["redis"]["ingress"]
    assert redis["from"] == [{"podSelector": _selector(c)} for c in ("web", "operator")]
    assert redis["ports"] == [{"port": 6379, "protocol": "TCP"}]

    webhook, metrics = policies["operator"]["ingress"]
    assert webhook == {"ports": [{"port": 8443, "protocol": "TCP"}]}, "the API server calls from anywhere"
    assert metrics == {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                       "ports": [{"port": 8081, "protocol": "TCP"}]}

    # Every selector matches the labels of the pods it means.
    pods = {d["metadata"]["labels"]["app.kubernetes.io/component"]:
            (d["metadata"] if d["kind"] == "Pod" else d["spec"]["template"]["metadata"])["labels"]
            for d in docs if d["kind"] in ("Deployment", "Job", "Pod")}
    for spec in policies.values():
        for rule in spec["ingress"]:
            for source in rule.get("from", []):
                if "podSelector" in source:
                    component = source["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                    assert source["podSelector"]["matchLabels"].items() <= pods[component].items(), component


def test_network_policies_follow_the_data_tier_and_can_be_turned_off():
    docs = render(EXTERNAL_REDIS_VALUES)
    policies = {d["metadata"]["name"]: d["spec"] for d in docs if d["kind"] == "NetworkPolicy"}
    assert set(policies) == {"r-tenantry-web", "r-tenantry-operator", "r-tenantry-pgbouncer", "r-tenantry-run-once"}
    exporter = policies["r-tenantry-pgbouncer"]["ingress"][1]
    assert exporter == {
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "observability"}}}],
        "ports": [{"port": 9127, "protocol": "TCP"}]}
    docs = render(DEFAULT_VALUES, "--set", "networkPolicy.enabled=false")
    assert not [d for d in docs if d["kind"] == "NetworkPolicy"]


# --- monitoring (monitoring.enabled) ---------------------------------------------------------------

PROMETHEUS_OPERATOR_APIS = "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring"
PROMETHEUS_OPERATOR_VERSION = "v0.95.2"
CONTROLLER_GEN_VERSION = "v0.23.0"


def _go(module, *argv, **env: str) -> None:
    result = subprocess.run([str(a) for a in argv], cwd=module, capture_output=True, text=True, timeout=240,
                            env={**os.environ, "GOFLAGS": "", **env})
    assert result.returncode == 0, f"{' '.join(map(str, argv))} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def monitoring_crds(tmp_path_factory):
    """prometheus-operator's ServiceMonitor and PrometheusRule CRDs in the control plane, generated at run
    time, never committed. Its root module (which carries the CRD YAML) is not served by the Go module
    proxy; its API types module is, so controller-gen makes them from the types, as prometheus-operator's
    own build does. Left installed: applying them again changes nothing, and no Tenantry object uses them."""
    go = shutil.which("go")
    assert go, "go is missing (the README's requirements: Go >= 1.25)"
    work = tmp_path_factory.mktemp("monitoring-crds")
    controller_gen = config.CACHE / "bin" / f"controller-gen-{CONTROLLER_GEN_VERSION}"
    if not controller_gen.exists():
        _go(work, go, "install", f"sigs.k8s.io/controller-tools/cmd/controller-gen@{CONTROLLER_GEN_VERSION}",
            GOBIN=str(work / "bin"))
        controller_gen.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(work / "bin" / "controller-gen", controller_gen)
    module = work / "module"
    module.mkdir()
    (module / "go.mod").write_text(f"module tenantry.dev/tests/monitoringcrds\n\ngo 1.25\n\n"
                                   f"require {PROMETHEUS_OPERATOR_APIS} {PROMETHEUS_OPERATOR_VERSION}\n")
    (module / "crds.go").write_text(f'package monitoringcrds\n\nimport _ "{PROMETHEUS_OPERATOR_APIS}/v1"\n')
    _go(module, go, "mod", "tidy")
    _go(module, controller_gen, "crd:crdVersions=v1", f"paths={PROMETHEUS_OPERATOR_APIS}/v1",
        f"output:crd:dir={work / 'crds'}")
    kinds = ("servicemonitors", "prometheusrules")
    for kind in kinds:
        kubectl_run("apply", "--server-side", "--force-conflicts",
                    "-f", work / "crds" / f"monitoring.coreos.com_{kind}.yaml")
    kubectl_run("wait", "--for=condition=Established", "--timeout=60s",
                *[f"crd/{kind}.monitoring.coreos.com" for kind in kinds])


def test_monitoring_objects_scrape_the_metrics_ports_and_carry_the_generated_files():
    docs = render(MONITORING_VALUES)
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    monitors = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ServiceMonitor"}
    assert set(monitors) == {"r-tenantry-web", "r-tenantry-operator", "r-tenantry-pgbouncer"}
    for name, monitor in monitors.items():
        assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack", name
        assert monitor["spec"]["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}], name
        # The Service it selects, and the job name it gets: the one the dashboards and alerts use.
        labels = services[name]["metadata"]["labels"]
        assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
        assert [s for s in services.values() if monitor["spec"]["selector"]["matchLabels"].items()
                <= s["metadata"]["labels"].items()] == [services[name]], f"{name} selects other Services too"
        assert labels[monitor["spec"]["jobLabel"]] == name.removeprefix("r-tenantry-")
        assert "metrics" in {p["name"] for p in services[name]["spec"]["ports"]}, name

    web = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "r-tenantry-web")
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "metrics", "containerPort": 9100, "protocol": "TCP"} in container["ports"]
    assert {"name": "TENANTRY_WEB_METRICS_PORT", "value": "9100"} in container["env"]
    assert {"name": "metrics", "port": 9100, "targetPort": "metrics", "protocol": "TCP"} in \
        services["r-tenantry-web"]["spec"]["ports"]

    [rule] = [d for d in docs if d["kind"] == "PrometheusRule"]
    assert rule["spec"] == yaml.safe_load((config.ROOT / "dashboards" / "alerts.yaml").read_text())
    maps = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["labels"].get("grafana_dashboard") == "1"]
    files = sorted((config.ROOT / "dashboards").glob("*.json"))
    assert len(maps) == len(files) == 4
    assert {k: v for m in maps for k, v in m["data"].items()} == {f.name: f.read_text() for f in files}
    assert all(m["metadata"]["labels"]["release"] == "kube-prometheus-stack" for m in maps)


def test_monitoring_is_off_by_default_and_the_pgbouncer_monitor_follows_its_exporter():
    docs = render(DEFAULT_VALUES)
    assert not [d for d in docs if d["apiVersion"].startswith("monitoring.coreos.com/")]
    assert not [d for d in docs if "grafana_dashboard" in d["metadata"].get("labels", {})]
    docs = render(MONITORING_VALUES, "--set", "pgbouncer.exporter.enabled=false")
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "ServiceMonitor"} == \
        {"r-tenantry-web", "r-tenantry-operator"}


def test_helm_packages_the_crds():
    crd = config.ROOT / "charts" / "tenantry" / "crds" / "tenants.tenantry.dev.yaml"
    shown = list(yaml.safe_load_all(helm("show", "crds", str(config.ROOT / "charts" / "tenantry")).stdout))
    assert {doc["metadata"]["name"] for doc in shown if doc} == {"tenants.tenantry.dev", "kopfpeerings.kopf.dev"}
    assert yaml.safe_load(crd.read_text()) in shown
