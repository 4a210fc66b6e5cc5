"""Fleet migrations: bring every tenant schema to the deployed code's migrations.

Stock django-tenants runs a whole Django `migrate` per schema, even when nothing is pending. Here:

- `target`: what the deployed code expects, as a set of migration names and a short version;
- `survey`: where every schema stands, in a handful of queries for the whole fleet;
- `compiled`: a migration plan turned into SQL once per starting version (Django's own schema editor
  against one schema of that version) and replayed in every other schema of that version;
- `rollout`: canary tenants first (a failing canary holds the rest), then the others in batches on a
  bounded number of connections; each schema in one transaction that also records the migrations, under
  an advisory lock, so an interrupted rollout resumes and nothing is applied twice.

The `migrate_tenants` command (run by every deploy: `make up`, the chart's migration hook) and the
operator's fleet loop call the same `rollout`.
"""
