# Versions of the grades, support entries, scores, sheets, indicators and rounds for the
# pages that aggregate a whole quarter (dealers.versions): a row logged per statement by
# dealers.0011's function, no update of a shared row, so office jobs grading in parallel
# never wait for each other.

from django.db import migrations

TABLES = [
    "scoring_grade",
    "scoring_supportentry",
    "scoring_score",
    "scoring_scoresheet",
    "scoring_indicator",
    "scoring_evaluationround",
]

TRIGGER = """
CREATE TRIGGER {table}_data_version
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION dealers_log_data_version('{table}')
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(TRIGGER.format(table=table))


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_data_version ON {table}")


class Migration(migrations.Migration):

    dependencies = [
        ('scoring', '0018_normalise_periods'),
        ('dealers', '0011_data_version_log'),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
