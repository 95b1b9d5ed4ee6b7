"""batches, batch items, and (on PostgreSQL) the procrastinate job queue's schema

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 14:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The queue's tables, types and functions all carry this prefix; migrations/env.py leaves them out of the
# model comparison because procrastinate, not our models, defines them.
QUEUE_PREFIX = "procrastinate"


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("stages", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("chunks", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
    )
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_batches_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_batches_status"), ["status"], unique=False)

    op.create_table(
        "batch_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("question_id", sa.String(length=120), nullable=True),
        sa.Column("answer_id", sa.String(length=32), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("human_score", sa.String(length=50), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("grade_id", sa.String(length=32), nullable=True),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["answers.id"], name=op.f("fk_batch_items_answer_id_answers"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_batch_items_batch_id_batches"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["grade_id"], ["grades.id"], name=op.f("fk_batch_items_grade_id_grades"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_items")),
        sa.UniqueConstraint("batch_id", "line", name=op.f("uq_batch_items_batch_id")),
    )
    with op.batch_alter_table("batch_items", schema=None) as batch_op:
        batch_op.create_index("ix_batch_items_batch_chunk", ["batch_id", "chunk"], unique=False)
        batch_op.create_index("ix_batch_items_batch_state", ["batch_id", "state"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # procrastinate's own schema, as the version pinned in pyproject ships it. The driver sees the text as a
        # parametrised query, so its literal '%' signs are doubled (as procrastinate's own apply_schema does).
        op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            DO $$
            DECLARE r record;
            BEGIN
                FOR r IN SELECT tablename FROM pg_tables
                         WHERE schemaname = current_schema() AND tablename LIKE '{QUEUE_PREFIX}%' LOOP
                    EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
                END LOOP;
                FOR r IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                         JOIN pg_namespace n ON n.oid = p.pronamespace
                         WHERE n.nspname = current_schema() AND p.proname LIKE '{QUEUE_PREFIX}%' LOOP
                    EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.signature);
                END LOOP;
                FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                         WHERE n.nspname = current_schema() AND t.typname LIKE '{QUEUE_PREFIX}%'
                           AND t.typtype IN ('e', 'c') LOOP
                    EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
                END LOOP;
            END $$;
            """
        )
    with op.batch_alter_table("batch_items", schema=None) as batch_op:
        batch_op.drop_index("ix_batch_items_batch_state")
        batch_op.drop_index("ix_batch_items_batch_chunk")
    op.drop_table("batch_items")
    with op.batch_alter_table("batches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_batches_status"))
        batch_op.drop_index(batch_op.f("ix_batches_owner"))
    op.drop_table("batches")
