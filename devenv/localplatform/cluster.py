"""`make cluster`: a real node on this machine with the Helm chart on it, and `cluster-down`/`status`.

Order: the node's binaries and images (built once per input), the bridge and the egress guard, the
node's control plane, PostgreSQL and node processes (node.py), the images into containerd, CoreDNS
and Traefik, then `helm upgrade --install` of charts/tenantry, the demo Tenants, their demo data, and
a request through Traefik to prove the path. `make up` is untouched: the node has its own API server,
database, ports and namespace, so the two operators never reconcile the same Tenants.
"""
import os
import string
import time
import urllib.request
from pathlib import Path

from . import config, gotools, images, node
from .components import Component
from .deps import ensure_all, say
from .proc import PlatformError, log_file, read_pid, run, stop, wait_for
from .stack import DEMO_PASSWORD, DEMO_TENANTS, EXAMPLES, demo_seed_args, start_all

ADDONS = config.ROOT / "devenv" / "cluster"
VALUES = ADDONS / "values.yaml"
IMAGE_VALUES = config.CLUSTER / "images.yaml"
RELEASE = "tenantry"
NAMESPACE = config.CLUSTER_NAMESPACE
INGRESS_PORT = config.CLUSTER_PORTS["ingress"]


def kubectl(*args: str, input: str | None = None) -> str:
    return run([str(config.BIN / "kubectl"), f"--kubeconfig={node.PLANE.kubeconfig}", *args],
               f"kubectl {' '.join(args[:2])} (cluster)", input=input)


def helm(*args: str) -> str:
    return run([str(config.BIN / "helm"), f"--kubeconfig={node.PLANE.kubeconfig}", *args],
               f"helm {args[0]} (cluster)")


def build() -> dict[str, images.Image]:
    """Everything the node runs that is built here: the Kubernetes binaries, CoreDNS, Traefik,
    crictl, and every image (each only when its inputs changed)."""
    ensure_all()
    try:
        gotools.ensure_node_tools(config.LOGS)
    except gotools.BuildError as err:
        raise PlatformError(str(err)) from None
    built = images.cluster_images()
    for image in built.values():
        fresh = not image.archive.exists()
        began = time.monotonic()
        archive = images.ensure(image)
        note = f"built in {time.monotonic() - began:.0f}s" if fresh else "cached"
        say(f"image {image.ref}: {archive.stat().st_size / 2**20:.0f} MiB ({note})")
    return built


def image_values(built: dict[str, images.Image]) -> str:
    """The chart's image values for the images built here (pullPolicy Never: none can be pulled)."""
    repository, tag = built["tenantry"].ref.rsplit(":", 1)
    return (f"image:\n  repository: {repository}\n  tag: {tag!r}\n  pullPolicy: Never\n"
            f"pgbouncer:\n  image: {built['pgbouncer'].ref}\n"
            f"  exporter:\n    image: {built['pgbouncer-exporter'].ref}\n"
            f"redis:\n  image: {built['redis'].ref}\n"
            f"  exporter:\n    image: {built['redis-exporter'].ref}\n"
            f"tests:\n  image: {built['curl'].ref}\n")


# The node's add-ons, applied in this order before the chart, each with the Deployment to wait for.
ADDONS_ROLLED_OUT = {"coredns": "kube-system/coredns", "traefik": "traefik/traefik",
                     "metrics-server": "kube-system/metrics-server", "backups": None,
                     "monitoring": "monitoring/prometheus-operator"}
EXPORTER_QUERIES = config.ROOT / "dashboards" / "postgres-exporter-queries.yaml"
BACKUP_VOLUME = config.NODE_DATA / "backups"
APP_UID = 10001  # the chart's runAsUser: a `local` volume's folder is not chowned by fsGroup


def addon_manifest(name: str, built: dict[str, images.Image]) -> str:
    template = string.Template((ADDONS / f"{name}.yaml").read_text())
    return template.substitute(COREDNS_IMAGE=built["coredns"].ref, TRAEFIK_IMAGE=built["traefik"].ref,
                               METRICS_SERVER_IMAGE=built["metrics-server"].ref,
                               PROMETHEUS_OPERATOR_IMAGE=built["prometheus-operator"].ref,
                               PROMETHEUS_CONFIG_RELOADER_IMAGE=built["prometheus-config-reloader"].ref,
                               PROMETHEUS_IMAGE=built["prometheus"].ref, PROMETHEUS_VERSION=config.PROMETHEUS_VERSION,
                               POSTGRES_EXPORTER_IMAGE=built["postgres-exporter"].ref,
                               POSTGRES_EXPORTER_DSN=config.database_url(
                                   config.CLUSTER_PORTS["cluster-postgres"]).replace(config.HOST, config.NODE_IP)
                               + "?sslmode=disable",
                               CLUSTER_DNS_IP=config.CLUSTER_DNS_IP, INGRESS_PORT=INGRESS_PORT,
                               INGRESS_ADMIN_PORT=config.CLUSTER_PORTS["ingress-admin"],
                               NAMESPACE=NAMESPACE, NODE_NAME=config.NODE_NAME, BACKUP_PATH=BACKUP_VOLUME)


def install_addons(built: dict[str, images.Image]) -> None:
    BACKUP_VOLUME.mkdir(parents=True, exist_ok=True)
    os.chown(BACKUP_VOLUME, APP_UID, APP_UID)
    install_monitoring_crds()
    for addon in ADDONS_ROLLED_OUT:
        kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=addon_manifest(addon, built))
    for deployment in filter(None, ADDONS_ROLLED_OUT.values()):
        namespace, name = deployment.split("/")
        kubectl("-n", namespace, "rollout", "status", f"deploy/{name}", "--timeout=180s")
    kubectl("wait", "--for=condition=Available", "apiservice/v1beta1.metrics.k8s.io", "--timeout=120s")
    wait_for(lambda: "prometheus-tenantry" in kubectl("-n", "monitoring", "get", "statefulsets", "-o", "name"),
             "the Prometheus Operator to create Prometheus' StatefulSet", timeout=120)
    kubectl("-n", "monitoring", "rollout", "status", "statefulset/prometheus-tenantry", "--timeout=180s")


def install_monitoring_crds() -> None:
    """The Prometheus Operator's CRDs from its module (too large for client-side apply), and the
    PostgreSQL exporter's queries from the repository, before anything uses them."""
    crds = gotools.prometheus_operator_source() / "example" / "prometheus-operator-crd"
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crds))
    kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", str(crds))
    queries = kubectl("-n", "monitoring", "create", "configmap", "postgres-exporter-queries",
                      f"--from-file=queries.yaml={EXPORTER_QUERIES}", "--dry-run=client", "-o", "yaml")
    namespace = kubectl("create", "namespace", "monitoring", "--dry-run=client", "-o", "yaml")
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=f"{namespace}\n---\n{queries}")


def node_ready() -> bool:
    try:
        return kubectl("get", "node", config.NODE_NAME, "-o",
                       "jsonpath={.status.conditions[?(@.type=='Ready')].status}") == "True"
    except PlatformError:
        return False


def answers(url: str, host: str) -> bool:
    request = urllib.request.Request(url, headers={"Host": host})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def install_chart(built: dict[str, images.Image]) -> None:
    # Helm installs a chart's crds/ once and never upgrades them: a changed CRD is applied first, as
    # a platform team does before `helm upgrade` (the chart's README says so).
    kubectl("apply", "--server-side", "--force-conflicts", "-f", str(config.ROOT / "charts" / "tenantry" / "crds"))
    IMAGE_VALUES.write_text(image_values(built))
    helm("upgrade", "--install", RELEASE, str(config.ROOT / "charts" / "tenantry"), "--namespace", NAMESPACE,
         "--create-namespace", "-f", str(VALUES), "-f", str(IMAGE_VALUES), "--wait", "--timeout", "10m")


def up() -> None:
    began = time.monotonic()
    built = build()
    if read_pid("containerd") is None:
        node.clear_stale_network()
    node.ensure_network()
    start_all(node.components(built["pause"].ref))
    wait_for(node.kube_proxy_synced, f"kube-proxy's first sync (read {log_file('kube-proxy')})", timeout=60, every=0.5)
    node.ensure_network()  # the egress guard back at the head of FORWARD, ahead of kube-proxy's jumps
    for image in built.values():
        if node.import_image(image.ref, image.archive):
            say(f"imported {image.ref} into containerd")
    wait_for(node_ready, f"node {config.NODE_NAME} to be Ready (read {log_file('kubelet')})", timeout=180)
    install_addons(built)
    say("installing the chart (helm upgrade --install --wait)")
    install_chart(built)
    kubectl("apply", "-n", NAMESPACE, "-f", str(EXAMPLES))
    kubectl("wait", "-n", NAMESPACE, "--for=condition=Ready", "--timeout=180s",
            *[f"tenant/{name}" for name in DEMO_TENANTS])
    # In an operator pod: it has the direct connection a management command needs (the web pods are
    # pooled, where a query outside the request router's transaction is refused).
    kubectl("-n", NAMESPACE, "exec", f"deploy/{RELEASE}-operator", "--", "python", "-m", "django", "seed_demo",
            *demo_seed_args())
    url = f"http://{config.HOST}:{INGRESS_PORT}/"
    wait_for(lambda: answers(url, "acme.localhost"), f"acme.localhost through Traefik ({url})", timeout=60)
    say(f"the cluster is up ({time.monotonic() - began:.0f}s)")
    print(f"""
  Open        http://acme.localhost:{INGRESS_PORT}/  and  http://globex.localhost:{INGRESS_PORT}/  (Traefik -> web pods)
  Log in as   owner@acme.example.com / {DEMO_PASSWORD}
  kubectl     export KUBECONFIG={node.PLANE.kubeconfig} PATH={config.BIN}:$PATH; kubectl get pods -A -o wide
  Status      make status        Logs  {config.LOGS}/<component>.log
""")


def components() -> list[Component]:
    return node.components(images.pause_image().ref)


def down() -> None:
    """Stop the node's processes; the pods' containers go with containerd's shims, the bridge and
    the iptables rules are removed. Data stays under .local/cluster until `make clean`."""
    if read_pid("containerd") is not None:
        try:
            stop_pods()
        except PlatformError as err:  # stop the rest all the same: a half-stopped node helps nobody
            say(f"warning: the pods could not be removed through the CRI: {err}")
    for component in reversed(components()):
        if stop(component.name, component.stop_signal):
            say(f"stopped {component.title}")
    unmount_under(config.CLUSTER)
    unmount_under(config.NODE_RUN)
    node.remove_network()


def unmount_under(folder: Path) -> None:
    """The volume mounts the kubelet made for its pods (secrets, service-account tokens), deepest
    first; the stopped kubelet cannot take them down itself."""
    if not folder.exists():
        return
    prefix = str(folder.resolve()) + "/"
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        run(["umount", "--lazy", mount], f"unmounting {mount}")


def stop_pods() -> None:
    """Every pod of the node stopped and removed through the CRI (containers, then the sandbox and
    its network namespace and bridge port), so nothing outlives the node. The kubelet goes first, or
    it would start them again; the API server keeps the pods, and the next `make cluster` runs them."""
    stop("kubelet")
    crictl = gotools.node_tool_binaries()["crictl"]
    run([str(crictl), f"--runtime-endpoint=unix://{node.CONTAINERD_SOCKET}", "rmp", "--all", "--force"],
        "crictl rmp (removing the node's pods)")
