import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tenantry.accounts.selectors import role_of
from tenantry.core.demo import seed_tenant
from tenantry.projects.models import Project

pytestmark = pytest.mark.integration


def test_seeding_gives_an_owner_who_can_log_in_and_history_once(tenant):
    assert seed_tenant(tenant.host, "demo@example.com", "demo password 123", projects=12) == 12
    assert seed_tenant(tenant.host, "demo@example.com", "demo password 123", projects=12) == 0

    from tenantry.accounts.models import User

    user = User.objects.get(email="demo@example.com")
    assert user.check_password("demo password 123")
    assert role_of(user.pk, tenant.tenant.id) == "owner"
    with tenant_context(tenant.tenant):
        ages = [(timezone.now() - p.created_at).days for p in Project.objects.all()]
    assert len(ages) == 12 and max(ages) <= 84 and len(set(ages)) > 1
