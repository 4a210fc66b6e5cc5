"""The plans every installation starts with; staff edit prices and limits in the admin afterwards,
so re-running this migration elsewhere never overwrites them."""
from django.db import migrations

PLANS = [
    {"code": "free", "name": "Free", "price_cents": 0, "max_projects": 3, "sort_order": 10},
    {"code": "pro", "name": "Pro", "price_cents": 1900, "max_projects": 50, "sort_order": 20},
    {"code": "business", "name": "Business", "price_cents": 9900, "max_projects": None, "sort_order": 30},
]


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for plan in PLANS:
        Plan.objects.get_or_create(code=plan["code"], defaults={**plan, "currency": "USD", "interval": "month"})


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    # Reversing keeps the plans: subscriptions may point at them (PROTECT).
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
