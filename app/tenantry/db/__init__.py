"""Database backend: django-tenants' backend, made safe behind a transaction-pooling PgBouncer."""
