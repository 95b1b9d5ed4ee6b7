"""Stage 1: score an answer by embedding similarity between its sentences and each key point.

The answer is split into sentences, embedded once, and compared with every key point (and its paraphrases).
Claims that span a sentence break are caught by windows of consecutive sentences whose vectors are the
length-weighted mean of their sentences' vectors: MiniLM mean-pools token vectors, so this approximates
embedding the window itself at no extra model cost (embedding windows too would double the work).
A point's similarity is its best match; coverage maps similarity linearly from ``low`` (0) to ``high`` (1).
Key-point embeddings are cached per rubric version, so a rubric is embedded once per process. ``score_many``
embeds the sentences of many answers in one model call, which is what makes batches fast.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass

import numpy as np

from grader.embedding import Embedder, Vectors
from grader.numeric import check_exact
from grader.result import Evidence, MisconceptionResult, NumericCheck, PointResult, Stage1Result
from grader.text import Span, negation_parity, sentences
from rubrics.schema import Rubric


@dataclass(frozen=True)
class Stage1Config:
    """Thresholds of the embedding stage; stored (as a string) on every grade."""

    low: float = 0.45
    """Similarity at or below which a key point counts as not covered."""
    high: float = 0.80
    """Similarity at or above which a key point counts as fully covered."""
    misconception_threshold: float = 0.80
    """Similarity at which a sentence is taken to assert a misconception (high: negations embed close too)."""
    misconception_margin: float = 0.05
    """A sentence asserts a misconception only if it is this much closer to it than to every key point."""
    window: int = 2
    """Largest number of consecutive sentences compared as one unit."""

    def describe(self) -> str:
        """Stable one-line form for the audit trail."""
        return ",".join(f"{k}={v}" for k, v in asdict(self).items())


@dataclass(frozen=True)
class _RubricVectors:
    """Embedded key-point and misconception texts of one rubric version, with the row owners."""

    vectors: Vectors
    owners: list[int]  # row -> index into key_points + misconceptions
    point_count: int
    states_value: list[bool]  # per key point: its text states the exact value, so the numeric check decides it


class EmbeddingScorer:
    """Scores answers against rubrics with an ``Embedder``; thread-safe, caches rubric embeddings."""

    def __init__(self, embedder: Embedder, config: Stage1Config | None = None) -> None:
        self.embedder = embedder
        self.config = config or Stage1Config()
        self._cache: dict[tuple[str, str], _RubricVectors] = {}
        self._lock = threading.Lock()

    def _rubric_vectors(self, rubric: Rubric) -> _RubricVectors:
        cached = self._cache.get((rubric.id, rubric.version))
        if cached is not None:
            return cached
        self.warm([rubric])
        return self._cache[(rubric.id, rubric.version)]

    def warm(self, rubrics: list[Rubric]) -> None:
        """Embed the key points of every rubric not yet cached, in one model call."""
        missing = [r for r in rubrics if (r.id, r.version) not in self._cache]
        if not missing:
            return
        texts_by_rubric = [_rubric_texts(r) for r in missing]
        vectors = self.embedder.embed([t for texts, _ in texts_by_rubric for t in texts])
        row = 0
        built: dict[tuple[str, str], _RubricVectors] = {}
        for rubric, (texts, owners) in zip(missing, texts_by_rubric, strict=True):
            states_value = [_states_value(p.text, rubric) for p in rubric.key_points]
            block = vectors[row : row + len(texts)]
            row += len(texts)
            built[(rubric.id, rubric.version)] = _RubricVectors(block, owners, len(rubric.key_points), states_value)
        with self._lock:
            self._cache.update(built)

    def score(self, rubric: Rubric, answer: str) -> Stage1Result:
        """Stage-1 result for one answer."""
        return self.score_many([(rubric, answer)])[0]

    def score_many(self, items: list[tuple[Rubric, str]]) -> list[Stage1Result]:
        """Stage-1 results for many answers, embedding all their sentences in a single model call."""
        answer_sentences = [_sentences(answer) for _, answer in items]
        vectors = self.embedder.embed([s.text for ss in answer_sentences for s in ss])
        results: list[Stage1Result] = []
        row = 0
        for (rubric, answer), ss in zip(items, answer_sentences, strict=True):
            us, unit_vectors = with_windows(answer, ss, vectors[row : row + len(ss)], self.config.window)
            row += len(ss)
            results.append(self._score_one(rubric, us, unit_vectors, len(ss), answer))
        return results

    def score_against(self, answer: str, rubrics: list[Rubric]) -> list[Stage1Result]:
        """One answer scored against several rubrics, its sentences embedded once (rubric quality checks)."""
        ss = _sentences(answer)
        us, vectors = with_windows(answer, ss, self.embedder.embed([s.text for s in ss]), self.config.window)
        return [self._score_one(rubric, us, vectors, len(ss), answer) for rubric in rubrics]

    def _score_one(
        self, rubric: Rubric, us: list[Span], unit_vectors: Vectors, n_sentences: int, answer: str
    ) -> Stage1Result:
        cfg = self.config
        rv = self._rubric_vectors(rubric)
        sims = unit_vectors @ rv.vectors.T  # units x rubric texts
        owners = np.asarray(rv.owners)
        n_owners = rv.point_count + len(rubric.misconceptions)
        # Best similarity per (unit, owner): max over each owner's paraphrase columns.
        per_owner = np.full((len(us), n_owners), -1.0, dtype=np.float32)
        for owner in range(n_owners):
            per_owner[:, owner] = sims[:, owners == owner].max(axis=1)
        # Evidence is the best single sentence (listed first); windows only raise the similarity.
        sentence_rows = list(range(n_sentences))

        numeric = check_exact(answer, rubric.answer) if rubric.answer is not None else None
        points: list[PointResult] = []
        certainty = 0.0
        for i, point in enumerate(rubric.key_points):
            sim = float(per_owner[:, i].max())
            coverage = _ramp(sim, cfg.low, cfg.high)
            best = max(sentence_rows, key=lambda r: per_owner[r, i])
            evidence = _evidence(us[best]) if coverage > 0 else None
            if numeric is not None and rv.states_value[i]:
                # Embeddings cannot tell 1/3 from 1/4: the stated number decides a value-bearing point.
                coverage = 1.0 if numeric.matched else 0.0
                evidence = numeric.evidence
            points.append(
                PointResult(
                    id=point.id,
                    text=point.text,
                    weight=point.weight,
                    similarity=round(sim, 4),
                    coverage=round(coverage, 4),
                    credit=round(coverage, 4),
                    evidence=evidence,
                )
            )
            certainty += point.weight * _certainty(sim, cfg.low, cfg.high)

        best_point_sim = per_owner[:, : rv.point_count].max(axis=1)
        misconceptions: list[MisconceptionResult] = []
        for j, misconception in enumerate(rubric.misconceptions):
            column = per_owner[:, rv.point_count + j]
            # A sentence that denies the misconception embeds almost as close as one asserting it, and so does a
            # correct statement of a nearby key point; only a sentence that matches the misconception clearly
            # better than any key point, with the same negation parity, counts as asserting it.
            parity = negation_parity(misconception.text)
            asserting = [
                r
                for r in range(len(us))
                if negation_parity(us[r].text) == parity and column[r] >= best_point_sim[r] + cfg.misconception_margin
            ]
            best = max(asserting, key=lambda r: column[r]) if asserting else int(column.argmax())
            sim = float(column[best])
            detected = bool(asserting) and sim >= cfg.misconception_threshold
            misconceptions.append(
                MisconceptionResult(
                    id=misconception.id,
                    text=misconception.text,
                    penalty=misconception.penalty,
                    detected=detected,
                    similarity=round(sim, 4),
                    evidence=_evidence(us[best]) if detected else None,
                    correction=misconception.correction,
                )
            )
        score = combine(points, misconceptions, rubric.total_weight)
        return Stage1Result(
            score=score,
            confidence=round(certainty / rubric.total_weight, 4),
            points=points,
            misconceptions=misconceptions,
            numeric=numeric,
        )


def _sentences(answer: str) -> list[Span]:
    return sentences(answer) or [Span(answer, 0, len(answer))]


def with_windows(answer: str, spans: list[Span], vectors: Vectors, window: int) -> tuple[list[Span], Vectors]:
    """Sentences followed by windows of 2..``window`` consecutive sentences, with length-weighted mean vectors."""
    out_spans = list(spans)
    out_vectors = [vectors]
    lengths = np.asarray([len(s.text) for s in spans], dtype=np.float32)
    for size in range(2, window + 1):
        if len(spans) < size:
            break
        n = len(spans) - size + 1
        mixed = sum(vectors[k : k + n] * lengths[k : k + n, None] for k in range(size))
        norms = np.linalg.norm(mixed, axis=1, keepdims=True)
        out_vectors.append((mixed / np.maximum(norms, 1e-12)).astype(np.float32))
        for i in range(n):
            start, end = spans[i].start, spans[i + size - 1].end
            out_spans.append(Span(answer[start:end], start, end))
    return out_spans, np.concatenate(out_vectors)


def _rubric_texts(rubric: Rubric) -> tuple[list[str], list[int]]:
    """Texts to embed for a rubric (key points with paraphrases, then misconceptions) and each one's owner."""
    texts: list[str] = []
    owners: list[int] = []
    for i, point in enumerate(rubric.key_points):
        for text in (point.text, *point.paraphrases):
            texts.append(text)
            owners.append(i)
    for j, misconception in enumerate(rubric.misconceptions):
        texts.append(misconception.text)
        owners.append(len(rubric.key_points) + j)
    return texts, owners


def combine(points: list[PointResult], misconceptions: list[MisconceptionResult], total_weight: float) -> float:
    """Weighted credit minus penalties of detected misconceptions, clamped to [0, 1]."""
    earned = sum(p.weight * p.credit for p in points) / total_weight
    penalty = sum(m.penalty for m in misconceptions if m.detected)
    return round(min(1.0, max(0.0, earned - penalty)), 4)


def _ramp(x: float, low: float, high: float) -> float:
    return float(min(1.0, max(0.0, (x - low) / (high - low))))


def _certainty(sim: float, low: float, high: float) -> float:
    """1 far from the ambiguous middle of the ramp, 0 right at it."""
    mid, half = (low + high) / 2, (high - low) / 2
    return min(1.0, abs(sim - mid) / half)


def _evidence(span: Span) -> Evidence:
    return Evidence(quote=span.text, start=span.start, end=span.end)


def _states_value(text: str, rubric: Rubric) -> bool:
    """Whether a key point's text states the rubric's exact value (so the numeric check decides it)."""
    if rubric.answer is None:
        return False
    check: NumericCheck | None = check_exact(text, rubric.answer)
    return check is not None and check.matched
