from django.db import migrations

from evalsys.periods import normalise_stored_periods

COLUMNS = [
    ("scoring", "WatchEntry", "opened_quarter"),
    ("scoring", "WatchEntry", "closed_quarter"),
    ("scoring", "Appeal", "quarter"),
]


def normalise(apps, schema_editor):
    normalise_stored_periods(apps, COLUMNS)


class Migration(migrations.Migration):
    """Stored quarters written as 2026Q3 and months as their first day, or the migration stops
    and lists the rows to correct (history rows are left as they were recorded)."""

    dependencies = [
        ("scoring", "0017_period_fields"),
    ]

    operations = [
        migrations.RunPython(normalise, migrations.RunPython.noop),
    ]
