"""Stage 1: score an answer from embedding evidence, without a judge.

The answer is split into sentences and encoded once (sentence and token vectors from the same forward pass).
``grader.evidence`` turns that into evidence per key point (best sentence/window cosine, token alignment, content
words) and per answer (against the reference answer and the question). A credit model turns evidence into
per-point credit: the fitted model shipped in ``grader/models/`` (``grader.credit``), or the hand ramp on the
cosine when no fitted model is configured. The score is the weighted mean of the credits, minus penalties of
misconceptions the answer asserts. The rubric's texts are encoded once per rubric version and cached;
``score_many`` encodes the sentences of many answers in one model call, which is what makes batches fast.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from grader.claims import Assertion, ClaimThresholds, WrongClaim, strongest, wrong_claim
from grader.credit import CreditModel, RampModel
from grader.embedding import Embedder, Encoded, Vectors
from grader.evidence import (
    AnswerEvidence,
    Passage,
    PointEvidence,
    align,
    content_mask,
    content_vector,
    content_vectors,
    f1,
    passage,
    without,
    word_overlap,
)
from grader.exemplars import DEFAULT_PARAMS, Exemplar, ScoredExemplar, pull
from grader.fitted import ExemplarParams
from grader.numeric import check_exact
from grader.result import (
    AnswerSignals,
    Evidence,
    MisconceptionResult,
    NumericCheck,
    PointResult,
    Stage1Result,
    Verdict,
)
from grader.text import Span, negation_parity, sentences
from grader.words import content_words
from rubrics.schema import Rubric

EXEMPLAR_CACHE = 50_000
"""Exemplar vectors and stage-1 scores kept in memory (about 1.6 KB each)."""


@dataclass(frozen=True)
class Stage1Config:
    """Thresholds of the embedding stage; stored (as a string) on every grade."""

    low: float = 0.45
    """Ramp model: similarity at or below which a key point counts as not covered."""
    high: float = 0.80
    """Ramp model: similarity at or above which a key point counts as fully covered."""
    misconception_threshold: float = 0.80
    """A sentence asserts a misconception only at this cosine with it or above (``grader.claims``)."""
    misconception_margin: float = 0.05
    """... and only this much closer to it than to the nearest key point (lexical terms included)."""
    contradictions: bool = False
    """Mark key points contradicted from the rubrics' contradiction statements. Off: measured on 559 labelled
    answers (eval/claims.py), no setting of the embedding detector catches most wrong claims without accusing
    many reference answers, so it waits for a better detector (docs/claims.md)."""
    contradiction_threshold: float = 0.80
    """A sentence contradicts a key point only at this cosine with one of its contradictions or above."""
    contradiction_margin: float = 0.1
    """... and only this much closer to the contradiction than to the point (lexical terms included)."""
    claim_lexical: float = 0.0
    """Weight of the words only the wrong claim, or only the right statement, uses (``grader.claims``)."""
    window: int = 2
    """Largest number of consecutive sentences compared as one unit."""

    def describe(self) -> str:
        """Stable one-line form for the audit trail."""
        return ",".join(f"{k}={v}" for k, v in asdict(self).items())


@dataclass(frozen=True, eq=False)
class _Text:
    """One encoded rubric text (a key point or a paraphrase) with what alignment needs, computed once."""

    encoded: Encoded
    mask: NDArray[np.bool_]
    """Its content tokens outside the question (all its content tokens if the question has every one)."""
    content: NDArray[np.float32]
    """Normalised sum of those tokens' vectors."""
    words: tuple[str, ...]
    demoted: frozenset[str]
    """Words that earn nothing: the question's, unless the text has no others."""


def _text(encoded: Encoded, text: str, question_tokens: frozenset[str], question_words: frozenset[str]) -> _Text:
    mask = content_mask(encoded.tokens, question_tokens)
    if not mask.any():
        mask = content_mask(encoded.tokens, frozenset())
    words = tuple(content_words(text))
    own = any(w not in question_words for w in words)
    return _Text(
        encoded, mask, content_vector(encoded.token_vectors, mask), words, question_words if own else frozenset()
    )


@dataclass(frozen=True, eq=False)
class _EncodedRubric:
    """The encoded texts of one rubric version."""

    vectors: Vectors
    """Key points with their paraphrases, then misconceptions: one row per text."""
    owners: list[int]
    """Row -> index into key_points + misconceptions."""
    point_texts: list[list[_Text]]
    """Per key point: its text and paraphrases."""
    reference: Passage
    question: Encoded
    question_tokens: frozenset[str]
    question_words: frozenset[str]
    states_value: list[bool]
    """Per key point: its text states the exact value, so the numeric check decides it."""
    contradictions: list[list[WrongClaim]]
    """Per key point: the statements that contradict it."""
    misconceptions: list[WrongClaim]


class EmbeddingScorer:
    """Scores answers against rubrics with an ``Embedder``; thread-safe, caches rubric encodings."""

    def __init__(
        self,
        embedder: Embedder,
        config: Stage1Config | None = None,
        model: CreditModel | None = None,
        exemplar_params: ExemplarParams | None = None,
    ) -> None:
        self.embedder = embedder
        self.config = config or Stage1Config()
        self.model: CreditModel = model or RampModel(self.config.low, self.config.high)
        self.exemplar_params = exemplar_params or DEFAULT_PARAMS
        self._cache: dict[tuple[str, str], _EncodedRubric] = {}
        self._exemplar_cache: dict[tuple[str, str, str], tuple[NDArray[np.float32], float]] = {}
        self._lock = threading.Lock()

    def _encoded(self, rubric: Rubric) -> _EncodedRubric:
        cached = self._cache.get((rubric.id, rubric.version))
        if cached is not None:
            return cached
        self.warm([rubric])
        return self._cache[(rubric.id, rubric.version)]

    def warm(self, rubrics: list[Rubric]) -> None:
        """Encode the texts of every rubric not yet cached, in one model call."""
        missing = [r for r in rubrics if (r.id, r.version) not in self._cache]
        if not missing:
            return
        plans = [_RubricTexts(r, self.config.contradictions) for r in missing]
        encoded = self.embedder.encode([t for plan in plans for t in plan.texts])
        row = 0
        built: dict[tuple[str, str], _EncodedRubric] = {}
        for rubric, plan in zip(missing, plans, strict=True):
            block = encoded[row : row + len(plan.texts)]
            row += len(plan.texts)
            built[(rubric.id, rubric.version)] = plan.assemble(block, self.config.window)
        with self._lock:
            self._cache.update(built)

    def score(self, rubric: Rubric, answer: str, exemplars: Sequence[Exemplar] = ()) -> Stage1Result:
        """Stage-1 result for one answer."""
        return self.score_many([(rubric, answer)], [exemplars])[0]

    def score_many(
        self, items: list[tuple[Rubric, str]], exemplars: Sequence[Sequence[Exemplar]] | None = None
    ) -> list[Stage1Result]:
        """Stage-1 results for many answers, encoding all their sentences (and those of exemplars not yet seen)
        in a single model call. ``exemplars[k]`` are human-scored answers of item k's question."""
        empty: Sequence[Exemplar] = ()
        wanted = list(exemplars) if exemplars is not None else [empty for _ in items]
        if len(wanted) != len(items):
            raise ValueError("score_many needs one list of exemplars per item")
        fresh = self._unseen_exemplars(items, wanted)
        found = self.evidence_many([*items, *fresh])
        known: dict[tuple[str, str, str], tuple[NDArray[np.float32], float]] = {}
        for (rubric, text), (answer, evidence) in zip(fresh, found[len(items) :], strict=True):
            known[self._exemplar_key(rubric, text)] = (answer.vector, self._score_one(rubric, answer, evidence).score)
        with self._lock:
            self._exemplar_cache.update(known)
            # Another thread may clear the cache meanwhile: this call keeps what it needs.
            for (rubric, _), chosen in zip(items, wanted, strict=True):
                for e in chosen:
                    key = self._exemplar_key(rubric, e.text)
                    if key not in known and key in self._exemplar_cache:
                        known[key] = self._exemplar_cache[key]
        results: list[Stage1Result] = []
        for (rubric, _), (answer, evidence), chosen in zip(items, found[: len(items)], wanted, strict=True):
            result = self._score_one(rubric, answer, evidence)
            keys = [(e, self._exemplar_key(rubric, e.text)) for e in chosen]
            scored = [ScoredExemplar(e, *known[key]) for e, key in keys if key in known]
            if scored:
                effect = pull(result.score, answer.vector, scored, self.exemplar_params)
                if effect is not None:
                    result = result.model_copy(update={"score": effect.after, "exemplars": effect})
            results.append(result)
        return results

    def _exemplar_key(self, rubric: Rubric, text: str) -> tuple[str, str, str]:
        return (rubric.version, self.model.version, text)

    def _unseen_exemplars(
        self, items: list[tuple[Rubric, str]], exemplars: list[Sequence[Exemplar]]
    ) -> list[tuple[Rubric, str]]:
        """(rubric, text) of exemplars whose vector and stage-1 score are not cached yet, each once."""
        if len(self._exemplar_cache) > EXEMPLAR_CACHE:
            with self._lock:
                self._exemplar_cache.clear()  # rare: a bounded cache is simpler than an LRU here
        fresh: dict[tuple[str, str, str], tuple[Rubric, str]] = {}
        for (rubric, _), chosen in zip(items, exemplars, strict=True):
            for e in chosen:
                key = self._exemplar_key(rubric, e.text)
                if key not in self._exemplar_cache and e.text.strip():
                    fresh[key] = (rubric, e.text)
        return list(fresh.values())

    def evidence_many(self, items: Sequence[tuple[Rubric, str]]) -> list[tuple[Passage, AnswerEvidence]]:
        """The encoded answers and their evidence, without credits (fitting a credit model starts here)."""
        split = [_sentences(answer) for _, answer in items]
        encoded = self.embedder.encode([s.text for spans in split for s in spans])
        out: list[tuple[Passage, AnswerEvidence]] = []
        row = 0
        for (rubric, answer), spans in zip(items, split, strict=True):
            answer_passage = passage(answer, spans, encoded[row : row + len(spans)], self.config.window)
            row += len(spans)
            out.append((answer_passage, _evidence(self._encoded(rubric), answer_passage)))
        return out

    def score_against(self, answer: str, rubrics: list[Rubric]) -> list[Stage1Result]:
        """One answer scored against several rubrics, its sentences encoded once (rubric quality checks)."""
        spans = _sentences(answer)
        answer_passage = passage(answer, spans, self.embedder.encode([s.text for s in spans]), self.config.window)
        return [
            self._score_one(rubric, answer_passage, _evidence(self._encoded(rubric), answer_passage))
            for rubric in rubrics
        ]

    def _score_one(self, rubric: Rubric, answer: Passage, evidence: AnswerEvidence) -> Stage1Result:
        encoded = self._encoded(rubric)
        numeric = check_exact(answer.text, rubric.answer) if rubric.answer is not None else None
        claims = self._claims(encoded, answer)
        tainted = {a.sentence for a, _ in claims.contradicted.values()} | {a.sentence for a in claims.asserted.values()}
        # A sentence that asserts a wrong claim is evidence of that claim only: it earns nothing for other points.
        clean = without(answer, tainted, self.config.window) if tainted else answer
        if tainted:
            evidence = _evidence(encoded, clean)
        weights = [p.weight for p in rubric.key_points]
        coverages = self.model.credits(evidence, weights) if clean.units else [0.0] * len(weights)
        points: list[PointResult] = []
        for i, (point, found, coverage) in enumerate(zip(rubric.key_points, evidence.points, coverages, strict=True)):
            credit = coverage
            quote = _quote(clean.units[found.best_unit]) if coverage > 0 and clean.units else None
            verdict, contradiction = None, None
            if i in claims.contradicted:
                assertion, contradiction = claims.contradicted[i]
                credit, verdict, quote = 0.0, Verdict.CONTRADICTED, _quote(answer.units[assertion.sentence])
            elif numeric is not None and encoded.states_value[i]:
                # Embeddings cannot tell 1/3 from 1/4: the stated number decides a value-bearing point.
                credit = 1.0 if numeric.matched else 0.0
                quote = numeric.evidence
            points.append(
                PointResult(
                    id=point.id,
                    text=point.text,
                    weight=point.weight,
                    similarity=round(found.cosine, 4),
                    content_similarity=round(found.content_cosine, 4),
                    token_recall=round(found.token_recall, 4),
                    word_recall=round(found.word_recall, 4),
                    coverage=round(coverage, 4),
                    verdict=verdict,
                    credit=round(credit, 4),
                    evidence=quote,
                    contradiction=contradiction,
                    hint=point.hint,
                )
            )
        misconceptions = [
            MisconceptionResult(
                id=m.id,
                text=m.text,
                penalty=m.penalty,
                detected=j in claims.asserted,
                similarity=round(claims.asserted[j].similarity, 4) if j in claims.asserted else None,
                evidence=_quote(answer.units[claims.asserted[j].sentence]) if j in claims.asserted else None,
                correction=m.correction,
            )
            for j, m in enumerate(rubric.misconceptions)
        ]
        certainty = sum(p.weight * abs(2 * p.credit - 1) for p in points)
        return Stage1Result(
            score=combine(points, misconceptions, rubric.total_weight),
            confidence=round(certainty / rubric.total_weight, 4),
            points=points,
            misconceptions=misconceptions,
            numeric=numeric,
            signals=AnswerSignals(
                reference_cosine=round(evidence.reference_cosine, 4),
                reference_recall=round(evidence.reference_recall, 4),
                word_f1=round(evidence.word_f1, 4),
                question_cosine=round(evidence.question_cosine, 4),
                words=evidence.words,
            ),
            model=self.model.version,
        )

    def _claims(self, encoded: _EncodedRubric, answer: Passage) -> _Claims:
        """The key points the answer contradicts and the misconceptions it asserts, with the sentences that do."""
        cfg = self.config
        n = answer.sentence_count
        vectors = answer.unit_vectors[:n]
        words = [frozenset(content_words(answer.units[k].text)) for k in range(n)]
        parity = [negation_parity(answer.units[k].text) for k in range(n)]
        against = ClaimThresholds(cfg.contradiction_threshold, cfg.contradiction_margin, cfg.claim_lexical)
        contradicted: dict[int, tuple[Assertion, str]] = {}
        for i, claims in enumerate(encoded.contradictions if cfg.contradictions else []):
            found = [(a, c.text) for c in claims if (a := strongest(c, vectors, words, parity, against))]
            if found:
                contradicted[i] = max(found, key=lambda f: f[0].strength)
        wrong = ClaimThresholds(cfg.misconception_threshold, cfg.misconception_margin, cfg.claim_lexical)
        asserted = {
            j: a for j, c in enumerate(encoded.misconceptions) if (a := strongest(c, vectors, words, parity, wrong))
        }
        return _Claims(contradicted, asserted)


@dataclass(frozen=True)
class _Claims:
    contradicted: dict[int, tuple[Assertion, str]]
    """Key point index -> the asserting sentence and the contradiction it matches."""
    asserted: dict[int, Assertion]
    """Misconception index -> the asserting sentence."""


class _RubricTexts:
    """The texts of a rubric to encode, in order, and how to put their encodings back together."""

    def __init__(self, rubric: Rubric, contradictions: bool) -> None:
        self.rubric = rubric
        self.owners: list[int] = []
        texts: list[str] = []
        for i, point in enumerate(rubric.key_points):
            for text in (point.text, *point.paraphrases):
                texts.append(text)
                self.owners.append(i)
        for j, misconception in enumerate(rubric.misconceptions):
            texts.append(misconception.text)
            self.owners.append(len(rubric.key_points) + j)
        self.owned = len(texts)
        # Encoded only when contradiction marking is on: otherwise ~1,900 texts would slow every start for nothing.
        self.contradicting = [
            (i, c) for i, point in enumerate(rubric.key_points) for c in point.contradictions if contradictions
        ]
        texts.extend(c for _, c in self.contradicting)
        self.reference_start = len(texts)
        self.reference_spans = _sentences(rubric.reference_answer)
        texts.extend(s.text for s in self.reference_spans)
        texts.append(rubric.prompt)
        self.texts = texts

    def assemble(self, encoded: list[Encoded], window: int) -> _EncodedRubric:
        rubric = self.rubric
        points = len(rubric.key_points)
        owned = encoded[: self.owned]
        question = encoded[-1]
        question_tokens = frozenset(question.tokens)
        question_words = frozenset(content_words(rubric.prompt))
        point_texts: list[list[_Text]] = [[] for _ in rubric.key_points]
        for row, owner in enumerate(self.owners):
            if owner < points:
                point_texts[owner].append(_text(owned[row], self.texts[row], question_tokens, question_words))
        vectors = np.stack([e.vector for e in owned]).astype(np.float32)
        point_rows = [k for k, owner in enumerate(self.owners) if owner < points]
        contradictions: list[list[WrongClaim]] = [[] for _ in rubric.key_points]
        for k, (i, text) in enumerate(self.contradicting):
            rows = [r for r in point_rows if self.owners[r] == i]
            contradictions[i].append(
                wrong_claim(
                    text,
                    encoded[self.owned + k].vector,
                    content_words(text),
                    vectors[rows],
                    [content_words(self.texts[r]) for r in rows],
                )
            )
        misconceptions = [
            wrong_claim(
                m.text,
                owned[self.owners.index(points + j)].vector,
                content_words(m.text),
                vectors[point_rows],
                [content_words(self.texts[r]) for r in point_rows],
            )
            for j, m in enumerate(rubric.misconceptions)
        ]
        reference = passage(rubric.reference_answer, self.reference_spans, encoded[self.reference_start : -1], window=1)
        return _EncodedRubric(
            vectors=vectors,
            owners=self.owners,
            point_texts=point_texts,
            reference=reference,
            question=question,
            question_tokens=question_tokens,
            question_words=question_words,
            states_value=[_states_value(p.text, rubric) for p in rubric.key_points],
            contradictions=contradictions,
            misconceptions=misconceptions,
        )


def _best_per_owner(unit_vectors: Vectors, encoded: _EncodedRubric) -> np.ndarray:
    """Best similarity per (answer unit, key point or misconception): the max over each owner's texts."""
    sims = unit_vectors @ encoded.vectors.T
    owners = np.asarray(encoded.owners)
    n_owners = int(owners.max()) + 1
    per_owner = np.full((unit_vectors.shape[0], n_owners), -1.0, dtype=np.float32)
    for owner in range(n_owners):
        per_owner[:, owner] = sims[:, owners == owner].max(axis=1)
    return per_owner


def _evidence(encoded: _EncodedRubric, answer: Passage) -> AnswerEvidence:
    """Per-point and per-answer evidence of one answer against one encoded rubric."""
    excluded = encoded.question_tokens
    answer_mask = content_mask(answer.tokens, excluded)
    answer_words = frozenset(answer.words)
    per_owner = _best_per_owner(answer.unit_vectors, encoded) if answer.units else None
    answer_content = content_vectors(answer, answer_mask)
    points: list[PointEvidence] = []
    for i, texts in enumerate(encoded.point_texts):
        cosine, best_unit, own_cosine = 0.0, 0, 0.0
        if per_owner is not None:
            cosine = float(per_owner[:, i].max())
            # Evidence is the sentence saying most besides the question (windows only raise the similarity).
            own = (answer_content @ np.stack([t.content for t in texts]).T).max(axis=1)
            own_cosine = float(own.max())
            best_unit = int(own[: answer.sentence_count].argmax())
        token_recall = max(
            align(t.encoded.token_vectors, t.mask, answer.token_vectors, answer_mask).recall for t in texts
        )
        word_recall = max(word_overlap(t.words, answer_words, t.demoted)[0] for t in texts)
        points.append(PointEvidence(cosine, own_cosine, best_unit, token_recall, word_recall))
    reference = encoded.reference
    reference_mask = content_mask(reference.tokens, excluded)
    aligned = align(reference.token_vectors, reference_mask, answer.token_vectors, answer_mask)
    ref_recall, _ = word_overlap(reference.words, answer_words, encoded.question_words)
    answer_precision, _ = word_overlap(answer.words, frozenset(reference.words), encoded.question_words)
    return AnswerEvidence(
        points=points,
        reference_cosine=float(answer.vector @ reference.vector) if answer.units else 0.0,
        reference_recall=aligned.recall,
        reference_precision=aligned.precision,
        word_f1=f1(ref_recall, answer_precision),
        question_cosine=float(answer.vector @ encoded.question.vector) if answer.units else 0.0,
        words=len(answer.words),
        reference_words=len(reference.words),
    )


def _sentences(text: str) -> list[Span]:
    stripped = text.strip()
    if not stripped:
        return []
    return sentences(text) or [Span(stripped, text.find(stripped), text.find(stripped) + len(stripped))]


def combine(points: list[PointResult], misconceptions: list[MisconceptionResult], total_weight: float) -> float:
    """Weighted credit minus penalties of detected misconceptions, clamped to [0, 1]."""
    earned = sum(p.weight * p.credit for p in points) / total_weight
    penalty = sum(m.penalty for m in misconceptions if m.detected)
    return round(min(1.0, max(0.0, earned - penalty)), 4)


def _quote(span: Span) -> Evidence:
    return Evidence(quote=span.text, start=span.start, end=span.end)


def _states_value(text: str, rubric: Rubric) -> bool:
    """Whether a key point's text states the rubric's exact value (so the numeric check decides it)."""
    if rubric.answer is None:
        return False
    check: NumericCheck | None = check_exact(text, rubric.answer)
    return check is not None and check.matched
