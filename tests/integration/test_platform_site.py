"""The platform's own host (TENANTRY_BASE_DOMAIN): landing page, admin and the staff tenant overview."""
import pytest
from django.test import Client

from tenantry.accounts.models import User

pytestmark = pytest.mark.integration
BACKEND = "tenantry.accounts.backends.TenantMembershipBackend"


def platform_client(user: User | None = None) -> Client:
    client = Client(HTTP_HOST="localhost")
    if user is not None:
        client.force_login(user, backend=BACKEND)  # public schema active: the platform's session scope
    return client


def test_staff_see_the_admin_and_every_tenant_in_the_overview(tenant, other_tenant):
    staff = User.objects.create_user(f"staff-{tenant.schema}@tenantry.dev", "staff password 123", is_staff=True,
                                     is_superuser=True)
    client = platform_client(staff)
    assert client.get("/admin/").status_code == 200
    page = client.get("/platform/tenants/").content.decode()
    for t in (tenant, other_tenant):
        assert f"<code>{t.schema}</code>" in page and t.host in page


def test_people_who_are_not_staff_are_sent_to_log_in(tenant):
    member = tenant.user()
    client = platform_client(member)
    response = client.get("/platform/tenants/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert tenant.schema not in client.get("/platform/tenants/", follow=True).content.decode()


def test_only_staff_can_log_in_to_the_platform_site(tenant):
    member = tenant.user(password="member password 123")
    client = platform_client()
    response = client.post("/admin/login/?next=/admin/", {"username": member.email, "password": "member password 123"})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
