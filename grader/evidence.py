"""Stage-1 evidence: how strongly an answer makes each key point, and how close it comes to the reference answer.

Everything here comes from one forward pass over the answer's sentences (``Encoded`` carries sentence and token
vectors) plus cached encodings of the rubric's texts:

- ``cosine``: the best cosine between a sentence, or a window of consecutive sentences, and the point (or one of
  its paraphrases). Window vectors are exact mean poolings of their sentences' tokens (``Encoded.pooled``).
- ``token_recall``: BERTScore-style alignment: each content token of the point finds its most similar answer
  token, and the similarities are averaged. It rewards a paraphrase that uses other words for the same idea, which
  a whole-sentence cosine dilutes when the sentence says more than the point.
- ``word_recall``: the share of the point's content words (stemmed) that the answer uses.

Tokens and words that occur in the question are left out on both sides: repeating the question earns nothing.
Per answer: the same three against the reference answer (recall, and the answer's precision), the cosine of the
whole answer with the reference answer and with the question, and lengths in content words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from grader.embedding import Encoded, Vectors, unit_rows
from grader.text import Span
from grader.words import content_words, is_content_token


@dataclass(frozen=True, eq=False)
class Passage:
    """A text cut into sentences and encoded: its comparison units (sentences, then windows) and its tokens."""

    text: str
    units: list[Span]
    """Sentences first (``sentence_count`` of them), then windows of consecutive sentences."""
    sentence_count: int
    sentences: list[Encoded]
    """The encodings of the sentences (the first ``sentence_count`` units)."""
    unit_vectors: Vectors
    vector: NDArray[np.float32]
    """The whole text's vector: the mean pooling of all its sentences' tokens."""
    tokens: tuple[str, ...]
    token_vectors: Vectors
    unit_tokens: list[tuple[int, int]]
    """Per unit: the range of its tokens in ``tokens``."""
    words: tuple[str, ...]
    """Stemmed content words."""


def passage(text: str, spans: Sequence[Span], encoded: Sequence[Encoded], window: int = 2) -> Passage:
    """Assemble a passage from its sentences' encodings, adding windows of 2..``window`` sentences."""
    units = list(spans)
    pooled = [e.pooled for e in encoded]
    vectors = [e.vector for e in encoded]
    offsets = np.cumsum([0, *(len(e.tokens) for e in encoded)]).tolist()
    unit_tokens = [(offsets[i], offsets[i + 1]) for i in range(len(encoded))]
    for size in range(2, window + 1):
        for i in range(len(spans) - size + 1):
            start, end = spans[i].start, spans[i + size - 1].end
            units.append(Span(text[start:end], start, end))
            vectors.append(unit_rows(np.sum(pooled[i : i + size], axis=0)[None, :])[0])
            unit_tokens.append((offsets[i], offsets[i + size]))
    dim = encoded[0].vector.shape[0] if encoded else 0
    whole = unit_rows(np.sum(pooled, axis=0)[None, :])[0] if pooled else np.zeros(dim, dtype=np.float32)
    tokens = tuple(t for e in encoded for t in e.tokens)
    token_vectors = (
        np.concatenate([e.token_vectors for e in encoded]) if encoded else np.zeros((0, dim), dtype=np.float32)
    )
    return Passage(
        text=text,
        units=units,
        sentence_count=len(spans),
        sentences=list(encoded),
        unit_vectors=np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, dim), dtype=np.float32),
        vector=whole,
        tokens=tokens,
        token_vectors=token_vectors,
        unit_tokens=unit_tokens,
        words=tuple(content_words(text)),
    )


@dataclass(frozen=True)
class Alignment:
    """Token alignment of a target text (a key point, the reference answer) with the answer."""

    recall: float
    """Mean over the target's content tokens of their best cosine with an answer token."""
    precision: float
    """Mean over the answer's content tokens of their best cosine with a target token."""


def content_mask(tokens: Sequence[str], excluded: frozenset[str]) -> NDArray[np.bool_]:
    """Which tokens count: content tokens that are not in ``excluded`` (the question's tokens)."""
    return np.asarray([is_content_token(t) and t not in excluded for t in tokens], dtype=bool)


def align(
    target: Vectors, target_mask: NDArray[np.bool_], answer: Vectors, answer_mask: NDArray[np.bool_]
) -> Alignment:
    """BERTScore recall and precision between two token sets (content tokens only; 0 when either side has none)."""
    if not target_mask.any() or not answer_mask.any():
        return Alignment(0.0, 0.0)
    sims = target[target_mask] @ answer[answer_mask].T
    return Alignment(float(sims.max(axis=1).mean()), float(sims.max(axis=0).mean()))


def without(answer: Passage, dropped: set[int], window: int) -> Passage:
    """The passage without some of its sentences (those that assert a wrong claim earn nothing for others)."""
    kept = [k for k in range(answer.sentence_count) if k not in dropped]
    return passage(answer.text, [answer.units[k] for k in kept], [answer.sentences[k] for k in kept], window)


def content_vectors(passage: Passage, mask: NDArray[np.bool_]) -> Vectors:
    """Per unit: the normalised sum of its content token vectors (``mask``); zero for a unit without any.

    A sentence vector is pulled toward the question by every question word it repeats; this vector is what the
    sentence says besides the question.
    """
    kept = passage.token_vectors * mask[:, None]
    sums = np.vstack([np.zeros((1, kept.shape[1]), dtype=np.float32), np.cumsum(kept, axis=0)])
    starts = [start for start, _ in passage.unit_tokens]
    ends = [end for _, end in passage.unit_tokens]
    return unit_rows((sums[ends] - sums[starts]).astype(np.float32))


def content_vector(token_vectors: Vectors, mask: NDArray[np.bool_]) -> NDArray[np.float32]:
    """The normalised sum of the masked token vectors of one text (zero when none is left)."""
    total = (token_vectors * mask[:, None]).sum(axis=0, keepdims=True)
    vector: NDArray[np.float32] = unit_rows(total.astype(np.float32))[0]
    return vector


def word_overlap(target: Sequence[str], answer: frozenset[str], excluded: frozenset[str]) -> tuple[float, int]:
    """Share of the target's distinct content words (outside ``excluded``) that the answer uses, and their count."""
    wanted = {w for w in target if w not in excluded}
    if not wanted:
        return 0.0, 0
    return len(wanted & answer) / len(wanted), len(wanted)


@dataclass(frozen=True)
class PointEvidence:
    """How strongly the answer makes one key point."""

    cosine: float
    """Best cosine between an answer sentence or window and the point or a paraphrase."""
    content_cosine: float
    """The same between content-token vectors with the question's tokens left out (``content_vectors``)."""
    best_unit: int
    """Index of the sentence (never a window) that matches the point best: the evidence shown."""
    token_recall: float
    word_recall: float


@dataclass(frozen=True)
class AnswerEvidence:
    """Everything stage 1 measured about one answer."""

    points: list[PointEvidence]
    reference_cosine: float
    """Cosine between the whole answer and the whole reference answer."""
    reference_recall: float
    """Token recall of the reference answer's content tokens (question tokens left out)."""
    reference_precision: float
    word_f1: float
    """F1 of content words shared with the reference answer (question words left out)."""
    question_cosine: float
    """Cosine between the whole answer and the question: an answer that only restates the question is high here."""
    words: int
    """Content words in the answer."""
    reference_words: int


def f1(a: float, b: float) -> float:
    """Harmonic mean of two rates (0 when both are 0)."""
    return 2 * a * b / (a + b) if a + b > 0 else 0.0
