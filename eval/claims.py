"""How well stage 1 catches wrong claims, and how often it accuses a correct answer.

Measured on answers whose wrong claims are labelled: plausible wrong answers (each labelled with the misconceptions
it states and the key points it contradicts), and answers that must draw no accusation at all: every reference
answer of the bank, strong answers, and hedged correct answers (caveats, "a common mistake is to think X").
``sweep`` grades them under a grid of detection thresholds through the real scorer and reports, per setting,
the detection rates and the false fires, so the shipped thresholds are a documented choice (docs/claims.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from grader.embedding import Embedder, Encoded
from grader.result import Stage1Result, Verdict
from grader.stage1 import EmbeddingScorer, Stage1Config
from rubrics.loader import RubricBank

Kind = Literal["reference", "strong", "hedged", "wrong"]
CLEAN: tuple[Kind, ...] = ("reference", "strong", "hedged")
"""Kinds that must draw no accusation."""


@dataclass(frozen=True)
class Labelled:
    """An answer and the wrong claims it makes (none for the clean kinds)."""

    question_id: str
    answer: str
    kind: Kind
    states: tuple[str, ...] = ()
    """Misconception ids, and 'contradicts:<key point id>'."""


def load(bank: RubricBank, practice: Path | None = None, detection: Path | None = None) -> list[Labelled]:
    """Every reference answer, plus the practice pairs (strong, wrong) and the detection set (wrong, hedged)."""
    items = [Labelled(r.id, r.reference_answer, "reference") for r in bank]
    for path in (practice, detection):
        if path is None:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if "strong" in row:
                items.append(Labelled(row["question_id"], row["strong"], "strong"))
                items.append(Labelled(row["question_id"], row["wrong"], "wrong", tuple(row["wrong_states"])))
            else:
                kind: Kind = "wrong" if row["kind"] == "wrong" else "hedged"
                items.append(Labelled(row["question_id"], row["answer"], kind, tuple(row.get("states", ()))))
    return items


def fired(result: Stage1Result) -> set[str]:
    """What stage 1 accused the answer of, in the labels' terms."""
    found = {m.id for m in result.misconceptions if m.detected}
    return found | {f"contradicts:{p.id}" for p in result.points if p.verdict is Verdict.CONTRADICTED}


@dataclass
class Figures:
    """Detection and false-fire counts of one setting."""

    misconceptions_stated: int = 0
    misconceptions_caught: int = 0
    contradictions_stated: int = 0
    contradictions_caught: int = 0
    wrong_answers: int = 0
    wrong_answers_caught: int = 0
    """Wrong answers with at least one of their labelled claims caught."""
    unlabelled_fires_on_wrong: int = 0
    clean_answers: dict[str, int] = field(default_factory=dict)
    clean_answers_accused: dict[str, int] = field(default_factory=dict)
    accusations: list[tuple[str, str, str]] = field(default_factory=list)
    """(kind, question id, what fired) for every fire on a clean answer."""

    @property
    def misconception_rate(self) -> float:
        """Share of stated misconceptions detected."""
        return self.misconceptions_caught / max(self.misconceptions_stated, 1)

    @property
    def contradiction_rate(self) -> float:
        """Share of contradicted key points detected."""
        return self.contradictions_caught / max(self.contradictions_stated, 1)

    @property
    def false_fires(self) -> int:
        """Clean answers accused of anything."""
        return sum(self.clean_answers_accused.values())


def measure(items: Sequence[Labelled], results: Sequence[Stage1Result]) -> Figures:
    """Count catches and false fires."""
    figures = Figures()
    for item, result in zip(items, results, strict=True):
        found = fired(result)
        if item.kind == "wrong":
            stated = set(item.states)
            figures.wrong_answers += 1
            figures.wrong_answers_caught += bool(found & stated)
            figures.unlabelled_fires_on_wrong += len(found - stated)
            for label in stated:
                if label.startswith("contradicts:"):
                    figures.contradictions_stated += 1
                    figures.contradictions_caught += label in found
                else:
                    figures.misconceptions_stated += 1
                    figures.misconceptions_caught += label in found
        else:
            figures.clean_answers[item.kind] = figures.clean_answers.get(item.kind, 0) + 1
            if found:
                figures.clean_answers_accused[item.kind] = figures.clean_answers_accused.get(item.kind, 0) + 1
                figures.accusations.append((item.kind, item.question_id, ", ".join(sorted(found))))
    return figures


class CachedEmbedder:
    """Encodes each distinct text once: a sweep grades the same answers under many settings."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self._cache: dict[str, Encoded] = {}

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        """Encodings of ``texts``, computing only the new ones."""
        fresh = sorted({t for t in texts if t not in self._cache})
        if fresh:
            self._cache.update(zip(fresh, self.inner.encode(fresh), strict=True))
        return [self._cache[t] for t in texts]


def grade(scorer: EmbeddingScorer, bank: RubricBank, items: Sequence[Labelled]) -> list[Stage1Result]:
    """Stage-1 results of the labelled answers."""
    pairs = []
    for item in items:
        rubric = bank.get(item.question_id)
        if rubric is None:
            raise KeyError(f"unknown question {item.question_id!r} in the labelled answers")
        pairs.append((rubric, item.answer))
    return scorer.score_many(pairs)


def sweep(
    base: EmbeddingScorer, bank: RubricBank, items: Sequence[Labelled], settings: Iterable[Stage1Config]
) -> list[tuple[Stage1Config, Figures]]:
    """Figures of each setting, every answer graded through the real scorer (encodings computed once)."""
    embedder = CachedEmbedder(base.embedder)
    out = []
    for config in settings:
        scorer = EmbeddingScorer(embedder, config, base.model, base.exemplar_params)
        out.append((config, measure(items, grade(scorer, bank, items))))
    return out


def grid(base: Stage1Config) -> list[Stage1Config]:
    """The settings ``sweep`` compares: thresholds, margins and the lexical weight, for both kinds of claim."""
    return [
        replace(
            base,
            misconception_threshold=t,
            contradiction_threshold=t,
            misconception_margin=m,
            contradiction_margin=m,
            claim_lexical=lex,
        )
        for t in (0.6, 0.65, 0.7, 0.75, 0.8)
        for m in (0.0, 0.03, 0.06, 0.1)
        for lex in (0.0, 0.1, 0.2, 0.3)
    ]
