from decimal import Decimal

from django.db import migrations

# DESIGN.md §4: ≥ 100 % → 1.0; 90 % ≤ attainment < 100 % → 0.5; below 90 % → 0.
DEFAULT_TIERS = [(Decimal("100"), Decimal("1.0")), (Decimal("90"), Decimal("0.5")), (Decimal("0"), Decimal("0"))]


def add_default_tiers(apps, schema_editor):
    PointsTier = apps.get_model("dealers", "PointsTier")
    if not PointsTier.objects.exists():
        PointsTier.objects.bulk_create(PointsTier(threshold=t, rate=r) for t, r in DEFAULT_TIERS)


class Migration(migrations.Migration):
    dependencies = [("dealers", "0003_targets_points_notes_reminders")]

    operations = [migrations.RunPython(add_default_tiers, migrations.RunPython.noop)]
