"""The pure parts of the local platform: Go module files, version flags, PostgreSQL's and PgBouncer's
config."""
from pathlib import Path

from localplatform import gotools
from localplatform.components import pgbouncer_ini, postgres_argv

KUBERNETES_GO_MOD = """module k8s.io/kubernetes
require (
\tk8s.io/api v0.0.0
)
replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tgithub.com/example/other => github.com/example/fork v1.0.0
)
"""


def test_staging_modules_are_read_from_the_upstream_go_mod():
    assert gotools.staging_modules(KUBERNETES_GO_MOD) == ["k8s.io/api", "k8s.io/client-go"]


def test_module_file_replaces_staging_modules_with_their_published_twins():
    text = gotools.kubernetes_module_file("v1.35.4", ["k8s.io/client-go", "k8s.io/api"])
    assert "require k8s.io/kubernetes v1.35.4" in text
    assert "\tk8s.io/api => k8s.io/api v0.35.4\n" in text
    assert "\tk8s.io/client-go => k8s.io/client-go v0.35.4\n" in text


def test_version_flags_make_the_server_report_its_real_version():
    flags = gotools.kube_ldflags("v1.35.4")
    assert "-X k8s.io/component-base/version.gitVersion=v1.35.4" in flags
    assert "-X k8s.io/component-base/version.gitMinor=35" in flags
    assert "-X k8s.io/client-go/pkg/version.gitVersion=v1.35.4" in flags


def test_pgbouncer_pools_by_transaction():
    ini = pgbouncer_ini(16432, 15432, Path("/x/userlist.txt"))
    assert "pool_mode = transaction" in ini
    assert "* = host=127.0.0.1 port=15432" in ini
    assert "listen_addr = 127.0.0.1" in ini


def test_postgres_preloads_pg_stat_statements_beside_the_callers_settings():
    argv = postgres_argv("postgres", 15432, options=("-c", "hot_standby=on"))
    settings = dict(value.split("=", 1) for flag, value in zip(argv, argv[1:], strict=False) if flag == "-c")
    assert settings["shared_preload_libraries"] == "pg_stat_statements"
    assert settings["hot_standby"] == "on"
