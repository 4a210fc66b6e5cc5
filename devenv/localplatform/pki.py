"""A throwaway PKI for a local control plane, made with the openssl command line.

One CA signs the API server's serving certificate and the client certificates of the admin and the
controller manager (and, for the node, of the scheduler, kube-proxy, the kubelet and the API server's
kubelet client); a separate RSA key pair signs service-account tokens. `make up` and the node keep a
PKI each. Files are created once and reused, so kubeconfigs handed out earlier stay valid across
`make down` / `make up`.
"""
import base64
from pathlib import Path

from . import config
from .proc import run

PKI = config.LOCAL / "pki"

CLIENTS = {
    # file stem: (common name, organisation)
    "admin": ("tenantry-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
}


def _openssl(*args: str) -> None:
    run(["openssl", *args], "openssl (local PKI)")


def _signed(root: Path, stem: str, subject: str, extensions: str | None = None) -> None:
    key, csr, crt = (root / f"{stem}.{ext}" for ext in ("key", "csr", "crt"))
    if crt.exists():
        return
    _openssl("genrsa", "-out", str(key), "2048")
    _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
    args = ["x509", "-req", "-in", str(csr), "-CA", str(root / "ca.crt"), "-CAkey", str(root / "ca.key"),
            "-CAcreateserial", "-days", "3650", "-sha256", "-out", str(crt)]
    if extensions:
        ext_file = root / f"{stem}.ext"
        ext_file.write_text(extensions)
        args += ["-extfile", str(ext_file)]
    _openssl(*args)


def _server_extensions(ips: tuple[str, ...], names: tuple[str, ...]) -> str:
    sans = ",".join([*(f"IP:{ip}" for ip in ips), *(f"DNS:{name}" for name in names)])
    return f"subjectAltName={sans}\nextendedKeyUsage=serverAuth\n"


def ensure(root: Path = PKI, apiserver_ips: tuple[str, ...] = ("127.0.0.1", "10.0.0.1"),
           clients: dict[str, tuple[str, str | None]] = CLIENTS,
           servers: dict[str, tuple[str, ...]] | None = None) -> Path:
    """The CA, the API server's certificate for `apiserver_ips`, a client certificate per entry of
    `clients` and a serving certificate (for those IPs) per entry of `servers`."""
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "ca.crt").exists():
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(root / "ca.key"),
                 "-out", str(root / "ca.crt"), "-days", "3650", "-subj", "/CN=tenantry-local-ca")
    _signed(root, "apiserver", "/CN=kube-apiserver", _server_extensions(
        apiserver_ips, ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")))
    # The operator's admission webhook, called by the API server on loopback.
    for stem, ips in (servers if servers is not None else {"webhook": ("127.0.0.1",)}).items():
        _signed(root, stem, f"/CN=tenantry-{stem}", _server_extensions(ips, ("localhost",)))
    for stem, (cn, org) in clients.items():
        _signed(root, stem, f"/CN={cn}" + (f"/O={org}" if org else ""), "extendedKeyUsage=clientAuth\n")
    if not (root / "sa.pub").exists():
        _openssl("genrsa", "-out", str(root / "sa.key"), "2048")
        _openssl("rsa", "-in", str(root / "sa.key"), "-pubout", "-out", str(root / "sa.pub"))
    return root


def kubeconfig(stem: str, server: str, root: Path = PKI, namespace: str = config.NAMESPACE) -> str:
    """A kubeconfig for one of the clients with every certificate embedded, so it can be copied anywhere."""
    def b64(name: str) -> str:
        return base64.b64encode((root / name).read_bytes()).decode()

    return f"""apiVersion: v1
kind: Config
clusters:
- name: tenantry-local
  cluster:
    server: {server}
    certificate-authority-data: {b64('ca.crt')}
users:
- name: {stem}
  user:
    client-certificate-data: {b64(stem + '.crt')}
    client-key-data: {b64(stem + '.key')}
contexts:
- name: tenantry-local
  context:
    cluster: tenantry-local
    user: {stem}
    namespace: {namespace}
current-context: tenantry-local
"""
