"""A throwaway PKI for the local control plane, made with the openssl command line.

One CA signs the API server's serving certificate and the client certificates of the admin and the
controller manager; a separate RSA key pair signs service-account tokens. Files are created once and
reused, so kubeconfigs handed out earlier stay valid across `make down` / `make up`.
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


def _signed(stem: str, subject: str, extensions: str | None = None) -> None:
    key, csr, crt = (PKI / f"{stem}.{ext}" for ext in ("key", "csr", "crt"))
    if crt.exists():
        return
    _openssl("genrsa", "-out", str(key), "2048")
    _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
    args = ["x509", "-req", "-in", str(csr), "-CA", str(PKI / "ca.crt"), "-CAkey", str(PKI / "ca.key"),
            "-CAcreateserial", "-days", "3650", "-sha256", "-out", str(crt)]
    if extensions:
        ext_file = PKI / f"{stem}.ext"
        ext_file.write_text(extensions)
        args += ["-extfile", str(ext_file)]
    _openssl(*args)


def ensure() -> Path:
    PKI.mkdir(parents=True, exist_ok=True)
    if not (PKI / "ca.crt").exists():
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(PKI / "ca.key"),
                 "-out", str(PKI / "ca.crt"), "-days", "3650", "-subj", "/CN=tenantry-local-ca")
    _signed("apiserver", "/CN=kube-apiserver",
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
            "DNS:kubernetes.default.svc,IP:10.0.0.1\nextendedKeyUsage=serverAuth\n")
    # The operator's admission webhook, called by the API server on loopback.
    _signed("webhook", "/CN=tenantry-webhook",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    for stem, (cn, org) in CLIENTS.items():
        _signed(stem, f"/CN={cn}" + (f"/O={org}" if org else ""), "extendedKeyUsage=clientAuth\n")
    if not (PKI / "sa.pub").exists():
        _openssl("genrsa", "-out", str(PKI / "sa.key"), "2048")
        _openssl("rsa", "-in", str(PKI / "sa.key"), "-pubout", "-out", str(PKI / "sa.pub"))
    return PKI


def kubeconfig(stem: str, server: str) -> str:
    """A kubeconfig for one of CLIENTS with every certificate embedded, so it can be copied anywhere."""
    def b64(name: str) -> str:
        return base64.b64encode((PKI / name).read_bytes()).decode()

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
    namespace: {config.NAMESPACE}
current-context: tenantry-local
"""
