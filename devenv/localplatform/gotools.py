"""Build the control-plane binaries from their published Go modules, once per version.

k8s.io/kubernetes cannot be `go install`ed: its go.mod requires each staging module (k8s.io/api,
k8s.io/client-go, ...) at v0.0.0 and replaces it with a path inside its own repository. So we write a
small module that requires k8s.io/kubernetes and replaces every staging module with its published
v0.X.Y twin, reading the list from k8s.io/kubernetes' own go.mod so it never goes stale. etcd's root
module has replace directives too, so a four-line main calls etcdmain.Main instead. helm installs plainly.
The node's add-ons (CoreDNS, Traefik) build the same way as Kubernetes: a wrapper module that requires
the upstream module and repeats its module-to-module replace directives, which `go install` ignores.

Binaries land in CACHE/bin/<name>-<version>; an existing binary means nothing is built.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from . import config

# The control plane and kubectl, and the node's kubelet, kube-scheduler and kube-proxy: one build.
KUBE_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kubectl", "kubelet", "kube-scheduler", "kube-proxy")


class BuildError(RuntimeError):
    pass


def cached_binary(name: str, version: str) -> Path:
    return config.CACHE / "bin" / f"{name}-{version}"


def kubernetes_module_file(kube_version: str, staging: list[str]) -> str:
    """go.mod text for a module that builds the Kubernetes commands at `kube_version`."""
    minor_twin = "v0." + kube_version.split(".", 1)[1]  # v1.35.4 -> v0.35.4
    replaces = "\n".join(f"\t{mod} => {mod} {minor_twin}" for mod in sorted(staging))
    return (
        "module tenantry.dev/localplatform/kubernetes\n\n"
        "go 1.25\n\n"
        f"require k8s.io/kubernetes {kube_version}\n\n"
        f"replace (\n{replaces}\n)\n"
    )


def staging_modules(kubernetes_go_mod: str) -> list[str]:
    """The modules that k8s.io/kubernetes replaces with a path inside its own tree."""
    return re.findall(r"^\s*(k8s\.io/[\w.-]+)\s+=>\s+\./staging/", kubernetes_go_mod, re.M)


def module_replaces(go_mod: str) -> list[str]:
    """The `old => new version` replace directives of a go.mod (single and block form); directives
    pointing at a local path are left out, since a wrapper module cannot follow them."""
    block = re.search(r"^replace\s*\((.*?)^\)", go_mod, re.M | re.S)
    lines = (block.group(1).splitlines() if block else []) + re.findall(r"^replace\s+([^(\s].*)$", go_mod, re.M)
    replaces = []
    for line in lines:
        line = line.split("//", 1)[0].strip()
        match = re.fullmatch(r"(\S+)(?:\s+\S+)?\s+=>\s+(\S+)\s+(v\S+)", line)
        if match:
            replaces.append(f"{match.group(1)} => {match.group(2)} {match.group(3)}")
    return replaces


def wrapper_module_file(name: str, module: str, version: str, replaces: list[str]) -> str:
    block = "".join(f"\t{line}\n" for line in replaces)
    return (f"module tenantry.dev/localplatform/{name}\n\ngo 1.25\n\nrequire {module} {version}\n"
            + (f"\nreplace (\n{block})\n" if replaces else ""))


def kube_ldflags(kube_version: str) -> str:
    major, minor = kube_version.lstrip("v").split(".")[:2]
    values = {"gitVersion": kube_version, "gitMajor": major, "gitMinor": minor,
              "gitTreeState": "clean", "buildDate": "1970-01-01T00:00:00Z"}
    flags = [f"-X {pkg}.{key}={value}"
             for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
             for key, value in values.items()]
    return " ".join(["-s", "-w", *flags])


ETCD_MAIN = """package main

import (
\t"os"

\t"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
"""

KUBE_TOOLS = """//go:build tools

package tools

import (
{imports}
)
"""


def _go(args: list[str], cwd: Path, what: str, log: Path, **extra_env: str) -> None:
    env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", **extra_env}
    with log.open("a") as out:
        out.write(f"$ (cd {cwd} && go {' '.join(args)})\n")
        out.flush()
        result = subprocess.run(["go", *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = "".join(log.read_text().splitlines(True)[-15:])
        raise BuildError(f"go build of {what} failed (exit {result.returncode}); log: {log}\n{tail}")


def _module_dir(name: str) -> Path:
    path = config.CACHE / "src" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_kubernetes(version: str, log: Path) -> None:
    if all(cached_binary(cmd, version).exists() for cmd in KUBE_COMMANDS):
        return
    src = _module_dir(f"kubernetes-{version}")
    what = f"k8s.io/kubernetes {version}"
    upstream = _upstream_go_mod("k8s.io/kubernetes", version, src)
    (src / "go.mod").write_text(kubernetes_module_file(version, staging_modules(upstream)))
    imports = "\n".join(f'\t_ "k8s.io/kubernetes/cmd/{cmd}"' for cmd in KUBE_COMMANDS)
    (src / "tools.go").write_text(KUBE_TOOLS.format(imports=imports))
    _go(["mod", "tidy"], src, what, log)
    out = src / "out"
    out.mkdir(exist_ok=True)
    _go(["build", "-o", str(out), "-ldflags", kube_ldflags(version),
         *[f"k8s.io/kubernetes/cmd/{cmd}" for cmd in KUBE_COMMANDS]], src, what, log)
    for cmd in KUBE_COMMANDS:
        _install(out / cmd, cached_binary(cmd, version))
    shutil.rmtree(out)


def _upstream_module(module: str, version: str, cwd: Path | None = None) -> dict:
    """`go mod download -json` of one module version: where its files and its go.mod are."""
    probe = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=cwd,
                           capture_output=True, text=True,
                           env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": ""})
    if probe.returncode != 0:
        raise BuildError(f"cannot download Go module {module} {version}: "
                         f"{probe.stderr.strip() or probe.stdout.strip()}")
    return json.loads(probe.stdout)


def _upstream_go_mod(module: str, version: str, cwd: Path) -> str:
    return Path(_upstream_module(module, version, cwd)["GoMod"]).read_text()


def build_wrapped(name: str, module: str, version: str, package: str, log: Path, ldflags: str = "",
                  tags: str = "") -> Path:
    """Build `package` of `module` at `version` into the cache as `name`, once (with build `tags`)."""
    target = cached_binary(name, version)
    if target.exists():
        return target
    src = _module_dir(f"{name}-{version}")
    what = f"{module} {version}"
    replaces = module_replaces(_upstream_go_mod(module, version, src))
    (src / "go.mod").write_text(wrapper_module_file(name, module, version, replaces))
    (src / "tools.go").write_text(KUBE_TOOLS.format(imports=f'\t_ "{package}"'))
    _go(["mod", "tidy"], src, what, log)
    _go(["build", "-o", str(src / name), "-ldflags", f"-s -w {ldflags}".strip(), *(["-tags", tags] if tags else []),
         package], src, what, log)
    _install(src / name, target)
    (src / name).unlink()
    return target


def build_etcd(version: str, log: Path) -> None:
    if cached_binary("etcd", version).exists():
        return
    src = _module_dir(f"etcd-{version}")
    what = f"go.etcd.io/etcd/server/v3 {version}"
    (src / "go.mod").write_text(f"module tenantry.dev/localplatform/etcd\n\ngo 1.25\n\n"
                                f"require go.etcd.io/etcd/server/v3 {version}\n")
    (src / "main.go").write_text(ETCD_MAIN)
    _go(["mod", "tidy"], src, what, log)
    _go(["build", "-o", str(src / "etcd"), "-ldflags", "-s -w", "."], src, what, log)
    _install(src / "etcd", cached_binary("etcd", version))
    (src / "etcd").unlink()


def build_helm(version: str, log: Path) -> None:
    if cached_binary("helm", version).exists():
        return
    src = _module_dir(f"helm-{version}")
    what = f"helm.sh/helm/v3 {version}"
    ldflags = f"-s -w -X helm.sh/helm/v3/internal/version.version={version}"
    gobin = src / "gobin"
    _go(["install", "-ldflags", ldflags, f"helm.sh/helm/v3/cmd/helm@{version}"], src, what, log,
        GOBIN=str(gobin), GOFLAGS="")
    _install(gobin / "helm", cached_binary("helm", version))
    shutil.rmtree(gobin)


def _install(built: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    shutil.copy2(built, tmp)
    tmp.replace(target)


def ensure_all(log_dir: Path) -> dict[str, Path]:
    """Build what is missing and return {command: cached binary}."""
    log_dir.mkdir(parents=True, exist_ok=True)
    build_etcd(config.ETCD_VERSION, log_dir / "build-etcd.log")
    build_helm(config.HELM_VERSION, log_dir / "build-helm.log")
    build_kubernetes(config.KUBERNETES_VERSION, log_dir / "build-kubernetes.log")
    return binaries()


PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator"


def ensure_node_tools(log_dir: Path) -> dict[str, Path]:
    """What only `make cluster` needs: the add-ons that run in pods from local images (CoreDNS, Traefik,
    metrics-server, Prometheus, the Prometheus Operator and its config reloader), and crictl, which
    stops the node's pods through the CRI (network teardown included) at cluster-down."""
    log_dir.mkdir(parents=True, exist_ok=True)
    build_wrapped("crictl", "sigs.k8s.io/cri-tools", config.CRICTL_VERSION, "sigs.k8s.io/cri-tools/cmd/crictl",
                  log_dir / "build-crictl.log")
    build_wrapped("coredns", "github.com/coredns/coredns", config.COREDNS_VERSION,
                  "github.com/coredns/coredns", log_dir / "build-coredns.log")
    build_wrapped("traefik", "github.com/traefik/traefik/v3", config.TRAEFIK_VERSION,
                  "github.com/traefik/traefik/v3/cmd/traefik", log_dir / "build-traefik.log",
                  ldflags=f"-X github.com/traefik/traefik/v3/pkg/version.Version={config.TRAEFIK_VERSION.lstrip('v')}")
    build_wrapped("metrics-server", "sigs.k8s.io/metrics-server", config.METRICS_SERVER_VERSION,
                  "sigs.k8s.io/metrics-server/cmd/metrics-server", log_dir / "build-metrics-server.log",
                  ldflags=f"-X k8s.io/client-go/pkg/version.gitVersion={config.METRICS_SERVER_VERSION}")
    # Prometheus itself: Debian's is built without Kubernetes service discovery, which is all the
    # operator's configuration uses. Prometheus' own build tags leave every other discovery out.
    build_wrapped("prometheus", "github.com/prometheus/prometheus", config.PROMETHEUS_MODULE_VERSION,
                  "github.com/prometheus/prometheus/cmd/prometheus", log_dir / "build-prometheus.log",
                  ldflags=f"-X github.com/prometheus/common/version.Version={config.PROMETHEUS_VERSION.lstrip('v')}",
                  tags="remove_all_sd,enable_kubernetes_sd")
    version = f"-X github.com/prometheus/common/version.Version={config.PROMETHEUS_OPERATOR_VERSION.lstrip('v')}"
    for name, command in (("prometheus-operator", "operator"),
                          ("prometheus-config-reloader", "prometheus-config-reloader")):
        build_wrapped(name, PROMETHEUS_OPERATOR, config.PROMETHEUS_OPERATOR_VERSION,
                      f"{PROMETHEUS_OPERATOR}/cmd/{command}", log_dir / f"build-{name}.log", ldflags=version)
    return node_tool_binaries()


def node_tool_binaries() -> dict[str, Path]:
    return {"coredns": cached_binary("coredns", config.COREDNS_VERSION),
            "traefik": cached_binary("traefik", config.TRAEFIK_VERSION),
            "crictl": cached_binary("crictl", config.CRICTL_VERSION),
            "metrics-server": cached_binary("metrics-server", config.METRICS_SERVER_VERSION),
            "prometheus": cached_binary("prometheus", config.PROMETHEUS_MODULE_VERSION),
            "prometheus-operator": cached_binary("prometheus-operator", config.PROMETHEUS_OPERATOR_VERSION),
            "prometheus-config-reloader": cached_binary("prometheus-config-reloader",
                                                        config.PROMETHEUS_OPERATOR_VERSION)}


def prometheus_operator_source() -> Path:
    """The Prometheus Operator's module in Go's module cache (downloaded by its build): its CRDs are
    applied from there, never copied into this repository."""
    return Path(_upstream_module(PROMETHEUS_OPERATOR, config.PROMETHEUS_OPERATOR_VERSION)["Dir"])


def binaries() -> dict[str, Path]:
    """Every command we build, mapped to its cached binary at the pinned version."""
    found = {cmd: cached_binary(cmd, config.KUBERNETES_VERSION) for cmd in KUBE_COMMANDS}
    found["etcd"] = cached_binary("etcd", config.ETCD_VERSION)
    found["helm"] = cached_binary("helm", config.HELM_VERSION)
    return found


if __name__ == "__main__":
    try:
        for name, path in ensure_all(config.LOCAL / "logs").items():
            print(f"{name}: {path}")
    except BuildError as err:
        sys.exit(str(err))
