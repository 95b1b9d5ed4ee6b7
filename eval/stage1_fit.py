"""Fit the stage-1 credit model on human-scored data, and measure it out of fold.

``collect`` runs the stage-1 scorer over a data set once and keeps what fitting needs: every answer's per-point
signals and weights, its human score on [0, 1], its question, its whole-answer vector (for exemplars) and the
plain answer-vs-reference cosine (the baseline). It also scores, against each question, a few answers written
for *other* questions of the same set, as answers worth 0: the human-scored sets contain almost no off-topic
answers, so without them the model never learns that an answer to another question earns nothing.

``fit`` finds the clipped linear credit of ``grader.fitted`` by least squares on the answers' scores (each data
set weighs the same, whatever its size), the clip smoothed during the fit so it can be optimised, coefficients
bounded at 0 (monotone). ``out_of_fold`` refits inside each fold (folds grouped by question) and maps raw scores
onto each set's scale with the isotonic mapping of ``eval.mapping``, also fitted without the question, so no
figure ever comes from a model or a mapping that saw the question it scores.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

from eval.dataset import Dataset
from eval.mapping import cross_validate, grouped_folds
from eval.metrics import agreement
from eval.scale import Scale
from grader.credit import RampModel
from grader.errors import GraderError
from grader.evidence import AnswerEvidence
from grader.exemplars import DEFAULT_PARAMS, Exemplar, ScoredExemplar, pull
from grader.fitted import FEATURES, ExemplarParams, ModelFile, Parameters, parameters_version
from grader.guard import clean_answer
from grader.stage1 import EmbeddingScorer, Stage1Config

FloatArray = NDArray[np.float64]

NEGATIVES_PER_QUESTION = 8
"""Answers to other questions scored against each question as worth 0."""
NEGATIVE_WEIGHT = 1.0
"""Weight of one such answer relative to one human-scored answer of its set."""
REGULARISATION = 1e-3
"""L2 penalty on the standardised coefficients: keeps them stable when signals are correlated."""
SMOOTHING = 12.0
"""Sharpness of the smooth clip used while fitting (the shipped model clips exactly)."""
HEADLINE = ("pearson", "spearman", "qwk", "rmse")


@dataclass
class Collected:
    """Stage-1 signals of one human-scored data set, ready for fitting and measuring."""

    name: str
    scale: Scale
    sha256: str
    questions: NDArray[Any]
    """Question id of each answer."""
    gold: FloatArray
    """Human score on the set's scale."""
    points: list[FloatArray]
    """Per answer: points x FEATURES."""
    weights: list[FloatArray]
    """Per answer: key-point weights, summing to 1."""
    vectors: NDArray[np.float32]
    """Whole-answer vectors (exemplar similarity)."""
    cosine: FloatArray
    """Whole answer vs reference answer cosine: the plain baseline."""
    ramp: FloatArray
    """The hand ramp's score (today's fallback), for comparison."""
    negatives: list[tuple[str, FloatArray, FloatArray]] = field(default_factory=list)
    """(question id, points x FEATURES, weights) of answers to other questions, worth 0."""

    @property
    def target(self) -> FloatArray:
        """Human scores on [0, 1]."""
        return (self.gold - self.scale.min) / (self.scale.max - self.scale.min)


def _signals(evidence: AnswerEvidence, weights: Sequence[float]) -> tuple[FloatArray, FloatArray]:
    matrix = np.asarray([[getattr(p, f) for f in FEATURES] for p in evidence.points], dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    return matrix, w / w.sum()


def file_sha256(path: Path) -> str:
    """SHA-256 of a data file, recorded in the model file so a fit can be traced to its data."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def collect(
    dataset: Dataset,
    scorer: EmbeddingScorer,
    sha256: str,
    negatives_per_question: int = NEGATIVES_PER_QUESTION,
    seed: int = 7,
    max_answer_chars: int = 20_000,
) -> Collected:
    """Score every gradable answer once (answers that cannot be graded are left out, as calibration does)."""
    items, answers = [], []
    for item in dataset.items:
        try:
            answers.append(clean_answer(item.answer, max_answer_chars))
        except GraderError:
            continue
        items.append(item)
    rubrics = {qid: q.rubric for qid, q in dataset.questions.items()}
    pairs = [(rubrics[i.question_id], a) for i, a in zip(items, answers, strict=True)]
    found = scorer.evidence_many(pairs)
    points, weights = [], []
    for (rubric, _), (_, evidence) in zip(pairs, found, strict=True):
        m, w = _signals(evidence, [p.weight for p in rubric.key_points])
        points.append(m)
        weights.append(w)
    collected = Collected(
        name=dataset.name,
        scale=dataset.scale,
        sha256=sha256,
        questions=np.asarray([i.question_id for i in items]),
        gold=np.asarray([i.gold for i in items], dtype=np.float64),
        points=points,
        weights=weights,
        vectors=np.stack([p.vector for p, _ in found]).astype(np.float32),
        cosine=np.asarray([e.reference_cosine for _, e in found], dtype=np.float64),
        ramp=np.asarray([_ramp(e, w) for (_, e), w in zip(found, weights, strict=True)]),
    )
    rng = random.Random(seed)
    plan: list[tuple[str, int]] = []
    for qid in rubrics:
        others = [k for k, i in enumerate(items) if i.question_id != qid]
        plan.extend((qid, k) for k in rng.sample(others, min(negatives_per_question, len(others))))
    if plan:
        off = scorer.evidence_many([(rubrics[qid], answers[k]) for qid, k in plan])
        for (qid, _), (_, evidence) in zip(plan, off, strict=True):
            m, w = _signals(evidence, [p.weight for p in rubrics[qid].key_points])
            collected.negatives.append((qid, m, w))
    return collected


@dataclass(frozen=True)
class Fit:
    """A fitted intercept and coefficients (in ``FEATURES`` order)."""

    intercept: float
    coefficients: tuple[float, ...]

    def predict(self, points: Sequence[FloatArray], weights: Sequence[FloatArray]) -> FloatArray:
        """Scores (weighted mean of clipped credits) of answers given their signals."""
        beta = np.asarray(self.coefficients)
        return np.asarray(
            [float(w @ np.clip(self.intercept + m @ beta, 0.0, 1.0)) for m, w in zip(points, weights, strict=True)]
        )


def _design(
    rows: Sequence[tuple[FloatArray, FloatArray]],
) -> tuple[FloatArray, NDArray[np.int64], FloatArray]:
    x = np.concatenate([m for m, _ in rows])
    segment = np.concatenate([np.full(len(m), k, dtype=np.int64) for k, (m, _) in enumerate(rows)])
    w = np.concatenate([w for _, w in rows])
    return x, segment, w


def fit(
    sets: Sequence[tuple[Collected, NDArray[np.int64] | None, set[str] | None]],
    regularisation: float = REGULARISATION,
    negative_weight: float = NEGATIVE_WEIGHT,
) -> Fit:
    """Least-squares fit on the given answers of each set (``rows``: None for all) and the negatives of its
    ``questions`` (None for all); every set weighs the same in total."""
    rows: list[tuple[FloatArray, FloatArray]] = []
    targets: list[FloatArray] = []
    sample: list[FloatArray] = []
    for data, chosen, questions in sets:
        index = np.arange(len(data.gold)) if chosen is None else chosen
        rows.extend((data.points[k], data.weights[k]) for k in index)
        targets.append(data.target[index])
        per_answer = 1.0 / len(index)
        sample.append(np.full(len(index), per_answer))
        negatives = [(m, w) for q, m, w in data.negatives if questions is None or q in questions]
        rows.extend(negatives)
        targets.append(np.zeros(len(negatives)))
        sample.append(np.full(len(negatives), per_answer * negative_weight))
    x, segment, point_w = _design(rows)
    y = np.concatenate(targets)
    sw = np.concatenate(sample)
    sw = sw / sw.sum()
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mu) / sd
    k = SMOOTHING

    def softplus(v: FloatArray) -> FloatArray:
        return np.logaddexp(0.0, k * v) / k

    def logistic(v: FloatArray) -> FloatArray:
        return 0.5 * (1.0 + np.tanh(0.5 * k * v))

    def loss(theta: FloatArray) -> tuple[float, FloatArray]:
        linear = theta[0] + z @ theta[1:]
        credit = softplus(linear) - softplus(linear - 1.0)
        residual = np.bincount(segment, weights=point_w * credit, minlength=len(y)) - y
        value = float((sw * residual**2).sum() + regularisation * (theta[1:] ** 2).sum())
        slope = (logistic(linear) - logistic(linear - 1.0)) * point_w * (2 * sw * residual)[segment]
        grad = np.concatenate([[slope.sum()], z.T @ slope]) + np.concatenate([[0.0], 2 * regularisation * theta[1:]])
        return value, grad

    start = np.concatenate([[0.5], np.full(len(FEATURES), 0.1)])
    bounds = [(None, None)] + [(0.0, None)] * len(FEATURES)
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
    theta = result.x
    coefficients = theta[1:] / sd
    intercept = float(theta[0] - (coefficients * mu).sum())
    return Fit(round(intercept, 6), tuple(round(float(c), 6) for c in coefficients))


def fit_all(sets: Sequence[Collected]) -> Fit:
    """The fit on every answer of every set (what ships)."""
    return fit([(s, None, None) for s in sets])


def _figures(raw: FloatArray, data: Collected, folds: int) -> dict[str, float | None]:
    """Headline agreement of raw scores after the question-grouped, out-of-fold isotonic mapping."""
    mapped, _ = cross_validate(raw, data.gold, data.questions, data.scale, "isotonic", folds)
    values = agreement(mapped, data.gold, data.scale)
    return {k: None if values[k] is None else round(float(values[k] or 0.0), 4) for k in HEADLINE}


def _ramp(evidence: AnswerEvidence, weights: FloatArray) -> float:
    """The hand ramp's score of an answer (the fallback model, before misconception penalties)."""
    ramp = RampModel(Stage1Config.low, Stage1Config.high)
    return float(weights @ np.asarray(ramp.credits(evidence, list(weights))))


def out_of_fold(sets: Sequence[Collected], folds: int = 5) -> dict[str, FloatArray]:
    """Each set's raw scores, every answer's from a model fitted without its question (other sets included whole)."""
    raw: dict[str, FloatArray] = {}
    for data in sets:
        scores = np.zeros(len(data.gold))
        for train, test in grouped_folds(data.questions, folds):
            seen = set(data.questions[train].tolist())
            others = [(o, None, None) for o in sets if o is not data]
            model = fit([(data, train, seen), *others])
            scores[test] = model.predict([data.points[k] for k in test], [data.weights[k] for k in test])
        raw[data.name] = scores
    return raw


def measure(sets: Sequence[Collected], folds: int = 5, raw: dict[str, FloatArray] | None = None) -> dict[str, Any]:
    """Out-of-fold figures of the fitted model beside the hand ramp and the plain cosine, plus cross-set figures
    (fitted on one set, scored on another). ``raw``: the sets' out-of-fold scores, when already computed."""
    fitted = raw if raw is not None else out_of_fold(sets, folds)
    report: dict[str, Any] = {"folds": folds, "grouped_by": "question", "mapping": "isotonic", "sets": {}}
    for data in sets:
        report["sets"][data.name] = {
            "answers": len(data.gold),
            "questions": len(set(data.questions.tolist())),
            "fitted": _figures(fitted[data.name], data, folds),
            "ramp": _figures(data.ramp, data, folds),
            "cosine": _figures(data.cosine, data, folds),
        }
    if len(sets) > 1:
        cross: dict[str, Any] = {}
        for source in sets:
            model = fit([(source, None, None)])
            for target in sets:
                if target is not source:
                    scores = model.predict(target.points, target.weights)
                    cross[f"{source.name} -> {target.name}"] = _figures(scores, target, folds)
        report["cross_set"] = cross
    return report


def parameters(model: Fit, embedding_model: str, exemplars: ExemplarParams | None = None) -> Parameters:
    """The shippable parameters of a fit."""
    return Parameters(
        embedding_model=embedding_model,
        intercept=model.intercept,
        coefficients=dict(zip(FEATURES, model.coefficients, strict=True)),
        exemplars=exemplars or DEFAULT_PARAMS,
    )


EXEMPLAR_GRID = tuple(
    ExemplarParams(bandwidth=b, shrinkage=s, min_similarity=0.3) for b in (0.2, 0.3, 0.5) for s in (0.5, 1.0, 2.0)
)
"""Exemplar settings ``choose_exemplar_params`` compares."""


def exemplar_split(data: Collected, k: int, seed: int = 11) -> NDArray[np.bool_]:
    """Which answers serve as exemplars: ``k`` drawn at random per question (always leaving one to score)."""
    rng = np.random.default_rng(seed)
    chosen = np.zeros(len(data.gold), dtype=bool)
    for question in sorted(set(data.questions.tolist())):
        rows = np.flatnonzero(data.questions == question)
        chosen[rng.choice(rows, min(k, len(rows) - 1), replace=False)] = True
    return chosen


def with_exemplars(data: Collected, raw: FloatArray, exemplar: NDArray[np.bool_], params: ExemplarParams) -> FloatArray:
    """Raw scores after the pull of each question's exemplars (``grader.exemplars.pull``, as in grading).

    ``raw`` must be out of fold, so an exemplar's stage-1 score comes from a model that never saw its question,
    exactly as for the answer it pulls; an exemplar's own score is left as it was (it is not scored).
    """
    adjusted = raw.copy()
    for question in set(data.questions.tolist()):
        rows = np.flatnonzero(data.questions == question)
        pool = [
            ScoredExemplar(Exemplar(str(k), "", float(data.target[k])), data.vectors[k], float(raw[k]))
            for k in rows[exemplar[rows]]
        ]
        for k in rows[~exemplar[rows]]:
            effect = pull(float(raw[k]), data.vectors[k], pool, params)
            if effect is not None:
                adjusted[k] = effect.after
    return adjusted


REPORT_SEED = 11
"""Seed of the exemplar draw that figures are reported on; settings are chosen on another draw (CHOICE_SEED)."""
CHOICE_SEED = 101


def exemplar_figures(
    sets: Sequence[Collected],
    raw: dict[str, FloatArray],
    k: int,
    params: ExemplarParams,
    folds: int = 5,
    seed: int = REPORT_SEED,
) -> dict[str, Any]:
    """Per set: figures on the answers left to score when ``k`` per question are exemplars, with and without."""
    report: dict[str, Any] = {"exemplars_per_question": k, "params": params.model_dump(), "seed": seed, "sets": {}}
    for data in sets:
        exemplar = exemplar_split(data, k, seed)
        scored = _subset(data, ~exemplar)
        adjusted = with_exemplars(data, raw[data.name], exemplar, params)
        report["sets"][data.name] = {
            "scored_answers": int((~exemplar).sum()),
            "without": _figures(raw[data.name][~exemplar], scored, folds),
            "with": _figures(adjusted[~exemplar], scored, folds),
        }
    return report


def choose_exemplar_params(sets: Sequence[Collected], raw: dict[str, FloatArray], k: int = 10) -> ExemplarParams:
    """The grid's settings with the best mean out-of-fold Pearson over the sets, with ``k`` exemplars a question
    drawn with another seed than the one figures are reported on."""
    best, best_value = EXEMPLAR_GRID[0], -np.inf
    for params in EXEMPLAR_GRID:
        figures = exemplar_figures(sets, raw, k, params, seed=CHOICE_SEED)["sets"].values()
        value = float(np.mean([f["with"]["pearson"] or 0.0 for f in figures]))
        if value > best_value:
            best, best_value = params, value
    return best


def _subset(data: Collected, rows: NDArray[np.bool_]) -> Collected:
    index = np.flatnonzero(rows)
    return Collected(
        name=data.name,
        scale=data.scale,
        sha256=data.sha256,
        questions=data.questions[index],
        gold=data.gold[index],
        points=[data.points[k] for k in index],
        weights=[data.weights[k] for k in index],
        vectors=data.vectors[index],
        cosine=data.cosine[index],
        ramp=data.ramp[index],
    )


DESCRIPTION = (
    "Stage-1 credit model of answer-grader: credit per key point = clip(intercept + a*content_cosine + b*token_recall "
    "+ c*word_recall, 0, 1); answer score = weighted mean of credits. Written by 'grader stage1 fit'; "
    "see grader/fitted.py."
)


def model_file(sets: Sequence[Collected], embedding_model: str, folds: int = 5, exemplars: int = 10) -> ModelFile:
    """Fit on every set, choose the exemplar settings, and record the data's hashes and out-of-fold figures."""
    raw = out_of_fold(sets, folds)
    chosen = choose_exemplar_params(sets, raw, exemplars)
    params = parameters(fit_all(sets), embedding_model, chosen)
    return ModelFile(
        version=parameters_version(params),
        description=DESCRIPTION,
        parameters=params,
        training={
            "data": [
                {
                    "name": s.name,
                    "sha256": s.sha256,
                    "answers": len(s.gold),
                    "questions": len(set(s.questions.tolist())),
                    "scale": s.scale.describe(),
                }
                for s in sets
            ],
            "negatives_per_question": NEGATIVES_PER_QUESTION,
            "negative_weight": NEGATIVE_WEIGHT,
            "regularisation": REGULARISATION,
            "set_weighting": "each set weighs the same in total",
        },
        cross_validation={**measure(sets, folds, raw), "exemplars": exemplar_figures(sets, raw, exemplars, chosen)},
    )
