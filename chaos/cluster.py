"""`make cluster-chaos`: the faults of a node's day, one at a time, against `make cluster` under the
same API load and ledger as `make chaos`, sent through Traefik: pods deleted (a web pod, the
operator's leader while Tenants are applied, a PgBouncer pod, the Redis pod), a web container killed,
the kubelet and containerd restarted, PostgreSQL fast-restarted. Each row: errors while it lasted,
seconds to recovery, acknowledged writes lost and duplicated (both must be 0), Tenants converged.

    make cluster-chaos [CHAOS_ARGS="--faults web-pod,redis-pod --clients 4"]
    PYTHONPATH=devenv .venv/bin/python -m chaos.cluster [--faults ...] [--clients N] [--settle SECONDS]
"""
import json
import sys

from localplatform import cluster, config, gotools, node
from localplatform.proc import PlatformError, read_pid, run, wait_for

from . import convergence, faults
from .drill import Fault
from .run import Platform, main

NAMESPACE = config.CLUSTER_NAMESPACE
DIRECT = config.database_url(config.CLUSTER_PORTS["cluster-postgres"])


def kubectl(*args: str, input: str | None = None) -> str:
    return cluster.kubectl(*args, input=input)


def pods(component: str) -> list[dict]:
    """The release's pods of one component that are not on their way out."""
    items = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-l",
                               f"app.kubernetes.io/instance={cluster.RELEASE},app.kubernetes.io/component={component}",
                               "-o", "json"))["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def wait_replaced(component: str, gone: str, count: int) -> None:
    wait_for(lambda: sum(ready(p) for p in pods(component) if p["metadata"]["name"] != gone) >= count,
             f"{count} Ready {component} pods besides {gone}", timeout=180, every=0.5)


def delete_pod(component: str, name: str | None = None) -> str:
    """`kubectl delete pod` (its grace period, as an eviction or a drain), then its replacement Ready."""
    before = pods(component)
    victim = name or before[0]["metadata"]["name"]
    kubectl("-n", NAMESPACE, "delete", "pod", victim, "--wait=false")
    wait_replaced(component, victim, len(before))
    return f"deleted {victim}"


def kill_container(component: str) -> str:
    """SIGKILL a container through the CRI (no grace, no preStop): the kubelet restarts it in place."""
    pod = next(p for p in pods(component) if ready(p))
    container = pod["status"]["containerStatuses"][0]
    crictl = [str(gotools.node_tool_binaries()["crictl"]), f"--runtime-endpoint=unix://{node.CONTAINERD_SOCKET}"]
    run([*crictl, "stop", "--timeout", "0", container["containerID"].split("://", 1)[1]], "crictl stop")
    restarts = container["restartCount"]
    wait_for(lambda: any(p["metadata"]["name"] == pod["metadata"]["name"] and ready(p)
                         and p["status"]["containerStatuses"][0]["restartCount"] > restarts for p in pods(component)),
             f"{pod['metadata']['name']} restarted and Ready", timeout=180, every=0.5)
    return f"killed {container['name']} of {pod['metadata']['name']}"


def leader() -> str:
    """The operator pod whose Kopf peer has the highest priority: the one that reconciles."""
    status = json.loads(kubectl("-n", NAMESPACE, "get", "kopfpeering", cluster.RELEASE, "-o", "json")).get("status", {})
    names = [p["metadata"]["name"] for p in pods("operator")]
    ranked = sorted(((peer["priority"], name) for peer_id, peer in status.items() for name in names
                     if name in peer_id), reverse=True)
    if not ranked:
        raise PlatformError(f"chaos: no operator pod among the KopfPeering's peers {list(status)}")
    return ranked[0][1]


def delete_leader_while_applying(names: list[str]) -> str:
    victim = leader()
    kubectl("-n", NAMESPACE, "delete", "pod", victim, "--wait=false")
    kubectl("-n", NAMESPACE, "apply", "-f", "-", input=faults.chaos_tenants(names))
    return f"deleted the leader {victim} and applied {len(names)} Tenants"


def restart_node_process(name: str) -> str:
    """Restart the kubelet or containerd: the pods keep running (containerd's shims hold them), and
    the node is Ready with every pod Ready again."""
    component = next(c for c in cluster.components() if c.name == name)
    faults.restart(component)
    wait_for(cluster.node_ready, "the node Ready again", timeout=120, every=0.5)
    wait_for(lambda: all(ready(p) for component in ("web", "operator", "pgbouncer", "redis")
                         for p in pods(component)), "every release pod Ready", timeout=180, every=0.5)
    return f"restarted {component.title}"


def node_faults(chosen: list[str], names: list[str]) -> list[Fault]:
    def converged() -> convergence.Convergence:
        return convergence.converged(NAMESPACE, DIRECT, kubectl)

    def operator_converged() -> convergence.Convergence:
        convergence.wait_ready(NAMESPACE, names, kubectl=kubectl)
        return converged()

    every = {
        "web-pod": Fault("delete a web pod", lambda: delete_pod("web"), converged),
        "web-kill": Fault("SIGKILL a web container", lambda: kill_container("web"), converged),
        "operator-leader": Fault(f"delete the operator leader's pod while {len(names)} Tenants are applied",
                                 lambda: delete_leader_while_applying(names), operator_converged),
        "pgbouncer-pod": Fault("delete a PgBouncer pod", lambda: delete_pod("pgbouncer"), converged),
        "redis-pod": Fault("delete the Redis pod", lambda: delete_pod("redis"), converged),
        "kubelet": Fault("restart the kubelet", lambda: restart_node_process("kubelet"), converged),
        "containerd": Fault("restart containerd", lambda: restart_node_process("containerd"), converged),
        "postgres": Fault("fast-restart PostgreSQL", lambda: faults.restart(node.cluster_postgres()), converged),
    }
    return [every[key] for key in chosen]


NODE = Platform(name="the node (`make cluster`)", port=config.CLUSTER_PORTS["ingress"], database_url=DIRECT,
                namespace=NAMESPACE, kubectl=kubectl,
                fault_names=("web-pod", "web-kill", "operator-leader", "pgbouncer-pod", "redis-pod", "kubelet",
                             "containerd", "postgres"),
                faults=node_faults, running=lambda: read_pid("kubelet") is not None and cluster.node_ready())

if __name__ == "__main__":
    sys.exit(main(NODE, __doc__))
