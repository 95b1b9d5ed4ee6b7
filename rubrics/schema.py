"""Strict pydantic models for one rubric file.

Every rubric is a YAML file under ``rubrics/bank/<topic>/<nn>-<slug>.yaml`` whose ``id`` equals that
relative path without the suffix. Models forbid unknown fields so a typo is an error, not a silently
ignored key.
"""

from __future__ import annotations

import hashlib
import json
import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

_SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
RUBRIC_ID_PATTERN = rf"^{_SLUG}/{_SLUG}$"
POINT_ID_PATTERN = rf"^{_SLUG}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Difficulty(StrEnum):
    """How hard the question is; the seed marks these [E], [M], [H]."""

    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"


class Kind(StrEnum):
    """What sort of answer the question asks for; it decides which checks apply."""

    CONCEPTUAL = "conceptual"
    NUMERIC = "numeric"
    DERIVATION = "derivation"
    CODING = "coding"
    DESIGN = "design"


class Source(_Strict):
    """Where the question comes from."""

    section: str
    """Top-level section of the seed file, e.g. 'Linear Algebra and Calculus'."""
    subsection: str | None = None
    """Subsection heading, e.g. 'Vectors'; None where the section has none."""
    number: int = Field(ge=1)
    """The question's number inside its subsection (or inside our added set)."""
    mark: Annotated[str, Field(pattern=r"^[EMH]$")] | None = None
    """The seed's difficulty mark; None where the seed gives none (Algorithms) or for added questions."""
    seeded: bool = True
    """False for questions we added beyond the seed."""


class KeyPoint(_Strict):
    """One atomic, checkable claim a full-mark answer makes."""

    id: Annotated[str, Field(pattern=POINT_ID_PATTERN, max_length=48)]
    """Stable id, unique within the rubric; verdicts refer to it."""
    text: Annotated[str, Field(min_length=8)]
    """The claim, stated as a good answer would state it."""
    weight: Annotated[float, Field(gt=0, le=10)] = 1.0
    """Relative importance; the point's share of the score is weight / sum of weights."""
    paraphrases: Annotated[list[str], Field(max_length=3)] = []
    """Other common wordings of the same claim (helps the embedding stage)."""
    hint: Annotated[str, Field(min_length=3, max_length=90)] | None = None
    """A short nudge shown when an answer misses the point: what to think about, not the answer itself."""
    contradictions: Annotated[list[Annotated[str, Field(min_length=8)]], Field(max_length=3)] = []
    """Statements that contradict the claim (swapped concepts, reversed relations, wrong numbers), as a candidate
    would write them; an answer that makes one of them gets no credit for the point and is told the correction."""


class Misconception(_Strict):
    """A common wrong claim; stating it costs points."""

    id: Annotated[str, Field(pattern=POINT_ID_PATTERN, max_length=48)]
    """Stable id, unique within the rubric (shared namespace with key points)."""
    text: Annotated[str, Field(min_length=8)]
    """The wrong claim as a candidate would state it."""
    penalty: Annotated[float, Field(gt=0, le=1)] = 0.25
    """Fraction of the maximum score deducted when the answer asserts it."""
    correction: str | None = None
    """One sentence saying what is true instead; shown as feedback."""


ExactValue = float | list[float] | list[list[float]] | str


def _flat(value: float | list[float] | list[list[float]]) -> list[float]:
    if isinstance(value, list):
        return [float(x) for item in value for x in (_flat(item) if isinstance(item, list) else [item])]
    return [float(value)]


class ExactAnswer(_Strict):
    """The computable result of a numeric question."""

    value: ExactValue
    """The exact value: a number, a vector, a matrix (row-major), or a formula string for symbolic answers."""
    tolerance: Annotated[float, Field(ge=0)] = 1e-6
    """Absolute tolerance when comparing a stated number with the value."""
    display: str
    """How a person would write the answer, e.g. '1/3 ≈ 0.333'."""
    accept: list[float | list[float] | list[list[float]]] = []
    """Other values that also count as right: numbers for a scalar value (e.g. a percentage form), whole vectors of
    the same length for a vector value (e.g. sample instead of population variance)."""
    ordered: bool = True
    """For a vector value: whether the entries must be stated in order. False where the question does not fix
    an order (a candidate may give the determinant before the trace, or list scores by rank)."""
    labels: list[str] = []
    """For an unordered vector: one name per entry ('trace', 'det|determinant'; '|' separates synonyms). A number
    stated right after an entry's name must be that entry's value, so swapped values do not match."""

    @model_validator(mode="after")
    def _shapes(self) -> ExactAnswer:
        if isinstance(self.value, str):
            if self.accept or self.labels or not self.ordered:
                raise ValueError("a symbolic value takes no accept, labels or ordered")
            return self
        scalar = not isinstance(self.value, list)
        size = 1 if scalar else len(_flat(self.value))
        for alternative in self.accept:
            if scalar != (not isinstance(alternative, list)) or (not scalar and len(_flat(alternative)) != size):
                raise ValueError("each accepted alternative must have the value's shape (a number, or as many entries)")
        if self.labels and (scalar or self.ordered or len(self.labels) != size):
            raise ValueError("labels need an unordered vector value and one label per entry")
        return self


class Context(_Strict):
    """Set when the seed question relies on material the seed does not include."""

    missing: Annotated[str, Field(min_length=10)]
    """What the original question refers to that we do not have."""
    reconstructed_question: str | None = None
    """A self-contained version of the question (with the missing material written out); shown instead."""
    practice: bool = False
    """Whether the question is offered for practice by default; needs a reconstructed question."""

    @model_validator(mode="after")
    def _practice_needs_text(self) -> Context:
        if self.practice and not self.reconstructed_question:
            raise ValueError("practice: true needs a reconstructed_question; never grade against absent context")
        return self


class ReferenceSolution(_Strict):
    """Runnable Python for coding questions; the test suite executes the checks."""

    code: str
    """Python source defining the solution."""
    checks: Annotated[list[str], Field(min_length=2)]
    """Python expressions that must evaluate to True after ``code`` runs."""


class Rubric(_Strict):
    """Everything needed to grade one question."""

    id: Annotated[str, Field(pattern=RUBRIC_ID_PATTERN)]
    """'<topic>/<nn>-<slug>', equal to the file's path under rubrics/bank without '.yaml'."""
    topic: Annotated[str, Field(pattern=POINT_ID_PATTERN)]
    """Topic slug; the first part of the id."""
    source: Source
    difficulty: Difficulty
    kind: Kind
    question: Annotated[str, Field(min_length=10)]
    """The question as the candidate sees it (faithful to the seed, or reconstructed per ``context``)."""
    key_points: Annotated[list[KeyPoint], Field(min_length=2, max_length=8)]
    misconceptions: list[Misconception] = []
    answer: ExactAnswer | None = None
    """Present for computable questions."""
    reference_answer: Annotated[str, Field(min_length=20)]
    """An answer that earns full marks and covers every key point."""
    seed_issue: str | None = None
    """Set when the seed question is flawed; says how, and the key points reward noticing it."""
    context: Context | None = None
    follows: Annotated[str, Field(pattern=RUBRIC_ID_PATTERN)] | None = None
    """Id of the question this one continues (e.g. 'When does this have a unique solution?'); shown first."""
    reference_solution: ReferenceSolution | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Rubric:
        if not self.id.startswith(self.topic + "/"):
            raise ValueError(f"id {self.id!r} must start with its topic {self.topic!r} followed by '/'")
        ids = [p.id for p in self.key_points] + [m.id for m in self.misconceptions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate key point / misconception ids: {', '.join(dupes)}")
        if self.kind is Kind.NUMERIC and self.answer is None:
            raise ValueError("a numeric rubric needs an 'answer' with the exact value")
        if self.kind is Kind.CODING and self.reference_solution is None:
            raise ValueError("a coding rubric needs a 'reference_solution'")
        if self.source.mark is not None:
            expected = {"E": Difficulty.EASY, "M": Difficulty.MEDIUM, "H": Difficulty.HARD}[self.source.mark]
            if self.difficulty is not expected:
                raise ValueError(f"difficulty {self.difficulty} contradicts the seed mark [{self.source.mark}]")
        return self

    @property
    def version(self) -> str:
        """Content hash: changes whenever anything that can change a score changes."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def total_weight(self) -> float:
        """Sum of key-point weights (the denominator of the score)."""
        return sum(p.weight for p in self.key_points)

    @property
    def prompt(self) -> str:
        """The question text a candidate is shown (the reconstructed one when the seed lacks context)."""
        if self.context is not None and self.context.reconstructed_question:
            return self.context.reconstructed_question
        return self.question

    @property
    def practice(self) -> bool:
        """Whether the question is offered for practice by default."""
        return self.context is None or self.context.practice


def json_schema() -> dict[str, Any]:
    """JSON Schema for rubric files, for editors and the committed ``rubric.schema.json``."""
    schema = Rubric.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "answer-grader rubric"
    return schema


def slugify(text: str) -> str:
    """Lower-case, hyphen-separated slug of a heading."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
