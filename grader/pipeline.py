"""The grading pipeline: guard, stage 1 (embeddings), policy, stage 2 (LLM judge), combine.

Embedding runs in a worker thread, batched across concurrent requests (``grader.batching``), so the event loop
stays free while the model computes; judge calls are async and bounded by the judge's own concurrency limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grader.batching import Stage1Batcher
from grader.combine import combine_with_judge
from grader.embedding import Embedder, SentenceTransformerEmbedder
from grader.errors import JudgeUnavailable
from grader.exemplars import Exemplar
from grader.feedback import stage1_feedback
from grader.fitted import credit_model
from grader.guard import clean_answer
from grader.judge import Judge, JudgeConfig, JudgeOutcome
from grader.judge_cache import MemoryJudgeCache, SqliteJudgeCache
from grader.openai_chat import OpenAIChatClient
from grader.policy import FailureMode, JudgePolicy
from grader.result import GradeResult, JudgeAudit, Stage, Stage1Result, Status, Versions
from grader.settings import GraderSettings
from grader.stage1 import EmbeddingScorer, Stage1Config
from rubrics.schema import Rubric

PIPELINE_VERSION = "3"
"""Bump when the way results are combined changes; stored on every grade."""


@dataclass(frozen=True)
class JudgeSetup:
    """The judge and the rules for using it."""

    judge: Judge
    policy: JudgePolicy = JudgePolicy.ALWAYS
    on_failure: FailureMode = FailureMode.UNSCORED
    uncertain_below: float = 0.6
    review_threshold: float = 0.3
    price_input: float | None = None
    price_output: float | None = None


def judge_config(settings: GraderSettings) -> JudgeConfig:
    """How the judge calls the model, as the settings say."""
    return JudgeConfig(
        response_format=settings.judge_response_format,
        temperature=settings.judge_temperature,
        samples=settings.judge_samples,
        max_retries=settings.judge_max_retries,
        backoff_base=settings.judge_backoff_base,
        concurrency=settings.judge_concurrency,
    )


class Grader:
    """Grades answers against rubrics. One instance per process; safe to share between tasks."""

    def __init__(
        self,
        scorer: EmbeddingScorer,
        max_answer_chars: int,
        judge: JudgeSetup | None = None,
        exemplars_per_question: int = 0,
    ) -> None:
        self.scorer = scorer
        self.batcher = Stage1Batcher(scorer)
        self.max_answer_chars = max_answer_chars
        self.judge = judge if judge is not None and judge.policy is not JudgePolicy.NEVER else None
        self.exemplars_per_question = exemplars_per_question
        """How many human-scored answers of a question callers should pass as exemplars (0: exemplars off)."""

    @classmethod
    def from_settings(
        cls, settings: GraderSettings, embedder: Embedder | None = None, judge: Judge | None = None
    ) -> Grader:
        """Build the pipeline the settings describe (the model itself loads lazily, on first use)."""
        embedder = embedder or SentenceTransformerEmbedder(
            settings.embedding_model_path, batch_size=settings.embedding_batch_size
        )
        config = Stage1Config(low=settings.stage1_low, high=settings.stage1_high)
        model, exemplar_params = credit_model(settings.stage1_model, embedder.name, config.low, config.high)
        if judge is None and settings.judge_model:
            client = OpenAIChatClient(
                settings.judge_model, settings.judge_base_url, settings.judge_api_key, settings.judge_timeout
            )
            cache = SqliteJudgeCache(settings.judge_cache_path) if settings.judge_cache_path else MemoryJudgeCache()
            judge = Judge(client, judge_config(settings), cache)
        setup = None
        if judge is not None:
            setup = JudgeSetup(
                judge=judge,
                policy=settings.judge_policy,
                on_failure=settings.judge_on_failure,
                uncertain_below=settings.judge_uncertain_below,
                review_threshold=settings.judge_review_threshold,
                price_input=settings.judge_price_input,
                price_output=settings.judge_price_output,
            )
        scorer = EmbeddingScorer(embedder, config, model, exemplar_params)
        per_question = settings.exemplars_per_question if settings.exemplars else 0
        return cls(scorer, settings.max_answer_chars, setup, per_question)

    def clean(self, answer: str | bytes) -> str:
        """Validate and normalise an answer; raises InvalidInput subclasses with actionable messages."""
        return clean_answer(answer, self.max_answer_chars)

    def versions(self, rubric: Rubric, judged: bool = False) -> Versions:
        """The versions a grade made now would record."""
        judge = self.judge.judge if judged and self.judge is not None else None
        return Versions(
            rubric_id=rubric.id,
            rubric_version=rubric.version,
            pipeline_version=PIPELINE_VERSION,
            embedding_model=self.scorer.embedder.name,
            stage1_config=self.scorer.config.describe(),
            stage1_model=self.scorer.model.version,
            judge_model=judge.model if judge else None,
            prompt_version=judge.config.prompt_version if judge else None,
        )

    async def grade(self, rubric: Rubric, answer: str, exemplars: Sequence[Exemplar] = ()) -> GradeResult:
        """Grade one (already cleaned) answer; ``exemplars`` are human-scored answers of the same question (never
        the answer itself)."""
        stage1 = await self.batcher.score(rubric, answer, exemplars[: self.exemplars_per_question])
        return await self.after_stage1(rubric, answer, stage1)

    async def after_stage1(self, rubric: Rubric, answer: str, stage1: Stage1Result) -> GradeResult:
        """Apply the judge policy to a stage-1 result (batches compute stage 1 for many answers at once)."""
        setup = self.judge
        if setup is None:
            return self.from_stage1(rubric, stage1)
        if setup.policy is JudgePolicy.WHEN_UNCERTAIN and stage1.confidence >= setup.uncertain_below:
            return self.from_stage1(rubric, stage1)
        try:
            outcome = await setup.judge.judge(rubric, answer)
        except JudgeUnavailable as exc:
            return self._judge_failed(rubric, stage1, exc.detail)
        return self._judged(rubric, answer, stage1, outcome, setup)

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
            exemplars=stage1.exemplars,
            versions=self.versions(rubric),
        )

    def _audit(self, outcome: JudgeOutcome | None, voided: list[str], error: str | None) -> JudgeAudit:
        assert self.judge is not None
        setup, judge = self.judge, self.judge.judge
        cost = None
        if outcome is not None and setup.price_input is not None and setup.price_output is not None:
            cost = round(
                (outcome.prompt_tokens * setup.price_input + outcome.completion_tokens * setup.price_output) / 1e6, 6
            )
        return JudgeAudit(
            model=judge.model,
            prompt_version=judge.config.prompt_version,
            response_format=judge.config.response_format.value,
            samples=judge.config.samples,
            agreement=outcome.agreement if outcome else None,
            raw_replies=outcome.raw_replies if outcome else [],
            voided=voided,
            prompt_tokens=outcome.prompt_tokens if outcome else 0,
            completion_tokens=outcome.completion_tokens if outcome else 0,
            cost_usd=cost,
            calls=0 if outcome is None or outcome.cached else outcome.calls,
            latency_ms=outcome.latency_ms if outcome else None,
            cached=outcome.cached if outcome else False,
            error=error,
        )

    def _judged(
        self, rubric: Rubric, answer: str, stage1: Stage1Result, outcome: JudgeOutcome, setup: JudgeSetup
    ) -> GradeResult:
        combined = combine_with_judge(rubric, answer, stage1, outcome, setup.review_threshold)
        return GradeResult(
            question_id=rubric.id,
            status=Status.SCORED,
            score=combined.score,
            stages=[Stage.EMBEDDING, Stage.JUDGE],
            points=combined.points,
            misconceptions=combined.misconceptions,
            numeric=stage1.numeric,
            feedback=outcome.feedback,
            confidence=combined.confidence,
            stage1_score=stage1.score,
            exemplars=stage1.exemplars,
            review=bool(combined.review_reasons),
            review_reasons=combined.review_reasons,
            versions=self.versions(rubric, judged=True),
            judge=self._audit(outcome, combined.voided, None),
        )

    def _judge_failed(self, rubric: Rubric, stage1: Stage1Result, reason: str) -> GradeResult:
        assert self.judge is not None
        base = self.from_stage1(rubric, stage1)
        audit = self._audit(None, [], reason)
        versions = self.versions(rubric, judged=True)
        if self.judge.on_failure is FailureMode.STAGE1:
            return base.model_copy(
                update={
                    "status": Status.STAGE1_FALLBACK,
                    "review": True,
                    "review_reasons": [f"judge failed, embedding score used: {reason}"],
                    "versions": versions,
                    "judge": audit,
                }
            )
        return base.model_copy(
            update={
                "status": Status.UNSCORED,
                "score": None,
                "unscored_reason": f"judge failed: {reason}",
                "confidence": None,
                "feedback": "This answer could not be graded yet: the judge failed. " + reason,
                "versions": versions,
                "judge": audit,
            }
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
