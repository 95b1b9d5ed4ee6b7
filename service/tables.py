"""SQLAlchemy tables. These are storage rows, never API schemas (see ``service/schemas.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite drops the offset; we put it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Timezone-aware now, for defaults."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with naming conventions, so migrations name constraints the same on every backend."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, datetime: UTCDateTime()}


class RubricVersion(Base):
    """A snapshot of a rubric's content as a grade used it; a rubric edit adds a row, never changes one."""

    __tablename__ = "rubric_versions"
    __table_args__ = (UniqueConstraint("rubric_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rubric_id: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[str] = mapped_column(String(32))
    content: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An API key; only its SHA-256 is stored, the key itself is shown once when created."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Answer(Base):
    """A submitted answer, stored before grading starts so nothing accepted is ever lost."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("owner", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    question_id: Mapped[str] = mapped_column(String(120), index=True)
    rubric_version_id: Mapped[int] = mapped_column(ForeignKey("rubric_versions.id"))
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(32), index=True, default="anonymous")
    """Id of the API key that submitted it ('anonymous' on the open embedded default)."""
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    grades: Mapped[list[Grade]] = relationship(back_populates="answer", order_by="Grade.created_at")
    human_scores: Mapped[list[HumanScore]] = relationship(back_populates="answer", order_by="HumanScore.created_at")


class HumanScore(Base):
    """A human rater's score for an answer, on the rater's own scale."""

    __tablename__ = "human_scores"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    answer_id: Mapped[str] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    rater: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    scale_min: Mapped[float] = mapped_column(Float)
    scale_max: Mapped[float] = mapped_column(Float)
    scale_step: Mapped[float | None] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    answer: Mapped[Answer] = relationship(back_populates="human_scores")


class Grade(Base):
    """One grading of one answer, with its full result and the versions that produced it."""

    __tablename__ = "grades"
    __table_args__ = (Index("ix_grades_answer_created", "answer_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    answer_id: Mapped[str] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(32), index=True)
    score: Mapped[float | None] = mapped_column(Float)
    unscored_reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]]
    rubric_version: Mapped[str] = mapped_column(String(32))
    pipeline_version: Mapped[str] = mapped_column(String(16))
    embedding_model: Mapped[str] = mapped_column(String(200))
    judge_model: Mapped[str | None] = mapped_column(String(200))
    prompt_version: Mapped[str | None] = mapped_column(String(32))
    latency_ms: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    answer: Mapped[Answer] = relationship(back_populates="grades")


class Batch(Base):
    """An uploaded file of answers, graded in chunks by jobs; its items say what is done."""

    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(32), index=True)
    source: Mapped[str] = mapped_column(String(500))
    """The uploaded file's name (or the input path, for the CLI)."""
    stages: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    """queued, running, done or cancelled."""
    total: Mapped[int] = mapped_column(Integer)
    chunks: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(default=None)
    """When its chunk jobs were handed to the queue; a batch stored but never enqueued is enqueued again."""
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class BatchItem(Base):
    """One input row of a batch: stored as soon as the file is accepted, then graded exactly once or reported."""

    __tablename__ = "batch_items"
    __table_args__ = (
        UniqueConstraint("batch_id", "line"),
        Index("ix_batch_items_batch_chunk", "batch_id", "chunk"),
        Index("ix_batch_items_batch_state", "batch_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    chunk: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))
    """pending, graded, error or cancelled."""
    question_id: Mapped[str | None] = mapped_column(String(120))
    answer_id: Mapped[str | None] = mapped_column(ForeignKey("answers.id", ondelete="SET NULL"))
    """The stored answer (rows that could not be read have none)."""
    external_id: Mapped[str | None] = mapped_column(String(200))
    """The row's own ``answer_id`` column, carried through to the results."""
    human_score: Mapped[str | None] = mapped_column(String(50))
    error: Mapped[str | None] = mapped_column(Text)
    grade_id: Mapped[str | None] = mapped_column(ForeignKey("grades.id", ondelete="SET NULL"))
    graded_at: Mapped[datetime | None] = mapped_column(default=None)


class CalibrationRun(Base):
    """One calibration of the grader against a human-scored data set: its report, as JSON and as HTML."""

    __tablename__ = "calibration_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(32))
    """Id of the API key that ran it ('cli' from the command line)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    scale_min: Mapped[float] = mapped_column(Float)
    scale_max: Mapped[float] = mapped_column(Float)
    scale_step: Mapped[float] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)
    """Answers scored and compared (unscored ones are counted in the report, not here)."""
    method: Mapped[str] = mapped_column(String(16))
    stages: Mapped[str] = mapped_column(String(32))
    report: Mapped[dict[str, Any]]
    html: Mapped[str] = mapped_column(Text)
    """The self-contained HTML report (figures embedded)."""


class CalibrationProfile(Base):
    """A named mapping from grades in [0, 1] onto a human scale, fitted by a calibration run; never edited."""

    __tablename__ = "calibration_profiles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    method: Mapped[str] = mapped_column(String(16))
    mapping: Mapped[dict[str, Any]]
    """``eval.mapping.Mapping.to_dict()``: method, scale and knots."""
    scale_min: Mapped[float] = mapped_column(Float)
    scale_max: Mapped[float] = mapped_column(Float)
    scale_step: Mapped[float] = mapped_column(Float)
    run_id: Mapped[str] = mapped_column(ForeignKey("calibration_runs.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
