# Versions of the network tables (dealers.versions, dealers.0010): churn reports one per
# table; visits one per quarter of their date (`networks_visit:2025Q3`), read from the
# statement's transition tables, so a visit logged today leaves a past quarter's cached
# figures valid. A truncate raises the table's own version, which readers include too.

from django.db import migrations

QUARTER_FUNCTION = """
CREATE OR REPLACE FUNCTION networks_raise_visit_versions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO dealers_dataversion (name, version)
        SELECT 'networks_visit:' || extract(year FROM date)::int || 'Q' || extract(quarter FROM date)::int,
               nextval('dealers_dataversion_seq')
        FROM (SELECT DISTINCT date_trunc('quarter', date)::date AS date FROM new_rows) AS q
        ORDER BY 1
        ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO dealers_dataversion (name, version)
        SELECT 'networks_visit:' || extract(year FROM date)::int || 'Q' || extract(quarter FROM date)::int,
               nextval('dealers_dataversion_seq')
        FROM (SELECT DISTINCT date_trunc('quarter', date)::date AS date FROM old_rows) AS q
        ORDER BY 1
        ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version;
    END IF;
    RETURN NULL;
END
$$;
"""

TRIGGERS = [
    """CREATE TRIGGER networks_churnreport_data_version
       AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON networks_churnreport
       FOR EACH STATEMENT EXECUTE FUNCTION dealers_raise_data_version('networks_churnreport')""",
    """CREATE TRIGGER networks_visit_data_version
       AFTER TRUNCATE ON networks_visit
       FOR EACH STATEMENT EXECUTE FUNCTION dealers_raise_data_version('networks_visit')""",
    """CREATE TRIGGER networks_visit_insert_version
       AFTER INSERT ON networks_visit REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION networks_raise_visit_versions()""",
    """CREATE TRIGGER networks_visit_update_version
       AFTER UPDATE ON networks_visit REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION networks_raise_visit_versions()""",
    """CREATE TRIGGER networks_visit_delete_version
       AFTER DELETE ON networks_visit REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION networks_raise_visit_versions()""",
]
DROPS = [
    "DROP TRIGGER IF EXISTS networks_churnreport_data_version ON networks_churnreport",
    "DROP TRIGGER IF EXISTS networks_visit_data_version ON networks_visit",
    "DROP TRIGGER IF EXISTS networks_visit_insert_version ON networks_visit",
    "DROP TRIGGER IF EXISTS networks_visit_update_version ON networks_visit",
    "DROP TRIGGER IF EXISTS networks_visit_delete_version ON networks_visit",
    "DROP FUNCTION IF EXISTS networks_raise_visit_versions()",
]


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(QUARTER_FUNCTION)
    for sql in TRIGGERS:
        schema_editor.execute(sql)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for sql in DROPS:
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('networks', '0004_normalise_periods'),
        ('dealers', '0010_data_versions'),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
