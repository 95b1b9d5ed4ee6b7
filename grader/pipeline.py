"""The grading pipeline: guard, stage 1 (embeddings), then combine into a ``GradeResult``.

Embedding runs in a worker thread so the event loop stays free while the model computes.
"""

from __future__ import annotations

import asyncio

from grader.embedding import Embedder, SentenceTransformerEmbedder
from grader.feedback import stage1_feedback
from grader.guard import clean_answer
from grader.result import GradeResult, Stage, Stage1Result, Status, Versions
from grader.settings import GraderSettings
from grader.stage1 import EmbeddingScorer, Stage1Config
from rubrics.schema import Rubric

PIPELINE_VERSION = "1"
"""Bump when the way results are combined changes; stored on every grade."""


class Grader:
    """Grades answers against rubrics. One instance per process; safe to share between tasks."""

    def __init__(self, scorer: EmbeddingScorer, max_answer_chars: int) -> None:
        self.scorer = scorer
        self.max_answer_chars = max_answer_chars

    @classmethod
    def from_settings(cls, settings: GraderSettings, embedder: Embedder | None = None) -> Grader:
        """Build the pipeline the settings describe (the model itself loads lazily, on first use)."""
        embedder = embedder or SentenceTransformerEmbedder(
            settings.embedding_model_path, batch_size=settings.embedding_batch_size
        )
        config = Stage1Config(low=settings.stage1_low, high=settings.stage1_high)
        return cls(EmbeddingScorer(embedder, config), settings.max_answer_chars)

    def clean(self, answer: str | bytes) -> str:
        """Validate and normalise an answer; raises InvalidInput subclasses with actionable messages."""
        return clean_answer(answer, self.max_answer_chars)

    def versions(self, rubric: Rubric) -> Versions:
        """The versions a grade made now would record."""
        return Versions(
            rubric_id=rubric.id,
            rubric_version=rubric.version,
            pipeline_version=PIPELINE_VERSION,
            embedding_model=self.scorer.embedder.name,
            stage1_config=self.scorer.config.describe(),
        )

    async def grade(self, rubric: Rubric, answer: str) -> GradeResult:
        """Grade one (already cleaned) answer."""
        stage1 = await asyncio.to_thread(self.scorer.score, rubric, answer)
        return self.from_stage1(rubric, stage1)

    def grade_many(self, items: list[tuple[Rubric, str]]) -> list[GradeResult]:
        """Grade many cleaned answers with one embedding call (blocking; for batch jobs and workers)."""
        stage1 = self.scorer.score_many(items)
        return [self.from_stage1(rubric, s) for (rubric, _), s in zip(items, stage1, strict=True)]

    def from_stage1(self, rubric: Rubric, stage1: Stage1Result) -> GradeResult:
        """A grade from the embedding stage alone."""
        return GradeResult(
            question_id=rubric.id,
            status=Status.SCORED,
            score=stage1.score,
            stages=[Stage.EMBEDDING],
            points=stage1.points,
            misconceptions=stage1.misconceptions,
            numeric=stage1.numeric,
            feedback=stage1_feedback(stage1.points, stage1.misconceptions, stage1.numeric),
            confidence=stage1.confidence,
            stage1_score=stage1.score,
            versions=self.versions(rubric),
        )

    def unscored(self, rubric: Rubric, reason: str) -> GradeResult:
        """A grade that records why no score could be given (never a silent 0)."""
        return GradeResult(
            question_id=rubric.id,
            status=Status.UNSCORED,
            score=None,
            unscored_reason=reason,
            stages=[],
            points=[],
            misconceptions=[],
            feedback="This answer could not be graded: " + reason,
            versions=self.versions(rubric),
        )
