"""Calibration: grade a human-scored data set, measure agreement, and fit a mapping onto the humans' scale.

``grade_dataset`` runs the grader over every answer (stage 1 in a worker thread, in chunks; the judge too when
asked and configured). ``analyse`` then compares the grader with the humans:

- ``before``: the plain linear mapping of [0, 1] onto the scale, snapped to its step;
- ``overall`` (the headline): a monotone mapping fitted with cross-validation grouped by question, each answer's
  mapped score coming from a mapping that never saw its question, with bootstrap intervals over questions;
- ``raw``: correlations of the unmapped score (a monotone mapping cannot change the rank correlations);
- ``human_vs_human`` beside ``grader_vs_rater``: when answers have two or more raters, every pair of ratings of
  an answer against each other, and the grader against each single rating of the same answers. This is the fair
  comparison: ``overall`` compares with the raters' mean, which is less noisy than any one rater;
- Krippendorff's alpha of the raters, and of the raters with the grader as one more rater;
- per-question and per-key-point breakdowns, and the answers the grader disagrees with most.

An answer the grader cannot score (empty, too long, judge failure) is counted with its reason and left out of
every figure; it is never scored 0.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import numpy as np

from eval.bootstrap import DEFAULT_RESAMPLES, DEFAULT_SEED, bootstrap_ci
from eval.dataset import Dataset, ImportedKeyPoint, Item
from eval.mapping import METHODS, Mapping, Method, cross_validate, fit
from eval.metrics import agreement, confusion, krippendorff_alpha, pearson, spearman
from eval.scale import FloatArray, IntArray, Scale
from grader.errors import GraderError, InvalidInput
from grader.guard import clean_answer
from grader.pipeline import PIPELINE_VERSION, Grader
from grader.result import GradeResult, Stage1Result
from grader.stage1 import EmbeddingScorer

Stages = Literal["embedding", "all"]
Progress = Callable[[int], object]

CHUNK = 256
"""Answers embedded per model call: large enough to keep the model busy, small enough for a live progress bar."""
REPORT_VERSION = 1
DISAGREEMENTS = 15
"""How many of the answers the grader disagrees with most the report lists."""
EXCERPT = 400


@dataclass(frozen=True)
class Options:
    """How to fit and measure."""

    method: Method = "isotonic"
    cv: int = 5
    """Folds of the question-grouped cross-validation."""
    bootstrap: int = DEFAULT_RESAMPLES
    """Bootstrap resamples of questions for the 95% intervals (0: no intervals)."""
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InvalidInput(f"Unknown mapping method {self.method!r}; use one of {', '.join(METHODS)}.")
        if not 2 <= self.cv <= 50:
            raise InvalidInput(f"Cross-validation needs 2 to 50 folds, not {self.cv}.")
        if not 0 <= self.bootstrap <= 100_000:
            raise InvalidInput(f"Bootstrap resamples must be 0 to 100,000, not {self.bootstrap}.")


@dataclass(frozen=True)
class Scored:
    """What the grader made of one answer."""

    score: float | None
    """In [0, 1]; None when unscored."""
    reason: str | None = None
    """Why it is unscored."""
    points: tuple[tuple[str, float, float | None], ...] = ()
    """(key point id, credit, stage-1 similarity) in rubric order."""


@dataclass(frozen=True)
class FigureData:
    """The arrays the plots draw, for scored answers only."""

    scale: Scale
    mapping: Mapping
    raw: FloatArray
    gold: FloatArray
    before: FloatArray
    after: FloatArray
    confusion: list[list[int]]


@dataclass(frozen=True)
class Calibration:
    """The outcome of one calibration: the JSON report, the mapping fitted on everything, and plot data."""

    report: dict[str, Any]
    mapping: Mapping
    figures: FigureData


def _stage1(dataset: Dataset, grader: Grader, progress: Progress | None) -> list[Stage1Result | str]:
    """Stage-1 results in dataset order, or the reason an answer cannot be graded."""
    # A scorer of its own, same model, thresholds and credit model: the imported rubrics' embeddings are cached for
    # this run only, not for the lifetime of the service's scorer. No exemplars: every answer of a question is in
    # the same fold, so another answer's human score of the same question would leak into the figures.
    own = grader.scorer
    scorer = EmbeddingScorer(own.embedder, own.config, own.model, own.exemplar_params)
    scorer.warm([q.rubric for q in dataset.questions.values()])
    out: list[Stage1Result | str] = []
    for start in range(0, len(dataset.items), CHUNK):
        chunk = dataset.items[start : start + CHUNK]
        cleaned: list[str | GraderError] = []
        for item in chunk:
            try:
                cleaned.append(clean_answer(item.answer, grader.max_answer_chars))
            except GraderError as exc:
                cleaned.append(exc)
        batch = [(dataset.questions[i.question_id].rubric, t) for i, t in zip(chunk, cleaned, strict=True)]
        results = iter(scorer.score_many([(r, t) for r, t in batch if isinstance(t, str)]))
        out.extend(next(results) if isinstance(t, str) else t.detail for _, t in batch)
        if progress is not None:
            progress(len(chunk))
    return out


def _from_grade(result: GradeResult) -> Scored:
    points = tuple((p.id, p.credit, p.similarity) for p in result.points)
    return Scored(result.score, result.unscored_reason, points)


async def grade_dataset(
    dataset: Dataset, grader: Grader, stages: Stages = "embedding", progress: Progress | None = None
) -> tuple[list[Scored], list[str]]:
    """Grade every answer; returns the results in dataset order and the stages that ran.

    Stage 1 runs in a worker thread so an event loop (the service's) stays free; with ``stages="all"`` and a judge
    configured, each stage-1 result then goes through the grader's judge policy exactly as a live grade would.
    """
    judging = stages == "all" and grader.judge is not None
    # Progress counts answers finished: by stage 1 alone, or by the judge when it runs after.
    first = await asyncio.to_thread(_stage1, dataset, grader, None if judging else progress)
    rubrics = [dataset.questions[i.question_id].rubric for i in dataset.items]
    if not judging:
        scored = [
            Scored(None, r) if isinstance(r, str) else _from_grade(grader.from_stage1(rubric, r))
            for rubric, r in zip(rubrics, first, strict=True)
        ]
        return scored, ["embedding"]

    async def judged(index: int) -> Scored:
        result = first[index]
        if isinstance(result, str):
            outcome = Scored(None, result)
        else:
            answer = clean_answer(dataset.items[index].answer, grader.max_answer_chars)
            outcome = _from_grade(await grader.after_stage1(rubrics[index], answer, result))
        if progress is not None:
            progress(1)
        return outcome

    scored = list(await asyncio.gather(*(judged(k) for k in range(len(first)))))
    return scored, ["embedding", "judge"]


def grader_description(grader: Grader, stages: list[str]) -> dict[str, Any]:
    """The versions of everything that produced the grades, for the report."""
    judge = grader.judge.judge if "judge" in stages and grader.judge is not None else None
    return {
        "stages": stages,
        "pipeline_version": PIPELINE_VERSION,
        "embedding_model": grader.scorer.embedder.name,
        "stage1_config": grader.scorer.config.describe(),
        "stage1_model": grader.scorer.model.version,
        "exemplars": "not used: the data set's own human scores never reach its grades",
        "judge_model": judge.model if judge else None,
        "prompt_version": judge.config.prompt_version if judge else None,
    }


async def calibrate(
    dataset: Dataset, grader: Grader, options: Options, stages: Stages = "embedding", progress: Progress | None = None
) -> Calibration:
    """Grade the data set, then analyse it (in a worker thread: the bootstrap takes seconds)."""
    _enough_questions(len(dataset.questions), options.cv)  # before minutes of grading, not only after
    scored, ran = await grade_dataset(dataset, grader, stages, progress)
    return await asyncio.to_thread(analyse, dataset, scored, options, grader_description(grader, ran))


def _rounded(value: Any) -> Any:
    """JSON-ready: floats to 4 decimals, NaN and infinities to None, numpy scalars to Python."""
    if isinstance(value, dict):
        return {str(k): _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 4) if np.isfinite(value) else None
    return value


def _with_ci(
    predicted: FloatArray, reference: FloatArray, groups: np.ndarray[Any, Any], scale: Scale, options: Options
) -> dict[str, Any]:
    figures: dict[str, Any] = dict(agreement(predicted, reference, scale))

    def statistic(rows: IntArray) -> dict[str, float | None]:
        values = agreement(predicted[rows], reference[rows], scale)
        values.pop("n")
        return values

    figures["ci"] = bootstrap_ci(groups, statistic, options.bootstrap, options.seed)
    return figures


def _ratings_matrix(items: list[Item], width: int) -> FloatArray:
    """Raters x answers, NaN where a rater position has no score."""
    matrix = np.full((width, len(items)), np.nan)
    for column, item in enumerate(items):
        for row, rating in enumerate(item.ratings):
            if rating is not None:
                matrix[row, column] = rating
    return matrix


def _alpha(matrix: FloatArray, scale: Scale) -> dict[str, float | None] | None:
    if matrix.shape[0] < 2:
        return None
    indices = np.where(np.isnan(matrix), np.nan, scale.index(np.nan_to_num(matrix)).astype(np.float64))
    return {
        "interval": krippendorff_alpha(indices, "interval"),
        "ordinal": krippendorff_alpha(indices, "ordinal"),
    }


def analyse(dataset: Dataset, scored: list[Scored], options: Options, grader_info: dict[str, Any]) -> Calibration:
    """Agreement figures, the cross-validated mapping and the breakdowns, as a JSON-ready report."""
    scale = dataset.scale
    keep = [k for k, s in enumerate(scored) if s.score is not None]
    items = [dataset.items[k] for k in keep]
    results = [scored[k] for k in keep]
    groups = np.asarray([i.question_id for i in items])
    _enough_questions(len(set(groups.tolist())), options.cv)
    raw = np.asarray([s.score for s in results], dtype=np.float64)
    gold = np.asarray([i.gold for i in items], dtype=np.float64)

    before = scale.snap(scale.from_unit(raw))
    after, folds = cross_validate(raw, gold, groups, scale, options.method, options.cv)
    mapping = fit(raw, gold, scale, options.method)
    comparison = {
        method: _cv_summary(
            after if method == options.method else cross_validate(raw, gold, groups, scale, method, options.cv)[0],
            gold,
            scale,
        )
        for method in get_args(Method)
    }

    matrix_after = confusion(scale.index(gold), scale.index(after), scale.levels)
    overall = _with_ci(after, gold, groups, scale, options)
    overall["confusion"] = _confusion_json(matrix_after, scale)
    before_figures: dict[str, Any] = dict(agreement(before, gold, scale))
    matrix_before = confusion(scale.index(gold), scale.index(before), scale.levels)
    before_figures["confusion"] = _confusion_json(matrix_before, scale)

    width = dataset.max_raters
    humans = _ratings_matrix(items, width)
    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": _dataset_summary(dataset, scored, items),
        "scale": scale.to_dict(),
        "grader": grader_info,
        "method": options.method,
        "cv": options.cv,
        "bootstrap": {"resamples": options.bootstrap, "seed": options.seed, "unit": "question", "level": 0.95},
        "overall": overall,
        "before": before_figures,
        "raw": {
            "n": len(raw),
            "pearson": pearson(raw, gold),
            "spearman": spearman(raw, gold),
            # A score pinned at 0 or 1 carries no ranking among the answers there: how saturated is the grader?
            "at_zero": float(np.mean(raw == 0.0)),
            "at_one": float(np.mean(raw == 1.0)),
        },
        **_pairwise(items, after, groups, scale, options),
        "alpha": {
            "humans": _alpha(humans, scale),
            "humans_and_grader": _alpha(np.vstack([humans, after[None, :]]), scale) if width else None,
        },
        "mapping": {
            "method": options.method,
            "fitted_on": len(raw),
            "parameters": mapping.to_dict(),
            "folds": [{"questions": len(set(groups[test].tolist())), "answers": len(test)} for _, test in folds],
            "cv_comparison": comparison,
        },
        "per_question": _per_question(dataset, items, raw, after, gold, scale),
        "per_key_point": _per_key_point(dataset, items, results, gold),
        "disagreements": _disagreements(items, raw, after),
    }
    figures = FigureData(scale, mapping, raw, gold, before, after, matrix_after)
    return Calibration(_rounded(report), mapping, figures)


def _enough_questions(questions: int, folds: int) -> None:
    if questions < folds:
        raise InvalidInput(
            f"{folds}-fold cross-validation by question needs at least {folds} questions with scored answers; "
            f"this data set has {questions}. Lower the number of folds or add questions."
        )


def _cv_summary(predicted: FloatArray, gold: FloatArray, scale: Scale) -> dict[str, float | None]:
    figures = agreement(predicted, gold, scale)
    return {k: figures[k] for k in ("pearson", "qwk", "rmse", "mae", "exact", "bias")}


def _confusion_json(matrix: list[list[int]], scale: Scale) -> dict[str, Any]:
    return {"labels": [float(v) for v in scale.values()], "rows": "human", "columns": "grader", "counts": matrix}


def _dataset_summary(dataset: Dataset, scored: list[Scored], items: list[Item]) -> dict[str, Any]:
    reasons = Counter(s.reason or "unscored" for s in scored if s.score is None)
    derived = [q.id for q in dataset.questions.values() if q.rubric.derived]
    return {
        "name": dataset.name,
        "rows": len(dataset.items),
        "questions": len(dataset.questions),
        "scored": len(items),
        "unscored": {"n": sum(reasons.values()), "reasons": dict(reasons.most_common())},
        "raters": dataset.max_raters,
        "answers_with_two_or_more_ratings": sum(1 for i in items if _rated(i) >= 2),
        "derived_key_points": {
            "questions": len(derived),
            "note": "key points cut from the reference answer's sentences (ids derived-1, derived-2, ...), "
            "not written by a person",
        },
    }


def _rated(item: Item) -> int:
    return sum(1 for r in item.ratings if r is not None)


def _pairwise(
    items: list[Item], after: FloatArray, groups: np.ndarray[Any, Any], scale: Scale, options: Options
) -> dict[str, Any]:
    """Rater against rater (every pair of ratings of an answer) beside the grader against each single rating."""
    first: list[float] = []
    second: list[float] = []
    pair_groups: list[str] = []
    grader_scores: list[float] = []
    single: list[float] = []
    single_groups: list[str] = []
    answers = 0
    for k, item in enumerate(items):
        ratings = [r for r in item.ratings if r is not None]
        if len(ratings) < 2:
            continue
        answers += 1
        for a in range(len(ratings)):
            grader_scores.append(float(after[k]))
            single.append(ratings[a])
            single_groups.append(item.question_id)
            for b in range(a + 1, len(ratings)):
                first.append(ratings[a])
                second.append(ratings[b])
                pair_groups.append(item.question_id)
    if not answers:
        return {"human_vs_human": None, "grader_vs_rater": None}
    humans = _with_ci(np.asarray(first), np.asarray(second), np.asarray(pair_groups), scale, options)
    humans.update(answers=answers, pairs=len(first))
    machine = _with_ci(np.asarray(grader_scores), np.asarray(single), np.asarray(single_groups), scale, options)
    machine.update(answers=answers, pairs=len(single))
    return {"human_vs_human": humans, "grader_vs_rater": machine}


def _per_question(
    dataset: Dataset,
    items: list[Item],
    raw: FloatArray,
    after: FloatArray,
    gold: FloatArray,
    scale: Scale,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    by_question: dict[str, list[int]] = {}
    for k, item in enumerate(items):
        by_question.setdefault(item.question_id, []).append(k)
    for qid, question in dataset.questions.items():
        idx = np.asarray(by_question.get(qid, []), dtype=np.int64)
        total = sum(1 for i in dataset.items if i.question_id == qid)
        row: dict[str, Any] = {
            "question_id": qid,
            "question": question.rubric.question[:200],
            "derived_key_points": question.rubric.derived,
            "key_points": len(question.rubric.key_points),
            "n": int(idx.size),
            "unscored": total - int(idx.size),
        }
        if idx.size:
            figures = agreement(after[idx], gold[idx], scale)
            row.update(
                human_mean=float(gold[idx].mean()),
                grader_mean=float(after[idx].mean()),
                raw_mean=float(raw[idx].mean()),
                pearson=figures["pearson"],
                spearman=spearman(raw[idx], gold[idx]),
                mae=figures["mae"],
                bias=figures["bias"],
                exact=figures["exact"],
            )
            pairs = [
                (r[a], r[b])
                for r in ([x for x in items[k].ratings if x is not None] for k in idx)
                for a in range(len(r))
                for b in range(a + 1, len(r))
            ]
            if pairs:
                left, right = np.asarray(pairs).T
                row["human_vs_human"] = {"pearson": pearson(left, right), "mae": float(np.abs(left - right).mean())}
        rows.append(row)
    return rows


def _per_key_point(
    dataset: Dataset, items: list[Item], results: list[Scored], gold: FloatArray
) -> list[dict[str, Any]]:
    """For each key point: how much credit it gets, and whether credit and similarity track the human score.

    The similarity is stage 1's before its coverage ramp: when it tracks the humans better than the credit does,
    the ramp's thresholds are throwing information away for this point.
    """
    rows: list[dict[str, Any]] = []
    for qid, question in dataset.questions.items():
        idx = [k for k, item in enumerate(items) if item.question_id == qid]
        for point in question.rubric.key_points:
            found = [(p, float(gold[k])) for k in idx for p in results[k].points if p[0] == point.id]
            credit = np.asarray([p[1] for p, _ in found], dtype=np.float64)
            similarity = [p[2] for p, _ in found]
            ref = np.asarray([g for _, g in found], dtype=np.float64)
            rows.append(
                {
                    "question_id": qid,
                    "point_id": point.id,
                    "text": point.text[:200],
                    "derived": isinstance(point, ImportedKeyPoint) and point.derived,
                    "weight": point.weight,
                    "n": int(credit.size),
                    "mean_credit": float(credit.mean()) if credit.size else None,
                    "pearson": pearson(credit, ref),
                    "spearman": spearman(credit, ref),
                    "similarity_pearson": (
                        pearson(np.asarray(similarity, dtype=np.float64), ref)
                        if similarity and None not in similarity
                        else None
                    ),
                }
            )
    return rows


def _disagreements(items: list[Item], raw: FloatArray, after: FloatArray) -> list[dict[str, Any]]:
    gold = np.asarray([i.gold for i in items])
    order = np.argsort(-np.abs(after - gold), kind="stable")[:DISAGREEMENTS]
    return [
        {
            "line": items[k].line,
            "question_id": items[k].question_id,
            "answer_id": items[k].answer_id,
            "answer": items[k].answer[:EXCERPT] + ("…" if len(items[k].answer) > EXCERPT else ""),
            "human": float(gold[k]),
            "ratings": list(items[k].ratings),
            "raw": float(raw[k]),
            "grader": float(after[k]),
        }
        for k in order
    ]
