from django.db import migrations

from registry.models import STUDY_ID_SEQUENCE


class Migration(migrations.Migration):
    """Study ids come from a sequence: a number once handed out is never handed out again,
    even when the transaction that took it rolls back or the patient is deleted."""

    dependencies = [("registry", "0001_initial")]

    operations = [
        migrations.RunSQL(
            f"CREATE SEQUENCE {STUDY_ID_SEQUENCE} START 1",
            f"DROP SEQUENCE {STUDY_ID_SEQUENCE}",
        ),
    ]
