"""Tenants and their domains, in the public schema (django-tenants' Client/Domain pattern)."""
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Tenant(TenantMixin):
    class State(models.TextChoices):
        PROVISIONING = "provisioning"
        ACTIVE = "active"
        SUSPENDED = "suspended"
        RETAINED = "retained"  # the Tenant resource is gone; the schema was kept by deletionPolicy

    # The Kubernetes object this row belongs to ("<namespace>/<name>"): how the operator finds it.
    resource = models.CharField(max_length=300, unique=True)
    display_name = models.CharField(max_length=200)
    plan = models.CharField(max_length=50, default="free")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PROVISIONING)
    # spec.backup.enabled: a tenant that chose no backups is not overdue for one (tenantry.backups.selectors).
    backups_enabled = models.BooleanField(default=True)
    # Fleet migrations (tenantry.tenancy.fleet): spec.migrations.canary tenants migrate first, and a
    # failure of one holds the rollout; the last failure stays here until the schema migrates. Columns
    # with database defaults, so pods of the previous release can still insert rows.
    migration_canary = models.BooleanField(default=False, db_default=False)
    migration_error = models.TextField(blank=True, default="", db_default="")
    migration_failed_at = models.DateTimeField(null=True, blank=True)
    migration_failed_version = models.CharField(max_length=32, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Schemas are created and dropped explicitly by the provisioning service, never as a side
    # effect of save() or delete().
    auto_create_schema = False
    auto_drop_schema = False

    def __str__(self) -> str:
        return f"{self.display_name} ({self.schema_name})"


class Domain(DomainMixin):
    def __str__(self) -> str:
        return self.domain
