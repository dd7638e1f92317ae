from django.db import migrations

from evalsys.periods import normalise_stored_periods

COLUMNS = [
    ("dealers", "MonthlyTarget", "month"),
    ("dealers", "MonthlySales", "month"),
    ("dealers", "PointsEntry", "month"),
    ("dealers", "QuarterNote", "quarter"),
    ("dealers", "ReminderLog", "month"),
    ("dealers", "PointsTier", "effective_from"),
]


def normalise(apps, schema_editor):
    normalise_stored_periods(apps, COLUMNS)


class Migration(migrations.Migration):
    """Stored quarters written as 2026Q3 and months as their first day, or the migration stops
    and lists the rows to correct (history rows are left as they were recorded)."""

    dependencies = [
        ("dealers", "0008_period_fields"),
    ]

    operations = [
        migrations.RunPython(normalise, migrations.RunPython.noop),
    ]
