# Versions of the tables that whole-company pages aggregate (dealers.versions): on
# PostgreSQL, a statement-level trigger on each table raises its version from one
# sequence. Elsewhere (SQLite in development) no trigger is made and nothing is cached.

from django.db import migrations, models

TABLES = ["dealers_dealer", "dealers_dealermove", "dealers_monthlysales", "dealers_monthlytarget"]

FUNCTION = """
CREATE SEQUENCE IF NOT EXISTS dealers_dataversion_seq;
CREATE OR REPLACE FUNCTION dealers_raise_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO dealers_dataversion (name, version)
    VALUES (TG_ARGV[0], nextval('dealers_dataversion_seq'))
    ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version;
    RETURN NULL;
END
$$;
"""

TRIGGER = """
CREATE TRIGGER {table}_data_version
AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
FOR EACH STATEMENT EXECUTE FUNCTION dealers_raise_data_version('{table}');
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION)
    for table in TABLES:
        schema_editor.execute(TRIGGER.format(table=table))


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_data_version ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS dealers_raise_data_version()")
    schema_editor.execute("DROP SEQUENCE IF EXISTS dealers_dataversion_seq")


class Migration(migrations.Migration):

    dependencies = [
        ('dealers', '0009_normalise_periods'),
    ]

    operations = [
        migrations.CreateModel(
            name='DataVersion',
            fields=[
                ('name', models.CharField(max_length=60, primary_key=True, serialize=False)),
                ('version', models.BigIntegerField(default=0)),
            ],
            options={
                'verbose_name': 'data version',
                'verbose_name_plural': 'data versions',
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
