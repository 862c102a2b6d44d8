"""Indexes for finding patients by part of an MRN or study id, in any case (registry.selectors.
patients_matching: ``UPPER(column) LIKE UPPER('%term%')``).

Where PostgreSQL offers pg_trgm, trigram GIN indexes on ``upper(mrn)`` and ``upper(study_id)`` serve
a search for any part (bench/README.md: patient search). Where it does not (the embedded server's
wheel ships without it), B-tree ``text_pattern_ops`` indexes on the same expressions serve a search
for the beginning of an MRN or study id, and a search for a middle part reads the table.

The indexes are not declared in Patient.Meta (which could not say "trigram where available"), so
the state of the models does not change here.
"""

from django.db import migrations, transaction

INDEXES = (("patient_mrn_search", "mrn"), ("patient_study_id_search", "study_id"))


def trigram_available(schema_editor) -> bool:
    """Whether pg_trgm is installed, or can be: created here when the server has it and the role may."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone():
            return True
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        if not cursor.fetchone():
            return False
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # e.g. a role without the right to create it: fall back to prefix indexes
            return False
    return True


def create_search_indexes(apps, schema_editor, *, trigram: bool | None = None):
    if trigram is None:
        trigram = trigram_available(schema_editor)
    for name, column in INDEXES:
        if trigram:
            sql = f'CREATE INDEX IF NOT EXISTS {name} ON registry_patient USING gin (upper("{column}") gin_trgm_ops)'
        else:
            sql = f'CREATE INDEX IF NOT EXISTS {name} ON registry_patient (upper("{column}") text_pattern_ops)'
        schema_editor.execute(sql)


def drop_search_indexes(apps, schema_editor):
    for name, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0007_plausibility_limits"),
    ]

    operations = [
        migrations.RunPython(create_search_indexes, drop_search_indexes, elidable=False),
    ]
