"""The pure parts of `make cluster`: the node's settings that this machine needs, the egress guard,
the add-on manifests, image references and tags, and the wrapper modules of the Go-built add-ons."""
import ipaddress
import subprocess
import tomllib

import pytest
import yaml

from localplatform import cluster, config, gotools, images, node

TRAEFIK_GO_MOD = """module github.com/traefik/traefik/v3
replace (
\tgithub.com/abbot/go-http-auth => github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e
\tgithub.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59 // a fork
\texample.com/local => ../local
)
replace github.com/mailgun/minheap v1.0.0 => github.com/containous/minheap v0.0.0-20190809180810-6e71eb837595
"""


def test_wrapper_modules_repeat_the_upstream_replace_directives_but_not_local_paths():
    replaces = gotools.module_replaces(TRAEFIK_GO_MOD)
    assert replaces == [
        "github.com/abbot/go-http-auth => github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e",
        "github.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59",
        "github.com/mailgun/minheap => github.com/containous/minheap v0.0.0-20190809180810-6e71eb837595",
    ]
    text = gotools.wrapper_module_file("traefik", "github.com/traefik/traefik/v3", "v3.6.12", replaces)
    assert "require github.com/traefik/traefik/v3 v3.6.12\n" in text and "\tgithub.com/gorilla/mux => " in text


def test_containerd_has_the_settings_this_machine_needs():
    cri = tomllib.loads(node.containerd_config("tenantry.local/pause:abc"))["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True  # no CAP_SYS_RESOURCE here
    assert cri["tolerate_missing_hugepages_controller"] is True
    assert cri["sandbox_image"] == "tenantry.local/pause:abc"
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False
    assert cri["cni"]["bin_dir"] == "/usr/lib/cni"
    endpoint = cri["registry"]["mirrors"]["*"]["endpoint"][0]
    assert ipaddress.ip_address(endpoint.split("//")[1].split(":")[0]).is_loopback


def test_the_kubelet_runs_on_cgroup_v1_with_cgroupfs_and_never_collects_images():
    settings = node.kubelet_config()
    assert settings["failCgroupV1"] is False and settings["cgroupDriver"] == "cgroupfs"
    assert settings["address"] == config.NODE_IP and settings["healthzBindAddress"] == config.HOST
    assert ipaddress.ip_address(settings["clusterDNS"][0]) in ipaddress.ip_network(config.SERVICE_CIDR)
    assert settings["resolvConf"] != "/etc/resolv.conf"
    assert settings["imageGCHighThresholdPercent"] == 100
    assert settings["authentication"]["anonymous"]["enabled"] is False


def test_pods_get_addresses_on_the_bridge_and_are_never_masqueraded():
    bridge = node.cni_config()["plugins"][0]
    assert bridge["bridge"] == config.NODE_BRIDGE and bridge["ipMasq"] is False
    assert bridge["ipam"]["ranges"] == [[{"subnet": config.POD_CIDR, "gateway": config.NODE_IP}]]
    assert ipaddress.ip_address(config.NODE_IP) in ipaddress.ip_network(config.POD_CIDR)
    assert not ipaddress.ip_network(config.POD_CIDR).overlaps(ipaddress.ip_network(config.SERVICE_CIDR))


def test_the_egress_guard_passes_pod_to_pod_and_drops_the_rest():
    rules = node.egress_rules()
    assert rules[0] == ["-s", config.POD_CIDR, "-d", config.POD_CIDR, "-j", "ACCEPT"]
    assert rules[-1] == ["-s", config.POD_CIDR, "-j", "DROP"]


ADDON_IMAGES = {role: images.Image(f"tenantry.local/{role}:{role}1", f"{role}1", print)
                for role in ("coredns", "traefik", "metrics-server", "prometheus-operator",
                             "prometheus-config-reloader", "prometheus", "postgres-exporter")}


@pytest.mark.parametrize("addon", ["coredns", "traefik", "metrics-server", "monitoring"])
def test_addons_run_local_images_non_root_and_never_pull(addon):
    documents = list(yaml.safe_load_all(cluster.addon_manifest(addon, ADDON_IMAGES)))
    local = {image.ref for image in ADDON_IMAGES.values()}
    for deployment in (d for d in documents if d["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"]:
            context = {**pod.get("securityContext", {}), **container["securityContext"]}
            assert context["runAsNonRoot"] is True and context["readOnlyRootFilesystem"] is True
            assert container["image"] in local and container["imagePullPolicy"] == "Never"


def test_the_prometheus_runs_the_local_image_and_selects_what_kube_prometheus_stack_selects():
    documents = list(yaml.safe_load_all(cluster.addon_manifest("monitoring", ADDON_IMAGES)))
    prometheus = next(d for d in documents if d["kind"] == "Prometheus")["spec"]
    assert prometheus["image"] == ADDON_IMAGES["prometheus"].ref and prometheus["imagePullPolicy"] == "Never"
    assert prometheus["version"] == config.PROMETHEUS_VERSION
    labels = yaml.safe_load(cluster.VALUES.read_text())["monitoring"]["additionalLabels"]
    assert prometheus["serviceMonitorSelector"] == prometheus["ruleSelector"] == {"matchLabels": labels}
    assert prometheus["serviceMonitorNamespaceSelector"] == prometheus["ruleNamespaceSelector"] == {}


def test_traefik_listens_on_loopback_and_calls_nobody():
    args = next(d for d in yaml.safe_load_all(cluster.addon_manifest("traefik", ADDON_IMAGES))
                if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--entryPoints.web.address=127.0.0.1:{cluster.INGRESS_PORT}" in args
    assert "--global.checknewversion=false" in args and "--global.sendanonymoususage=false" in args


def test_coredns_forwards_no_query():
    corefile = next(d for d in yaml.safe_load_all(cluster.addon_manifest("coredns", ADDON_IMAGES))
                    if d["kind"] == "ConfigMap")["data"]["Corefile"]
    assert "forward" not in corefile and "rcode NXDOMAIN" in corefile


def test_metrics_server_verifies_the_kubelet_with_the_cluster_ca():
    args = next(d for d in yaml.safe_load_all(cluster.addon_manifest("metrics-server", ADDON_IMAGES))
                if d["kind"] == "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--kubelet-insecure-tls" not in args
    assert "--kubelet-certificate-authority=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" in args


def test_the_backup_volume_is_the_claim_the_release_names_and_is_kept():
    documents = {d["kind"]: d for d in yaml.safe_load_all(cluster.addon_manifest("backups", ADDON_IMAGES))}
    volume, claim = documents["PersistentVolume"], documents["PersistentVolumeClaim"]
    assert volume["spec"]["local"]["path"] == str(cluster.BACKUP_VOLUME)
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert claim["spec"]["volumeName"] == volume["metadata"]["name"]
    values = yaml.safe_load(cluster.VALUES.read_text())
    assert claim["metadata"] == {"name": values["backup"]["pvc"], "namespace": cluster.NAMESPACE}


def test_the_chart_gets_the_built_images_and_never_pulls():
    built = {role: images.Image(f"tenantry.local/{role}:{role}1", f"{role}1", print)
             for role in ("tenantry", "pgbouncer", "redis", "curl", "pgbouncer-exporter", "redis-exporter")}
    values = yaml.safe_load(cluster.image_values(built))
    assert values["image"] == {"repository": "tenantry.local/tenantry", "tag": "tenantry1", "pullPolicy": "Never"}
    assert values["pgbouncer"] == {"image": "tenantry.local/pgbouncer:pgbouncer1",
                                   "exporter": {"image": "tenantry.local/pgbouncer-exporter:pgbouncer-exporter1"}}
    assert values["redis"] == {"image": "tenantry.local/redis:redis1",
                               "exporter": {"image": "tenantry.local/redis-exporter:redis-exporter1"}}
    assert values["tests"]["image"] == "tenantry.local/curl:curl1"


def test_an_image_tag_follows_the_content_git_sees(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("__pycache__/\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "a.py").write_text("A = 1\n")
    before = images.tree_digest(tmp_path, ("app",))
    (tmp_path / "app" / "__pycache__").mkdir()
    (tmp_path / "app" / "__pycache__" / "a.pyc").write_bytes(b"\0")
    assert images.tree_digest(tmp_path, ("app",)) == before  # ignored files do not count
    (tmp_path / "app" / "a.py").write_text("A = 2\n")
    assert images.tree_digest(tmp_path, ("app",)) != before  # an uncommitted edit does


def test_the_cluster_values_point_the_chart_at_the_node():
    values = yaml.safe_load(cluster.VALUES.read_text())
    assert values["database"]["host"] == config.NODE_IP
    assert values["database"]["port"] == config.CLUSTER_PORTS["cluster-postgres"]
    assert values["tenantIngress"]["className"] == "traefik"
