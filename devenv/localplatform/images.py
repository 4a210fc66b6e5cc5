"""The node's container images, built here without a daemon and without a registry.

Nothing can be pulled on these machines, so every image `make cluster` runs is made locally, as for
an air-gapped cluster's preload:
- the base images the Dockerfile's FROM lines name, as Debian root filesystems (mmdebstrap, from the
  machine's Debian sources) shaped to the same contract: `python:3.11-slim-bookworm` has `python` and
  `pip` in /usr/local/bin and its packages in /usr/local/lib/python3.11/site-packages (here a venv over
  Debian's python3.11 at /usr/local); `node:20-bookworm-slim` has `node` and `npm` (here Debian's
  nodejs 18, which only installs the front-end packages);
- Tenantry's image from the repository's own Dockerfile, by `buildah bud`, unchanged;
- the chart's third-party images (PgBouncer, Redis, curl) as Debian root filesystems holding the
  commands the chart runs, under `tenantry.local/` names so nobody mistakes them for upstream's;
- the add-ons (CoreDNS, Traefik, metrics-server, Prometheus, the Prometheus Operator and its config
  reloader) from their Go-built binaries, the exporters from Debian's packages (the PgBouncer one
  from this repository, on Tenantry's image), and the pause image from a static C program.

An image's tag is a hash of its inputs and its docker-archive is cached under that tag, so an image is
built only when its inputs change; the archives are imported into containerd by `cluster`.
"""
import hashlib
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from . import config, gotools
from .proc import PlatformError

REGISTRY = "tenantry.local"
IMAGES = config.CACHE / "images"
STORAGE = ["--root", str(config.CACHE / "containers" / "storage"), "--runroot", "/run/tenantry-buildah",
           "--storage-driver", "overlay"]
DEBIAN_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
PAUSE_SOURCE = config.ROOT / "devenv" / "cluster" / "pause.c"
# The files the Dockerfile copies; their content is the Tenantry image's tag.
DOCKERFILE_INPUTS = ("Dockerfile", ".dockerignore", "package.json", "package-lock.json", "pyproject.toml",
                     "README.md", "app", "operator")
# Read-only at build time only, so `RUN pip install`, `npm ci` and `apt-get install` reach the
# registries through this machine's CA and client settings; none of them ends up in an image.
BUILD_MOUNTS = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pip.conf", "/etc/npmrc",
                "/etc/apt/apt.conf.d/99artifact-registry")
# Left out of every Debian root filesystem, as the slim images upstream do.
SLIMMED = ("doc", "man", "info", "locale", "lintian", "linda")
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Rootfs:
    """A Debian root filesystem: what mmdebstrap installs and the hooks it runs inside it."""
    packages: tuple[str, ...]
    hooks: tuple[str, ...] = ()

    def digest(self) -> str:
        sources = DEBIAN_SOURCES.read_bytes() if DEBIAN_SOURCES.exists() else b""
        return _digest(json.dumps([self.packages, self.hooks, SLIMMED]).encode(), sources)


@dataclass(frozen=True)
class Image:
    ref: str          # repository:tag as the chart or the Dockerfile names it
    digest: str       # of every input: decides whether the archive is current
    build: Callable[[str, Path], None]  # builds `ref` into buildah's storage, logging to the path

    @property
    def archive(self) -> Path:
        repository = self.ref.rsplit(":", 1)[0]
        return IMAGES / f"{repository.replace('/', '_')}-{self.digest}.tar"


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def _file_digest(path: Path) -> bytes:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


def tree_digest(root: Path, paths: tuple[str, ...]) -> str:
    """The content of the files under `paths` that git would see (tracked or new, not ignored), so an
    uncommitted edit rebuilds the image and a stray __pycache__ does not."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *paths],
                            cwd=root, capture_output=True, check=True).stdout.split(b"\0")
    files = sorted(name for name in listed if name and (root / name.decode()).is_file())
    return _digest(*(name + _file_digest(root / name.decode()) for name in files))


def _run(argv: list[str], log: Path, what: str, capture: bool = True) -> str:
    """Run a build step with its output in `log`; `capture` returns its standard output instead."""
    with log.open("a") as out:
        out.write(f"$ {' '.join(argv)}\n")
        out.flush()
        result = subprocess.run(argv, stdout=subprocess.PIPE if capture else out, stderr=out, text=True)
        out.write(result.stdout or "")
    if result.returncode != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(True)[-12:])
        raise PlatformError(f"{what} failed (exit {result.returncode}); log: {log}\n{tail}")
    return (result.stdout or "").strip()


def buildah(*args: str, log: Path, what: str, capture: bool = True) -> str:
    return _run(["buildah", *STORAGE, *args], log, what, capture)


def rootfs_tar(rootfs: Rootfs, log: Path) -> Path:
    tar = IMAGES / f"rootfs-{rootfs.digest()}.tar"
    if not tar.exists():
        IMAGES.mkdir(parents=True, exist_ok=True)
        hooks = [f"--customize-hook={hook}" for hook in rootfs.hooks]
        mirrors = [str(DEBIAN_SOURCES)] if DEBIAN_SOURCES.exists() else []
        _run(["mmdebstrap", "--variant=minbase", f"--include={','.join(rootfs.packages)}", *hooks,
              *[f"--dpkgopt=path-exclude=/usr/share/{folder}/*" for folder in SLIMMED],
              "bookworm", str(tar.with_suffix(".partial.tar")), *mirrors], log, "mmdebstrap of a Debian base",
             capture=False)
        tar.with_suffix(".partial.tar").replace(tar)
    return tar


def commit(base: str, ref: str, log: Path, adds: list[tuple[Path, str]], settings: list[str]) -> None:
    """`ref` made from `base` ("scratch" or an image in buildah's storage): files or root-filesystem
    tars added at their paths, then `buildah config`."""
    container = buildah("from", "--pull=never", base, log=log, what=f"buildah from {base} for {ref}")
    try:
        for source, target in adds:
            buildah("add", container, str(source), target, log=log, what=f"buildah add for {ref}")
        buildah("config", *settings, container, log=log, what=f"buildah config for {ref}")
        buildah("commit", "--rm", container, ref, log=log, what=f"buildah commit of {ref}")
    except PlatformError:
        buildah("rm", container, log=log, what="buildah rm")
        raise


def in_storage(image: Image, log: Path) -> str:
    """`image` in buildah's storage, built now if it is not (an archive alone is not enough to build
    on); returns its reference."""
    if subprocess.run(["buildah", *STORAGE, "inspect", "--type", "image", image.ref], capture_output=True).returncode:
        image.build(image.ref, log)
    return image.ref


def debian_image(ref: str, rootfs: Rootfs, settings: list[str]) -> Image:
    def build(ref: str, log: Path) -> None:
        tar = rootfs_tar(rootfs, log)
        commit("scratch", ref, log, [(tar, "/")], ["--env", f"PATH={PATH}", "--env", "LANG=C.UTF-8", *settings])
        tar.unlink()  # the image holds it now
    return Image(ref, _digest(rootfs.digest().encode(), json.dumps(settings).encode()), build)


def binary_image(name: str, binary: Path, args: list[str]) -> Image:
    """A static Go binary alone in an image, run as a non-root uid, at /bin/<name> as upstream's
    images have it (the Prometheus Operator runs its config reloader by that path)."""
    target = f"/bin/{name}"
    digest = _digest(_file_digest(binary), target.encode()) if binary.exists() else "missing"

    def build(ref: str, log: Path) -> None:
        commit("scratch", ref, log, [(binary, target)],
                       ["--entrypoint", json.dumps([target, *args]), "--user", "65532:65532"])
    return Image(f"{REGISTRY}/{name}:{digest}", digest, build)


def pause_image() -> Image:
    digest = _digest(PAUSE_SOURCE.read_bytes())

    def build(ref: str, log: Path) -> None:
        binary = IMAGES / f"pause-{digest}"
        _run(["gcc", "-static", "-Os", "-s", "-o", str(binary), str(PAUSE_SOURCE)], log, "gcc of pause.c")
        commit("scratch", ref, log, [(binary, "/pause")], ["--entrypoint", '["/pause"]', "--user", "65535:65535"])
        binary.unlink()
    return Image(f"{REGISTRY}/pause:{digest}", digest, build)


def dockerfile_bases() -> tuple[Image, ...]:
    """The images the Dockerfile's FROM lines name, under those names (their tags are not ours)."""
    python = Rootfs(("python3.11", "python3.11-venv", "ca-certificates", "passwd"),
                    ('chroot "$1" python3.11 -m venv /usr/local',))
    return (debian_image("docker.io/library/python:3.11-slim-bookworm", python, ["--cmd", "python3"]),
            debian_image("docker.io/library/node:20-bookworm-slim", Rootfs(("nodejs", "npm", "ca-certificates")),
                         ["--cmd", "node"]))


def third_party(name: str, packages: tuple[str, ...], command: str, entrypoint: bool = False) -> Image:
    """Debian packages under a `tenantry.local/` name; `entrypoint` when the pods pass only arguments
    (as the exporters' Deployments do)."""
    run = ["--entrypoint", json.dumps([command])] if entrypoint else ["--cmd", command]
    image = debian_image(f"{REGISTRY}/{name}", Rootfs(packages), [*run, "--user", "65532:65532"])
    return replace(image, ref=f"{image.ref}:{image.digest}")


def tenantry_image() -> Image:
    bases = dockerfile_bases()
    digest = _digest(tree_digest(config.ROOT, DOCKERFILE_INPUTS).encode(), *(b.digest.encode() for b in bases))

    def build(ref: str, log: Path) -> None:
        for base in bases:
            in_storage(base, log)
        mounts = [f"--volume={path}:{path}:ro" for path in BUILD_MOUNTS if Path(path).exists()]
        buildah("bud", "--pull=never", "--network=host", "--layers", *mounts, "--tag", ref,
                "--file", str(config.ROOT / "Dockerfile"), str(config.ROOT), log=log,
                what="buildah bud of the Dockerfile", capture=False)
    return Image(f"{REGISTRY}/tenantry:{digest}", digest, build)


def rebuilt(base: Image, release: str) -> Image:
    """`base` again under a new tag, differing only in a label: what a patch release without code
    changes looks like to the cluster (a new image, a new ReplicaSet, every pod replaced)."""
    digest = _digest(base.digest.encode(), release.encode())
    settings = ["--label", f"dev.tenantry.release={release}"]
    return Image(f"{base.ref.rsplit(':', 1)[0]}:{digest}", digest,
                 lambda ref, log: commit(in_storage(base, log), ref, log, [], settings))


def pgbouncer_exporter_image(tenantry: Image) -> Image:
    """`localplatform/pgbouncer_exporter.py` on Tenantry's image (psycopg, prometheus-client), run
    with the chart's exporter flags (see that module for why not an upstream exporter)."""
    script = config.ROOT / "devenv" / "localplatform" / "pgbouncer_exporter.py"
    target = "/opt/pgbouncer-exporter/pgbouncer_exporter.py"
    settings = ["--entrypoint", json.dumps(["python", target]), "--cmd", "[]", "--user", "65532:65532"]
    digest = _digest(tenantry.digest.encode(), script.read_bytes(), json.dumps(settings).encode())
    return Image(f"{REGISTRY}/pgbouncer-exporter:{digest}", digest,
                 lambda ref, log: commit(in_storage(tenantry, log), ref, log, [(script, target)], settings))


def cluster_images() -> dict[str, Image]:
    """Every image the node and the chart run, by role."""
    addons = gotools.node_tool_binaries()
    tenantry = tenantry_image()
    return {
        "pause": pause_image(),
        "tenantry": tenantry,
        "pgbouncer": third_party("pgbouncer", ("pgbouncer",), "pgbouncer"),
        "redis": third_party("redis", ("redis-server", "redis-tools"), "redis-server"),
        "curl": third_party("curl", ("curl", "ca-certificates"), "curl"),
        "coredns": binary_image("coredns", addons["coredns"], ["-conf", "/etc/coredns/Corefile"]),
        "traefik": binary_image("traefik", addons["traefik"], []),
        "metrics-server": binary_image("metrics-server", addons["metrics-server"], []),
        "prometheus-operator": binary_image("prometheus-operator", addons["prometheus-operator"], []),
        "prometheus-config-reloader": binary_image("prometheus-config-reloader",
                                                   addons["prometheus-config-reloader"], []),
        "prometheus": binary_image("prometheus", addons["prometheus"], []),
        "postgres-exporter": third_party("postgres-exporter", ("prometheus-postgres-exporter",),
                                         "/usr/bin/prometheus-postgres-exporter", entrypoint=True),
        "redis-exporter": third_party("redis-exporter", ("prometheus-redis-exporter",),
                                      "/usr/bin/prometheus-redis-exporter", entrypoint=True),
        "pgbouncer-exporter": pgbouncer_exporter_image(tenantry),
    }


def ensure(image: Image, prune: bool = True) -> Path:
    """The image's docker-archive, built and exported once per digest; with `prune`, the archives of
    the image's earlier builds go (not for a `rebuilt` one, which lives beside its base)."""
    if image.archive.exists():
        return image.archive
    IMAGES.mkdir(parents=True, exist_ok=True)
    log = config.LOGS / f"image-{image.ref.split('/')[-1].split(':')[0]}.log"
    image.build(image.ref, log)
    partial = image.archive.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    buildah("push", image.ref, f"docker-archive:{partial}:{image.ref}", log=log, what=f"export of {image.ref}")
    partial.replace(image.archive)
    repository = image.archive.name.rsplit("-", 1)[0]
    for stale in IMAGES.glob(f"{repository}-*.tar") if prune else ():
        # An earlier build of the same image (inputs have changed since), not another image whose
        # name starts alike (prometheus-operator beside prometheus).
        if stale != image.archive and stale.name.rsplit("-", 1)[0] == repository:
            stale.unlink()
    return image.archive
