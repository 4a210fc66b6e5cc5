"""The streaming replica's configuration, without a server: its ports, the URLs the app gets, the
standby's settings and clone command, the LSN arithmetic the tests rely on, and the exporter queries
behind the replication alerts and panels."""
import json
import re

import jsonschema
import yaml

from localplatform import config, pitr, replica
from localplatform.components import app_env, infrastructure

DASHBOARDS = config.ROOT / "dashboards"


def test_the_replica_ports_collide_with_nothing():
    ports = [*config.PORTS.values(), *config.CLUSTER_PORTS.values()]
    assert len(ports) == len(set(ports))
    assert {config.PORTS["postgres-replica"], config.PORTS["pgbouncer-replica"]}.isdisjoint(
        {pitr.PRIMARY_PORT, pitr.RESTORED_PORT})


def test_the_app_reads_the_replica_through_its_pgbouncer_when_pooled_and_directly_when_not():
    pooled, direct = app_env("db1", pooled=True), app_env("db1", pooled=False)
    assert pooled["TENANTRY_DATABASE_REPLICA_URL"] == config.database_url(config.PORTS["pgbouncer-replica"], "db1")
    assert direct["TENANTRY_DATABASE_REPLICA_URL"] == config.database_url(config.PORTS["postgres-replica"], "db1")
    assert app_env("db1", replica_pgbouncer_port=23456)["TENANTRY_DATABASE_REPLICA_URL"].endswith(":23456/db1")
    # The primary's URL is what it was.
    assert pooled["DATABASE_URL"] == config.database_url(config.PORTS["pgbouncer"], "db1")
    assert direct["DATABASE_URL"] == config.database_url(config.PORTS["postgres"], "db1")


def test_the_replica_starts_after_the_primary_and_its_pool():
    names = [c.name for c in infrastructure()]
    assert names.index("postgres") < names.index("pgbouncer") < names.index("postgres-replica") \
        < names.index("pgbouncer-replica")
    assert replica.pgbouncer_replica().port == config.PORTS["pgbouncer-replica"]


def test_the_standby_is_hot_reports_every_second_and_protects_its_queries():
    options = replica.standby_options()
    settings = dict(value.split("=", 1) for flag, value in zip(options[::2], options[1::2], strict=True)
                    if flag == "-c")
    assert settings["hot_standby"] == settings["hot_standby_feedback"] == "on"
    assert settings["wal_receiver_status_interval"] == "1s"
    assert re.fullmatch(r"\d+s", settings["max_standby_streaming_delay"])


def test_the_clone_streams_its_wal_through_the_slot_and_writes_the_standby_config():
    argv = replica.basebackup_argv("/data/replica")
    assert argv[0].endswith("/pg_basebackup")
    for flag, value in (("-D", "/data/replica"), ("-X", "stream"), ("-S", config.REPLICATION_SLOT)):
        assert argv[argv.index(flag) + 1] == value
    assert "-R" in argv and "--checkpoint=fast" in argv
    conninfo = argv[argv.index("-d") + 1]
    assert f"user={config.REPLICATION_USER}" in conninfo and f"port={config.PORTS['postgres']}" in conninfo
    assert f"application_name={replica.APPLICATION_NAME}" in conninfo
    assert config.REPLICATION_PASSWORD not in " ".join(argv), "the password goes in the environment"
    assert replica.replication_hba_line() == "host replication replicator 127.0.0.1/32 scram-sha-256\n"


def _exported_gauges() -> set[str]:
    queries = yaml.safe_load((DASHBOARDS / "postgres-exporter-queries.yaml").read_text())
    return {f"{name}_{column}" for name, query in queries.items() for metric in query["metrics"]
            for column, spec in metric.items() if spec["usage"] == "GAUGE"}


def test_every_replication_metric_the_alerts_and_dashboards_use_is_exported():
    rules = yaml.safe_load((DASHBOARDS / "alerts.yaml").read_text())["groups"][0]["rules"]
    used_in = {"alerts.yaml": " ".join(rule["expr"] for rule in rules),
               "data-tier.json": json.dumps(json.loads((DASHBOARDS / "data-tier.json").read_text()))}
    gauges = _exported_gauges()
    for where, text in used_in.items():
        used = set(re.findall(r"tenantry_replica(?:s|tion)_\w+", text))
        assert used, f"{where} uses no replication metric"
        assert used <= gauges, f"{where}: {used - gauges} not in postgres-exporter-queries.yaml"


def test_the_replication_alerts_exist():
    rules = {r["alert"]: r for r in yaml.safe_load((DASHBOARDS / "alerts.yaml").read_text())["groups"][0]["rules"]}
    assert "tenantry_replication_replay_lag_seconds" in rules["TenantryReplicaLagging"]["expr"]
    assert "tenantry_replication_slot_active" in rules["TenantryReplicaDown"]["expr"]


def _chart_schema_errors(replica: dict) -> list[str]:
    chart = config.ROOT / "charts" / "tenantry"
    values = yaml.safe_load((chart / "values.yaml").read_text())
    values.update(baseDomain="tenantry.example.com")
    values["database"].update(password="p")
    values["database"]["replica"].update(replica)
    schema = json.loads((chart / "values.schema.json").read_text())
    return [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(values)]


def test_the_charts_replica_is_off_by_default_and_its_values_are_checked():
    values = yaml.safe_load((config.ROOT / "charts" / "tenantry" / "values.yaml").read_text())
    assert values["database"]["replica"]["host"] == values["database"]["replica"]["existingSecret"] == ""
    assert not _chart_schema_errors({})
    assert not _chart_schema_errors({"host": "postgres-ro.db", "port": 6432, "maxLagSeconds": 10})
    assert not _chart_schema_errors({"existingSecret": "replica-url", "existingSecretKey": "url"})
    assert _chart_schema_errors({"host": "Not A Host"})
    assert _chart_schema_errors({"port": 0})
    assert _chart_schema_errors({"maxLagSeconds": 0})
    assert _chart_schema_errors({"url": "postgresql://x"}), "unknown keys are refused"
