"""calibration runs and calibration profiles

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calibration_runs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scale_min", sa.Float(), nullable=False),
        sa.Column("scale_max", sa.Float(), nullable=False),
        sa.Column("scale_step", sa.Float(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("stages", sa.String(length=32), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibration_runs")),
    )
    with op.batch_alter_table("calibration_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calibration_runs_created_at"), ["created_at"], unique=False)

    op.create_table(
        "calibration_profiles",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("scale_min", sa.Float(), nullable=False),
        sa.Column("scale_max", sa.Float(), nullable=False),
        sa.Column("scale_step", sa.Float(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["calibration_runs.id"],
            name=op.f("fk_calibration_profiles_run_id_calibration_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calibration_profiles")),
        sa.UniqueConstraint("name", name=op.f("uq_calibration_profiles_name")),
    )
    with op.batch_alter_table("calibration_profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calibration_profiles_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("calibration_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calibration_profiles_run_id"))
    op.drop_table("calibration_profiles")
    with op.batch_alter_table("calibration_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calibration_runs_created_at"))
    op.drop_table("calibration_runs")
