"""answer-grader's grading core: rubric-driven scoring of free-text answers, free of HTTP and storage."""

from grader.embedding import Embedder, SentenceTransformerEmbedder
from grader.errors import GraderError
from grader.pipeline import PIPELINE_VERSION, Grader
from grader.result import GradeResult, PointResult, Stage, Stage1Result, Status, Verdict
from grader.settings import GraderSettings, get_grader_settings
from grader.stage1 import EmbeddingScorer, Stage1Config

__all__ = [
    "PIPELINE_VERSION",
    "Embedder",
    "EmbeddingScorer",
    "GradeResult",
    "Grader",
    "GraderError",
    "GraderSettings",
    "PointResult",
    "SentenceTransformerEmbedder",
    "Stage",
    "Stage1Config",
    "Stage1Result",
    "Status",
    "Verdict",
    "get_grader_settings",
]
