"""Wrong claims an answer makes: a rubric misconception, or a statement that contradicts a key point.

Sentence embeddings place a claim and its opposite close together ("L1 gives sparse weights" and "L2 gives sparse
weights" differ by one token), so closeness to the wrong claim alone proves nothing. A sentence asserts a wrong
claim when

- it is close to the claim (cosine >= ``threshold``);
- it is closer to the claim than to the right statement it competes with (the key point for a contradiction, the
  nearest key point for a misconception), by ``margin``, where the words only one of the two uses count too: each
  share of the claim's own words that the sentence uses adds ``lexical``, each share of the right statement's own
  words subtracts it ("L2" against "L1");
- it negates as often as the claim, mod 2: "it is a myth that L2 gives sparsity" denies the claim.

The thresholds are chosen from data (``eval/claims.py``, docs/claims.md): wrong answers, strong answers, hedged
correct answers and every reference answer of the bank.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from grader.embedding import Vectors
from grader.text import negation_parity


@dataclass(frozen=True)
class ClaimThresholds:
    """When a sentence counts as asserting a wrong claim."""

    threshold: float
    margin: float
    lexical: float


@dataclass(frozen=True, eq=False)
class WrongClaim:
    """A misconception or a contradiction of a key point, with the right statements it competes with."""

    text: str
    vector: NDArray[np.float32]
    parity: int
    own_words: frozenset[str]
    """Its content words that the right statements do not use."""
    rivals: Vectors
    """Vectors of the right statements (the key point and its paraphrases; every key point for a misconception)."""
    rival_words: list[frozenset[str]]
    """Per rival: its content words that the claim does not use."""


def wrong_claim(
    text: str,
    vector: NDArray[np.float32],
    words: Sequence[str],
    rivals: Vectors,
    rival_words: Sequence[Sequence[str]],
) -> WrongClaim:
    """Precompute what detection compares (once per rubric version)."""
    claim = frozenset(words)
    right = frozenset(w for ws in rival_words for w in ws)
    return WrongClaim(
        text=text,
        vector=vector,
        parity=negation_parity(text),
        own_words=claim - right,
        rivals=rivals,
        rival_words=[frozenset(ws) - claim for ws in rival_words],
    )


@dataclass(frozen=True)
class Assertion:
    """The sentence that asserts a claim best, and by how much it passes the bar."""

    sentence: int
    similarity: float
    strength: float
    """Closeness to the claim minus closeness to its best rival, with the lexical terms: compared with ``margin``."""


def _share(words: frozenset[str], sentence: frozenset[str]) -> float:
    return len(words & sentence) / len(words) if words else 0.0


def strongest(
    claim: WrongClaim,
    sentence_vectors: Vectors,
    sentence_words: Sequence[frozenset[str]],
    sentence_parity: Sequence[int],
    thresholds: ClaimThresholds,
) -> Assertion | None:
    """The answer sentence asserting ``claim`` most clearly, or None when none passes the bar."""
    if sentence_vectors.shape[0] == 0:
        return None
    to_claim = sentence_vectors @ claim.vector
    to_rivals = sentence_vectors @ claim.rivals.T
    best: Assertion | None = None
    for k in range(sentence_vectors.shape[0]):
        if sentence_parity[k] != claim.parity or to_claim[k] < thresholds.threshold:
            continue
        rival = int(to_rivals[k].argmax())
        lexical = _share(claim.own_words, sentence_words[k]) - _share(claim.rival_words[rival], sentence_words[k])
        strength = float(to_claim[k] - to_rivals[k, rival]) + thresholds.lexical * lexical
        if strength >= thresholds.margin and (best is None or strength > best.strength):
            best = Assertion(k, float(to_claim[k]), strength)
    return best
