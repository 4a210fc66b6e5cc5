"""Demo data for the local platform: an owner who can log in and three months of projects."""
import random
from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import tenant_context

from tenantry.accounts.models import Membership
from tenantry.accounts.services import ensure_member
from tenantry.projects.models import Project
from tenantry.projects.services import create_project
from tenantry.tenancy.models import Tenant

PROJECT_NAMES = ["Website relaunch", "Customer portal", "Data warehouse", "Mobile app", "Billing migration",
                 "Support playbook", "Onboarding emails", "Security review", "Price experiment", "Partner API",
                 "Quarterly report", "Search tuning", "Accessibility audit", "Hiring pipeline", "Office move",
                 "Status page", "Churn analysis", "Design system", "Localization", "Cost review"]


def seed_member(host: str, email: str, password: str, role: str = Membership.Role.MEMBER):
    """Make `email` a `role` of the tenant at `host`, who logs in with `password`."""
    tenant = Tenant.objects.get(domains__domain=host)
    user, _ = ensure_member(email, tenant.id, role)
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return tenant, user


def seed_tenant(host: str, email: str, password: str, projects: int = 20, seed: int = 7) -> int:
    """Make `email` an owner of the tenant at `host` with `password`, and give the tenant projects
    spread over the last twelve weeks if it has none. Returns how many projects were created."""
    tenant, user = seed_member(host, email, password, Membership.Role.OWNER)
    rng = random.Random(seed)
    with tenant_context(tenant):
        if Project.objects.exists():
            return 0
        now = timezone.now()
        for index in range(projects):
            project = create_project(owner=user, name=PROJECT_NAMES[index % len(PROJECT_NAMES)],
                                     description=f"Demo project {index + 1} of {tenant.display_name}.",
                                     status=rng.choice(list(Project.Status.values)))
            created = now - timedelta(days=rng.randint(0, 83), hours=rng.randint(0, 23))
            Project.objects.filter(pk=project.pk).update(created_at=created, updated_at=created)
    return projects
