"""api keys, answer owners and idempotency keys, human scores

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 13:26:05.738472
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "human_scores",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("answer_id", sa.String(length=32), nullable=False),
        sa.Column("rater", sa.String(length=200), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("scale_min", sa.Float(), nullable=False),
        sa.Column("scale_max", sa.Float(), nullable=False),
        sa.Column("scale_step", sa.Float(), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"], ["answers.id"], name=op.f("fk_human_scores_answer_id_answers"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_human_scores")),
    )
    with op.batch_alter_table("human_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_human_scores_answer_id"), ["answer_id"], unique=False)

    with op.batch_alter_table("answers", schema=None) as batch_op:
        # Answers stored before keys existed were submitted on the open default.
        batch_op.add_column(sa.Column("owner", sa.String(length=32), nullable=False, server_default="anonymous"))
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_answers_owner"), ["owner"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_answers_owner"), ["owner", "idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_answers_owner"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_answers_owner"))
        batch_op.drop_column("idempotency_key")
        batch_op.drop_column("owner")

    with op.batch_alter_table("human_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_human_scores_answer_id"))

    op.drop_table("human_scores")
    op.drop_table("api_keys")
