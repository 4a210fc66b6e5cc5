from tenantry.tenancy.clone import Catalog, clone_statements

CATALOG = Catalog(
    tables=["projects_project"],
    constraints=[
        ("projects_project", "projects_project_owner_fk", "FOREIGN KEY (owner_id) REFERENCES accounts_user(id)", "f"),
        ("projects_project", "projects_project_self_fk",
         "FOREIGN KEY (parent_id) REFERENCES tenant_template.projects_project(id)", "f"),
        ("projects_project", "projects_project_pkey", "PRIMARY KEY (id)", "p"),
        ("projects_project", "positive_budget", "CHECK ((budget >= 0))", "c"),
    ],
    indexes=["CREATE INDEX projects_idx ON tenant_template.projects_project USING btree (status)"],
    identities=[("projects_project", "id")],
)


def test_objects_keep_their_names_and_land_in_the_new_schema():
    sql = clone_statements("tenant_template", "t_acme", CATALOG)
    assert sql[0] == 'CREATE SCHEMA "t_acme"'
    assert 'ALTER TABLE "t_acme"."projects_project" ADD CONSTRAINT "projects_project_pkey" PRIMARY KEY (id)' in sql
    assert 'CREATE INDEX projects_idx ON "t_acme".projects_project USING btree (status)' in sql
    assert not any("tenant_template." in statement for statement in sql)


def test_foreign_keys_come_last_and_public_references_stay_public():
    sql = clone_statements("tenant_template", "t_acme", CATALOG)
    fks = [i for i, statement in enumerate(sql) if "FOREIGN KEY" in statement]
    assert fks == [len(sql) - 2, len(sql) - 1]
    assert sql[-2].endswith("REFERENCES accounts_user(id)")
    assert sql[-1].endswith('REFERENCES "t_acme".projects_project(id)')


def test_rows_are_copied_before_sequences_are_moved_past_them():
    sql = clone_statements("tenant_template", "t_acme", CATALOG)
    insert = next(i for i, s in enumerate(sql) if s.startswith("INSERT INTO"))
    setval = next(i for i, s in enumerate(sql) if "setval" in s)
    assert insert < setval
