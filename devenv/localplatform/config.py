"""Where the local platform keeps things and which versions it builds.

Everything the platform writes lives under `.local/` in the checkout (git-ignored), except the Go-built
binaries: they are keyed by version in a cache outside the repository, so a fresh clone on the same
machine reuses them and `make clean` does not throw away twenty minutes of compiling.
"""
import hashlib
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL = Path(os.environ.get("TENANTRY_LOCAL_DIR", ROOT / ".local"))
CACHE = Path(os.environ.get("TENANTRY_CACHE_DIR", Path.home() / ".cache" / "tenantry"))
VENV = Path(os.environ.get("TENANTRY_VENV", ROOT / ".venv"))
BIN = LOCAL / "bin"
LOGS = LOCAL / "logs"
RUN = LOCAL / "run"
KUBECONFIG = LOCAL / "kubeconfig"

KUBERNETES_VERSION = "v1.35.4"
ETCD_VERSION = "v3.6.16"
HELM_VERSION = "v3.19.5"
POSTGRES_MAJOR = "15"
# The node's add-ons, built from their Go modules for `make cluster`. Traefik 3.7 needs a nested module
# the Go proxy does not serve; 3.6 is the newest line that builds here.
COREDNS_VERSION = "v1.14.7"
TRAEFIK_VERSION = "v3.6.12"
CRICTL_VERSION = "v1.34.0"  # the newest the Go proxy serves here (1.35.0: 403)
# Day-two add-ons: resource metrics for the HPA (metrics.k8s.io through the API server's aggregation
# layer), and the Prometheus Operator (with its config reloader) running a Prometheus built from its
# module, as a kube-prometheus-stack runs upstream's.
METRICS_SERVER_VERSION = "v0.8.0"
PROMETHEUS_OPERATOR_VERSION = "v0.91.0"
PROMETHEUS_VERSION = "v3.16.0"
PROMETHEUS_MODULE_VERSION = "v0.316.0"  # Prometheus 3.x publishes its Go module as v0.3xx

HOST = "127.0.0.1"

# One port per component, away from the well-known defaults so a system PostgreSQL or Redis on this
# machine does not collide with ours.
PORTS = {
    "postgres": 15432,
    "pgbouncer": 16432,
    # The streaming read replica and its own PgBouncer (localplatform.replica); 15433 and 15434 are
    # the PITR drill's scratch clusters.
    "postgres-replica": 15435,
    "pgbouncer-replica": 16433,
    "redis": 16379,           # the primary Sentinel starts out with
    "redis-replica": 16380,
    "sentinel-1": 16389,
    "sentinel-2": 16390,
    "sentinel-3": 16391,
    "etcd": 12379,
    "etcd-peer": 12380,
    "kube-apiserver": 16443,
    "kube-controller-manager": 11257,
    "operator": 18080,
    "operator-metrics": 18081,
    "operator-webhook": 18443,
    "postgres-exporter": 19187,
    "pgbouncer-exporter": 19127,
    "redis-exporter": 19121,
    "prometheus": 19090,
    "web": 8000,
    "web-metrics": 18090,
}

# The node of `make cluster`: one bridge on this machine with the pods on it, its own control plane and
# PostgreSQL on the bridge's address, and nothing routed beyond this machine.
CLUSTER = LOCAL / "cluster"
NODE_NAME = "tenantry-node"
NODE_BRIDGE = "tenantry0"
NODE_IP = "10.213.0.1"
POD_CIDR = "10.213.0.0/24"
SERVICE_CIDR = "10.213.1.0/24"
KUBERNETES_SERVICE_IP = "10.213.1.1"
CLUSTER_DNS_IP = "10.213.1.10"
CLUSTER_NAMESPACE = "tenantry-system"
# Sockets live under /run: a checkout's path can exceed the 108 bytes a Unix socket path may have.
# One folder per checkout, so a clone never meets the runtime state another checkout's node left.
NODE_RUN = Path("/run") / f"tenantry-node-{hashlib.sha1(str(LOCAL).encode()).hexdigest()[:8]}"
# Folders the node's pods write to (the backup volume): outside the checkout, whose parents may be 0700.
NODE_DATA = Path("/var/lib") / NODE_RUN.name
CLUSTER_PORTS = {
    "cluster-postgres": 25432,
    "cluster-etcd": 22379,
    "cluster-etcd-peer": 22380,
    "cluster-kube-apiserver": 26443,
    "cluster-kube-controller-manager": 21257,
    "kube-scheduler": 21259,
    "containerd": 21338,        # its metrics endpoint, the readiness check
    "kubelet": 10250,           # on NODE_IP, for the API server (logs, exec)
    "kubelet-healthz": 10248,
    "kube-proxy": 10256,        # healthz
    "kube-proxy-metrics": 10249,
    "ingress": 8080,            # Traefik's web entry point (host network, loopback)
    "ingress-admin": 18082,     # Traefik's ping and metrics
}

DB_NAME = "tenantry"
DB_USER = "tenantry"
# A local-only credential for a server bound to 127.0.0.1; a cluster install takes it from a Secret.
DB_PASSWORD = "tenantry-local"
# The replica's login to the primary (REPLICATION, no database access) and the physical slot that makes
# the primary keep the WAL the replica has not received yet.
REPLICATION_USER = "replicator"
REPLICATION_PASSWORD = "tenantry-replication-local"
REPLICATION_SLOT = "tenantry_replica"
NAMESPACE = "tenantry"
# The name the Sentinels of `make up` know its Redis primary and replica by (REDIS_SENTINEL_MASTER).
REDIS_SENTINEL_MASTER = "tenantry"
BASE_DOMAIN = "localhost"


def database_url(port: int, db: str = DB_NAME) -> str:
    return f"postgresql://{DB_USER}:{DB_PASSWORD}@{HOST}:{port}/{db}"


def redis_url() -> str:
    return f"redis://{HOST}:{PORTS['redis']}/0"
