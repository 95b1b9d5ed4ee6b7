"""The fitted credit model: the hand ramp, refitted on three signals and on human scores.

The hand ramp gives a key point ``clip((cosine - 0.45) / 0.35, 0, 1)``. The fitted model keeps that form (a
clipped linear function, so weak evidence earns exactly 0 and strong evidence exactly 1) but reads three signals:

    credit = clip(intercept + a * content_cosine + b * token_recall + c * word_recall, 0, 1),   a, b, c >= 0

and the answer's score is the weighted mean of its points' credits, as before. All three signals leave the
question's words out (``grader.evidence``): a sentence cosine rises with every question word an answer repeats, so
an answer that restates the question looked half right to the ramp. Why this model:

- It is monotone by construction (non-negative coefficients): more evidence never costs credit, which a person
  reading the grade can rely on, and which keeps it stable on answers unlike the training data.
- Four numbers fitted on two very different human-scored sets (Mohler's 0-5 data-structures answers and
  SciEntsBank's correct/incorrect science answers) generalise across them: fitted on one and scored on the other
  it loses little (figures in the file). Answer-level signals (length, length ratio, whole-answer cosines) were
  tried and left out: they helped within a data set and hurt across data sets.
- Credit stays per key point, so the feedback can say which point earned what.

The parameters live in a small JSON file (``grader/models/stage1.json``) written by ``grader stage1 fit``, with the
hashes of its training data and its own cross-validated figures. Its version (a hash of the parameters) is stored
on every grade. The same file carries the exemplar settings (``grader.exemplars``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from grader.credit import CreditModel, RampModel
from grader.errors import InvalidConfig
from grader.evidence import AnswerEvidence

log = logging.getLogger(__name__)

FORMAT = "answer-grader/stage1-model"
FEATURES = ("content_cosine", "token_recall", "word_recall")
"""Per-point signals the model reads, in ``grader.evidence.PointEvidence``."""
SHIPPED = Path(__file__).parent / "models" / "stage1.json"
"""The model fitted on Mohler and SciEntsBank, shipped with the package."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class ExemplarParams(_Strict):
    """How human-scored answers of the same question pull a new answer's score (``grader.exemplars``)."""

    bandwidth: Annotated[float, Field(gt=0)]
    """Kernel width in cosine distance: an exemplar at distance d weighs exp(-(d / bandwidth)^2)."""
    shrinkage: Annotated[float, Field(ge=0)]
    """Pseudo-weight of the model's own score: few or distant exemplars move the score little."""
    min_similarity: Annotated[float, Field(ge=-1, le=1)]
    """Exemplars less similar than this to the answer are ignored."""


class Parameters(_Strict):
    """The numbers that decide credit; their hash is the model's version."""

    kind: str = "clipped-linear-credit"
    embedding_model: str
    """The embedding model the signals were measured with; another model needs its own fit."""
    intercept: float
    coefficients: dict[str, Annotated[float, Field(ge=0)]]
    """One non-negative coefficient per name in ``FEATURES``."""
    exemplars: ExemplarParams


class ModelFile(_Strict):
    """The whole file: parameters, where they came from, and how well they did out of fold."""

    format: str = FORMAT
    version: str
    """'s1-' and the first 12 hex digits of the SHA-256 of the canonical parameters."""
    description: str
    parameters: Parameters
    training: dict[str, Any]
    """Data sets (name, SHA-256, answers, questions, scale) and fitting options."""
    cross_validation: dict[str, Any]
    """Out-of-fold figures, folds grouped by question, the model refitted inside each fold."""


def parameters_version(parameters: Parameters) -> str:
    """Content hash of the parameters."""
    canonical = json.dumps(parameters.model_dump(mode="json"), sort_keys=True)
    return "s1-" + hashlib.sha256(canonical.encode()).hexdigest()[:12]


class FittedModel:
    """Credit per key point from the fitted clipped linear function of its evidence."""

    def __init__(self, parameters: Parameters) -> None:
        missing = set(FEATURES) - set(parameters.coefficients)
        if missing or set(parameters.coefficients) - set(FEATURES):
            raise InvalidConfig(f"a stage-1 model needs exactly the coefficients {', '.join(FEATURES)}")
        self.parameters = parameters
        self._intercept = parameters.intercept
        self._coefficients = [parameters.coefficients[name] for name in FEATURES]
        self._version = parameters_version(parameters)

    @property
    def version(self) -> str:
        """The parameters' hash, e.g. 's1-3f2a...'."""
        return self._version

    def credits(self, evidence: AnswerEvidence, weights: list[float]) -> list[float]:
        """Each point's clipped linear credit."""
        a, b, c = self._coefficients
        return [
            min(1.0, max(0.0, self._intercept + a * p.content_cosine + b * p.token_recall + c * p.word_recall))
            for p in evidence.points
        ]


def load_model_file(path: Path) -> ModelFile:
    """Read and check a model file; a bad or tampered file is a configuration error, not a silent fallback."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        model = ModelFile.model_validate(data)
    except (OSError, ValueError) as exc:
        raise InvalidConfig(f"cannot read the stage-1 model {path}: {exc}") from exc
    if model.format != FORMAT:
        raise InvalidConfig(f"{path} is not a stage-1 model file (format {model.format!r})")
    expected = parameters_version(model.parameters)
    if model.version != expected:
        raise InvalidConfig(f"{path}: version {model.version} does not match its parameters ({expected}); refit it")
    return model


def write_model_file(model: ModelFile, path: Path) -> None:
    """Write a model file, readable and diff-friendly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(model.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")


def credit_model(
    setting: str | None, embedding_model: str, low: float, high: float
) -> tuple[CreditModel, ExemplarParams]:
    """The credit model and exemplar settings that ``GRADER_STAGE1_MODEL`` asks for.

    Unset: the shipped file, or the hand ramp when that file is missing or was fitted with another embedding model
    (its numbers would mean nothing for other vectors). A path: that file, which must exist and match the
    embedding model. ``ramp``: the hand ramp.
    """
    from grader.exemplars import DEFAULT_PARAMS

    ramp = RampModel(low, high)
    if setting == "ramp":
        return ramp, DEFAULT_PARAMS
    if setting is None:
        if not SHIPPED.exists():
            log.warning("no stage-1 model at %s: using the hand ramp", SHIPPED)
            return ramp, DEFAULT_PARAMS
        shipped = load_model_file(SHIPPED).parameters
        if shipped.embedding_model != embedding_model:
            log.warning(
                "the shipped stage-1 model was fitted with %s, not %s: using the hand ramp",
                shipped.embedding_model,
                embedding_model,
            )
            return ramp, DEFAULT_PARAMS
        return FittedModel(shipped), shipped.exemplars
    path = Path(setting)
    if not path.exists():
        raise InvalidConfig(f"GRADER_STAGE1_MODEL={setting}: no such file (use 'ramp' for the hand ramp)")
    chosen = load_model_file(path).parameters
    if chosen.embedding_model != embedding_model:
        raise InvalidConfig(
            f"{path} was fitted with the embedding model {chosen.embedding_model}, not {embedding_model}; "
            "fit one for this model with 'grader stage1 fit' or set GRADER_STAGE1_MODEL=ramp"
        )
    return FittedModel(chosen), chosen.exemplars
