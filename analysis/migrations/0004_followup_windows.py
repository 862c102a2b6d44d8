"""The follow-up windows of each procedure (analysis.models.FollowupWindows), kept by the database.

The cohort query read every follow-up of every index procedure to learn which windows of the
schedule hold one (about 0.45 s of the refresh at 100,000 patients); it now reads one small row per
procedure. Plain PL/pgSQL triggers (not pgtrigger's, which ``pgtrigger.ignore`` would switch off)
keep the rows true on every write, whatever its path:

- encounters: after each INSERT, UPDATE or DELETE statement (one row or a bulk_create's thousands,
  read from the statement's transition tables), the procedures of the follow-ups it added, moved,
  re-dated, re-kinded or removed are recomputed;
- procedures: after an UPDATE statement, those whose date changed (their windows move with it);
  a deleted procedure's row goes with it (foreign key ON DELETE CASCADE).

A recomputation first locks its procedures' rows (FOR NO KEY UPDATE, in id order, as the services
lock them), so that two transactions writing one procedure's follow-ups take turns and the second
recomputes from the first's committed rows. ``analysis_followup_windows_rebuild()`` recomputes every
row (the backfill here; bench/generate.py after loading rows with the triggers off).

The windows' bounds are those of outcomes.schedule.SCHEDULE when this migration was written, frozen
here: a test compares ``analysis_window_bit`` with the schedule, so a change of the schedule needs a
migration that replaces that function and calls the rebuild.
"""

from django.db import migrations, models

# (first day, last day) of each window of outcomes.schedule.SCHEDULE, in its order: bit i for window i.
WINDOWS = ((7, 21), (22, 45), (75, 120))
FOLLOWUP = "followup"  # outcomes.models.EncounterKind.FOLLOWUP

WINDOW_BIT_SQL = """
CREATE OR REPLACE FUNCTION analysis_window_bit(days integer) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE {cases} ELSE 0 END
$$;
""".format(
    cases=" ".join(f"WHEN days BETWEEN {first} AND {last} THEN {1 << i}" for i, (first, last) in enumerate(WINDOWS))
)

FUNCTIONS_SQL = """
CREATE OR REPLACE FUNCTION analysis_followup_windows_refresh(procedure_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(cardinality(procedure_ids), 0) > 0 THEN
        -- Writers of one procedure's follow-ups take turns here; each statement below then reads
        -- what the others committed (READ COMMITTED: a fresh snapshot per statement).
        PERFORM 1 FROM registry_procedure WHERE id = ANY (procedure_ids) ORDER BY id FOR NO KEY UPDATE;
        DELETE FROM analysis_followupwindows WHERE procedure_id = ANY (procedure_ids);
        INSERT INTO analysis_followupwindows (procedure_id, windows)
        SELECT e.procedure_id, bit_or(analysis_window_bit(e.date - p.date))
        FROM outcomes_encounter e JOIN registry_procedure p ON p.id = e.procedure_id
        WHERE e.procedure_id = ANY (procedure_ids) AND e.kind = '{followup}'
        GROUP BY e.procedure_id
        HAVING bit_or(analysis_window_bit(e.date - p.date)) <> 0;
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION analysis_followup_windows_rebuild() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    written bigint;
BEGIN
    LOCK TABLE registry_procedure, outcomes_encounter IN SHARE MODE;
    DELETE FROM analysis_followupwindows;
    INSERT INTO analysis_followupwindows (procedure_id, windows)
    SELECT e.procedure_id, bit_or(analysis_window_bit(e.date - p.date))
    FROM outcomes_encounter e JOIN registry_procedure p ON p.id = e.procedure_id
    WHERE e.kind = '{followup}'
    GROUP BY e.procedure_id
    HAVING bit_or(analysis_window_bit(e.date - p.date)) <> 0;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END;
$$;

-- The follow-ups a statement added, removed or changed in procedure, date or kind (an edit of the
-- scores alone recomputes nothing).
CREATE OR REPLACE FUNCTION analysis_followup_windows_encounter() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM analysis_followup_windows_refresh(
            ARRAY(SELECT DISTINCT procedure_id FROM new_rows WHERE kind = '{followup}'));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM analysis_followup_windows_refresh(
            ARRAY(SELECT DISTINCT procedure_id FROM old_rows WHERE kind = '{followup}'));
    ELSE
        PERFORM analysis_followup_windows_refresh(ARRAY(
            SELECT procedure_id FROM (
                (SELECT procedure_id, date, kind FROM old_rows EXCEPT ALL SELECT procedure_id, date, kind FROM new_rows)
                UNION ALL
                (SELECT procedure_id, date, kind FROM new_rows EXCEPT ALL SELECT procedure_id, date, kind FROM old_rows)
            ) AS changed
            WHERE kind = '{followup}'
            GROUP BY procedure_id));
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION analysis_followup_windows_procedure() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM analysis_followup_windows_refresh(ARRAY(
        SELECT id FROM (SELECT id, date FROM new_rows EXCEPT SELECT id, date FROM old_rows) AS moved));
    RETURN NULL;
END;
$$;

ALTER TABLE analysis_followupwindows
    ADD CONSTRAINT analysis_followupwindows_procedure_fk
    FOREIGN KEY (procedure_id) REFERENCES registry_procedure (id) ON DELETE CASCADE;

CREATE TRIGGER analysis_followup_windows_insert AFTER INSERT ON outcomes_encounter
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION analysis_followup_windows_encounter();
CREATE TRIGGER analysis_followup_windows_update AFTER UPDATE ON outcomes_encounter
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION analysis_followup_windows_encounter();
CREATE TRIGGER analysis_followup_windows_delete AFTER DELETE ON outcomes_encounter
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION analysis_followup_windows_encounter();
CREATE TRIGGER analysis_followup_windows_date AFTER UPDATE ON registry_procedure
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION analysis_followup_windows_procedure();

SELECT analysis_followup_windows_rebuild();
ANALYZE analysis_followupwindows;
""".replace("{followup}", FOLLOWUP)

DROP_SQL = """
DROP TRIGGER IF EXISTS analysis_followup_windows_date ON registry_procedure;
DROP TRIGGER IF EXISTS analysis_followup_windows_delete ON outcomes_encounter;
DROP TRIGGER IF EXISTS analysis_followup_windows_update ON outcomes_encounter;
DROP TRIGGER IF EXISTS analysis_followup_windows_insert ON outcomes_encounter;
DROP FUNCTION IF EXISTS analysis_followup_windows_procedure();
DROP FUNCTION IF EXISTS analysis_followup_windows_encounter();
DROP FUNCTION IF EXISTS analysis_followup_windows_rebuild();
DROP FUNCTION IF EXISTS analysis_followup_windows_refresh(bigint[]);
DROP FUNCTION IF EXISTS analysis_window_bit(integer);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("analysis", "0003_snapshot_without_demo"),
        ("outcomes", "0004_plausibility_limits"),
        ("registry", "0008_patient_search_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="FollowupWindows",
            fields=[
                (
                    "procedure",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="registry.procedure",
                    ),
                ),
                (
                    "windows",
                    models.PositiveSmallIntegerField(help_text="Bit i set: a follow-up in the window of SCHEDULE[i]."),
                ),
            ],
            options={"verbose_name_plural": "follow-up windows"},
        ),
        migrations.RunSQL(WINDOW_BIT_SQL + FUNCTIONS_SQL, reverse_sql=DROP_SQL),
    ]
