"""The node of `make cluster`: a control plane of its own, containerd with runc, the kubelet,
kube-proxy and kube-scheduler, and the bridge its pods live on.

Facts of these machines that shape the settings (measured, see docs/cluster.md):
- cgroup v1 and PID 1 is not systemd: the kubelet runs with `failCgroupV1: false` and the cgroupfs
  driver;
- processes lack CAP_SYS_RESOURCE, so nothing may lower an oom_score_adj: containerd's CRI plugin
  needs `restrict_oom_score_adj`, or every sandbox fails with "can't get final child's PID from pipe";
- there is no hugetlb controller: `tolerate_missing_hugepages_controller`.
The bridge's address is the node's address; the node's API server and PostgreSQL listen there, so pods
reach them, and an iptables chain drops anything a pod sends beyond this machine and its pods.
"""
import json
import subprocess
from pathlib import Path

from . import config, gotools, pki
from .components import Component, ControlPlane, etcd, http_ok, kube_apiserver, kube_controller_manager, postgres
from .proc import port_open, run

HOME = config.CLUSTER
PORTS = config.CLUSTER_PORTS
CONTAINERD_SOCKET = config.NODE_RUN / "containerd.sock"
EGRESS_CHAIN = "TENANTRY-NODE-EGRESS"

# Certificates of the node's control plane: (common name, organisation) of each client.
CLIENTS = {
    "admin": ("tenantry-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
    "kube-proxy": ("system:kube-proxy", None),
    "kubelet": (f"system:node:{config.NODE_NAME}", "system:nodes"),
    # The API server's client for the kubelet's logs, exec and port-forward endpoints.
    "apiserver-kubelet-client": ("kube-apiserver-kubelet-client", "system:masters"),
    # The API server's identity towards aggregated API servers (metrics-server): the headers it sets
    # are trusted only from this name.
    "front-proxy-client": ("front-proxy-client", None),
}

PLANE = ControlPlane(
    prefix="cluster-", host=config.NODE_IP, etcd_port=PORTS["cluster-etcd"],
    etcd_peer_port=PORTS["cluster-etcd-peer"], apiserver_port=PORTS["cluster-kube-apiserver"],
    controller_manager_port=PORTS["cluster-kube-controller-manager"], home=HOME,
    kubeconfig=HOME / "kubeconfig", service_cidr=config.SERVICE_CIDR, controllers="*",
    authorization="Node,RBAC", namespace=config.CLUSTER_NAMESPACE,
    apiserver_args=(f"--kubelet-client-certificate={HOME / 'pki' / 'apiserver-kubelet-client.crt'}",
                    f"--kubelet-client-key={HOME / 'pki' / 'apiserver-kubelet-client.key'}",
                    f"--kubelet-certificate-authority={HOME / 'pki' / 'ca.crt'}",
                    "--kubelet-preferred-address-types=InternalIP",
                    "--enable-admission-plugins=NodeRestriction",
                    # The aggregation layer, for metrics.k8s.io (the HPA's CPU figures).
                    f"--requestheader-client-ca-file={HOME / 'pki' / 'ca.crt'}",
                    "--requestheader-allowed-names=front-proxy-client",
                    "--requestheader-username-headers=X-Remote-User",
                    "--requestheader-group-headers=X-Remote-Group",
                    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                    f"--proxy-client-cert-file={HOME / 'pki' / 'front-proxy-client.crt'}",
                    f"--proxy-client-key-file={HOME / 'pki' / 'front-proxy-client.key'}",
                    "--enable-aggregator-routing=true"),
    controller_manager_args=(f"--cluster-signing-cert-file={HOME / 'pki' / 'ca.crt'}",
                             f"--cluster-signing-key-file={HOME / 'pki' / 'ca.key'}",
                             "--allocate-node-cidrs=false"))


def ensure_pki() -> Path:
    return pki.ensure(PLANE.pki, apiserver_ips=("127.0.0.1", config.NODE_IP, config.KUBERNETES_SERVICE_IP),
                      clients=CLIENTS, servers={"kubelet-serving": (config.NODE_IP, "127.0.0.1")})


# --- The network ------------------------------------------------------------------------------------

def _ip(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True)


def _iptables(*args: str) -> bool:
    return subprocess.run(["iptables", "-w", *args], capture_output=True).returncode == 0


def egress_rules() -> list[list[str]]:
    """The guard on forwarded traffic: pod to pod passes, anything else a pod sends is dropped. A pod's
    packets to this machine's own addresses are delivered locally (INPUT), not forwarded, so they pass."""
    return [["-s", config.POD_CIDR, "-d", config.POD_CIDR, "-j", "ACCEPT"],
            ["-s", config.POD_CIDR, "-j", "DROP"]]


def clear_stale_network() -> None:
    """What a node that was killed rather than stopped (a reboot, a CI run's end) leaves behind: its
    pods' network namespaces, pinned under /run/netns with their veths on the bridge, holding
    addresses the next node hands out again. Only for a node that is not running."""
    netns = Path("/run/netns")
    for pinned in sorted(netns.glob("cni-*")) if netns.exists() else []:
        _ip("netns", "delete", pinned.name)
    _ip("link", "delete", config.NODE_BRIDGE)


def ensure_network() -> None:
    """The bridge with the node's address (before anything binds to it), forwarding between pods and
    to Services, bridged traffic through iptables (so kube-proxy's rules see it), and the egress guard.
    Run again once kube-proxy is up: it puts its own jumps at the head of FORWARD, and the guard must
    stay ahead of them."""
    if _ip("link", "show", config.NODE_BRIDGE).returncode != 0:
        run(["ip", "link", "add", config.NODE_BRIDGE, "type", "bridge"], "creating the node's bridge")
    if f" {config.NODE_IP}/" not in _ip("-4", "addr", "show", config.NODE_BRIDGE).stdout:
        prefix = config.POD_CIDR.split("/")[1]
        run(["ip", "addr", "add", f"{config.NODE_IP}/{prefix}", "dev", config.NODE_BRIDGE], "addressing the bridge")
    run(["ip", "link", "set", config.NODE_BRIDGE, "up"], "bringing the bridge up")
    for key in ("net/ipv4/ip_forward", "net/bridge/bridge-nf-call-iptables"):
        Path("/proc/sys", key).write_text("1\n")
    if not _iptables("-L", EGRESS_CHAIN, "-n"):
        run(["iptables", "-w", "-N", EGRESS_CHAIN], "creating the egress guard chain")
    run(["iptables", "-w", "-F", EGRESS_CHAIN], "flushing the egress guard chain")
    for rule in egress_rules():
        run(["iptables", "-w", "-A", EGRESS_CHAIN, *rule], "adding an egress guard rule")
    while _iptables("-D", "FORWARD", "-j", EGRESS_CHAIN):
        pass
    run(["iptables", "-w", "-I", "FORWARD", "1", "-j", EGRESS_CHAIN], "hooking the egress guard")


def kube_proxy_synced() -> bool:
    """kube-proxy has made its first sync: its jumps are in FORWARD (they come after its healthz
    answers, and the egress guard must be hooked in front of them afterwards)."""
    rules = subprocess.run(["iptables", "-w", "-S", "FORWARD"], capture_output=True, text=True).stdout
    return "-j KUBE-" in rules


def remove_network() -> None:
    """Undo ensure_network, and drop the Service rules kube-proxy left behind."""
    while _iptables("-D", "FORWARD", "-j", EGRESS_CHAIN):
        pass
    _iptables("-F", EGRESS_CHAIN)
    _iptables("-X", EGRESS_CHAIN)
    kube_proxy_binary = gotools.cached_binary("kube-proxy", config.KUBERNETES_VERSION)
    if kube_proxy_binary.exists():
        subprocess.run([str(kube_proxy_binary), "--cleanup"], capture_output=True)
    _ip("link", "delete", config.NODE_BRIDGE)


def cni_config() -> dict:
    """Debian's bridge plugin on our bridge, host-local addresses from the pod CIDR, no masquerading
    (nothing leaves this machine), hairpin so a pod reaches itself through its Service."""
    return {
        "cniVersion": "1.0.0", "name": "tenantry",
        "plugins": [
            {"type": "bridge", "bridge": config.NODE_BRIDGE, "isGateway": True, "ipMasq": False,
             "hairpinMode": True,
             "ipam": {"type": "host-local", "dataDir": str(HOME / "cni" / "ipam"),
                      "ranges": [[{"subnet": config.POD_CIDR, "gateway": config.NODE_IP}]],
                      "routes": [{"dst": "0.0.0.0/0"}]}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


# --- containerd -----------------------------------------------------------------------------------

def containerd_config(sandbox_image: str) -> str:
    """Debian's containerd 1.6 with runc (cgroupfs), the settings this machine needs, images that are
    never pulled (every registry is mirrored to a closed port) and its sockets under /run."""
    return f"""version = 2
root = "{HOME / 'containerd' / 'root'}"
state = "{config.NODE_RUN / 'containerd'}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "{CONTAINERD_SOCKET}"

[metrics]
  address = "{config.HOST}:{PORTS['containerd']}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  restrict_oom_score_adj = true
  tolerate_missing_hugepages_controller = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{HOME / 'cni' / 'net.d'}"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."*"]
    endpoint = ["http://{config.HOST}:9"]
"""


def containerd(sandbox_image: str) -> Component:
    config_file = HOME / "containerd" / "config.toml"

    def prepare() -> None:
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(containerd_config(sandbox_image))
        net_d = HOME / "cni" / "net.d"
        net_d.mkdir(parents=True, exist_ok=True)
        (net_d / "10-tenantry.conflist").write_text(json.dumps(cni_config(), indent=2))
        config.NODE_RUN.mkdir(parents=True, exist_ok=True)

    port = PORTS["containerd"]
    return Component(name="containerd", title="containerd", port=port, prepare=prepare,
                     argv=lambda: ["containerd", "--config", str(config_file)],
                     ready=lambda: http_ok(f"http://{config.HOST}:{port}/v1/metrics") and CONTAINERD_SOCKET.exists())


def ctr(*args: str, what: str) -> str:
    return run(["ctr", "--address", str(CONTAINERD_SOCKET), "--namespace", "k8s.io", *args], what)


def import_image(ref: str, archive: Path) -> bool:
    """Load an image archive into containerd's k8s.io namespace unless it holds the reference already."""
    if ref in ctr("images", "list", "--quiet", what="listing containerd's images").split():
        return False
    ctr("images", "import", "--no-unpack=false", str(archive), what=f"importing {ref} into containerd")
    return True


# --- The kubelet, kube-proxy, the scheduler -------------------------------------------------------

def kubelet_config() -> dict:
    p = PLANE.pki
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "cgroupDriver": "cgroupfs", "failCgroupV1": False, "failSwapOn": False,
        "address": config.NODE_IP, "port": PORTS["kubelet"],
        "healthzBindAddress": config.HOST, "healthzPort": PORTS["kubelet-healthz"],
        "tlsCertFile": str(p / "kubelet-serving.crt"), "tlsPrivateKeyFile": str(p / "kubelet-serving.key"),
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(p / "ca.crt")}},
        "authorization": {"mode": "Webhook"},
        "clusterDomain": "cluster.local", "clusterDNS": [config.CLUSTER_DNS_IP],
        # No search domains or resolvers of the machine's leak into pods: CoreDNS answers them all.
        "resolvConf": str(HOME / "kubelet" / "resolv.conf"),
        # Images are imported, never pulled: the kubelet must not collect them as garbage, nor evict
        # pods because a shared disk is fuller than a dedicated node's would be.
        "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
        "evictionHard": {"nodefs.available": "1%", "imagefs.available": "1%", "memory.available": "100Mi"},
        "serializeImagePulls": False, "maxPods": 60, "staticPodPath": "",
    }


def kubelet() -> Component:
    folder = HOME / "kubelet"

    def prepare() -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "resolv.conf").write_text("")
        (folder / "config.json").write_text(json.dumps(kubelet_config(), indent=2))
        PLANE.write_kubeconfig("kubelet")

    port = PORTS["kubelet-healthz"]
    return Component(
        name="kubelet", title="the kubelet", port=port, prepare=prepare,
        argv=lambda: [str(gotools.cached_binary("kubelet", config.KUBERNETES_VERSION)),
                      f"--config={folder / 'config.json'}", f"--kubeconfig={PLANE.kubeconfig_file('kubelet')}",
                      f"--container-runtime-endpoint=unix://{CONTAINERD_SOCKET}", f"--root-dir={folder / 'root'}",
                      f"--node-ip={config.NODE_IP}", f"--hostname-override={config.NODE_NAME}", "--v=1"],
        ready=lambda: http_ok(f"http://{config.HOST}:{port}/healthz"))


def kube_proxy_config() -> dict:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
        "mode": "iptables", "clusterCIDR": config.POD_CIDR, "hostnameOverride": config.NODE_NAME,
        "clientConnection": {"kubeconfig": str(PLANE.kubeconfig_file("kube-proxy"))},
        "bindAddress": config.NODE_IP,
        "healthzBindAddress": f"{config.HOST}:{PORTS['kube-proxy']}",
        "metricsBindAddress": f"{config.HOST}:{PORTS['kube-proxy-metrics']}",
        # Leave the machine's conntrack table size and route_localnet alone.
        "conntrack": {"maxPerCore": 0},
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False},
        "nodePortAddresses": [f"{config.NODE_IP}/32"],
    }


def kube_proxy() -> Component:
    config_file = HOME / "kube-proxy" / "config.json"

    def prepare() -> None:
        config_file.parent.mkdir(parents=True, exist_ok=True)
        config_file.write_text(json.dumps(kube_proxy_config(), indent=2))
        PLANE.write_kubeconfig("kube-proxy")

    port = PORTS["kube-proxy"]
    return Component(
        name="kube-proxy", title="kube-proxy", port=port, prepare=prepare,
        argv=lambda: [str(gotools.cached_binary("kube-proxy", config.KUBERNETES_VERSION)),
                      f"--config={config_file}", "--v=1"],
        ready=lambda: port_open(port))


def kube_scheduler() -> Component:
    kubeconfig = PLANE.kubeconfig_file("scheduler")
    port = PORTS["kube-scheduler"]
    return Component(
        name="kube-scheduler", title="kube-scheduler", port=port,
        prepare=lambda: PLANE.write_kubeconfig("scheduler"),
        argv=lambda: [str(gotools.cached_binary("kube-scheduler", config.KUBERNETES_VERSION)),
                      f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                      f"--authorization-kubeconfig={kubeconfig}", f"--bind-address={config.HOST}",
                      f"--secure-port={port}", "--leader-elect=false", "--v=1"],
        ready=lambda: http_ok(f"https://{config.HOST}:{port}/healthz", insecure=True))


def cluster_postgres() -> Component:
    """The database the chart expects outside it: its own PostgreSQL, on loopback and the node's address."""
    return postgres("cluster-postgres", PORTS["cluster-postgres"], listen=(config.HOST, config.NODE_IP),
                    client_cidrs=(config.POD_CIDR,))


def components(sandbox_image: str) -> list[Component]:
    """The node's processes in start order."""
    return [cluster_postgres(), etcd(PLANE), kube_apiserver(PLANE, prepare=ensure_pki),
            kube_controller_manager(PLANE), kube_scheduler(), containerd(sandbox_image), kubelet(), kube_proxy()]
