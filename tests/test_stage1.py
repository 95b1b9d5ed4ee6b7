"""Stage 1 with the real all-MiniLM-L6-v2 model: ranking, evidence, exact values, batching, caching."""

from __future__ import annotations

import pytest

from grader.embedding import SentenceTransformerEmbedder
from grader.pipeline import Grader
from grader.settings import GraderSettings
from grader.stage1 import EmbeddingScorer
from rubrics.loader import RubricBank

# (question id, a correct answer, a partially correct answer, an off-topic answer), written by hand in the
# words a candidate would use, not copied from the rubric.
CASES = [
    (
        "vectors/01-dot-product-geometry",
        "a·b = |a||b|cos(theta), so it is the length of a's projection onto b times the length of b. "
        "Its sign tells you the angle: positive when acute, zero when they are perpendicular, negative when obtuse. "
        "It is largest when the vectors point the same way. Normalising by both lengths gives cosine similarity.",
        "It multiplies the entries pairwise and sums them. It is zero when the vectors are perpendicular.",
        "A hash table stores keys in buckets so that lookups take constant time on average.",
    ),
    (
        "vectors/05-linear-independence",
        "They are linearly independent if the only way to combine them into the zero vector is with all coefficients "
        "zero. So none of them can be written as a combination of the others; for two vectors, neither is a "
        "multiple of the other. You can check it by putting them in a matrix as columns and checking the rank.",
        "Two vectors are independent when one is not a multiple of the other.",
        "Gradient descent updates the weights in the direction of the negative gradient with a learning rate.",
    ),
    (
        "matrices/03-determinant-meaning",
        "The absolute value of the determinant is how much the linear map scales volume, area in 2D. "
        "A negative determinant means the map flips orientation, like a reflection. If it is zero the matrix "
        "collapses space to a lower dimension and is not invertible. It also equals the product of the eigenvalues, "
        "and det(AB) = det(A)det(B).",
        "The determinant is zero when the matrix is not invertible.",
        "Dropout randomly zeroes activations during training to reduce overfitting.",
    ),
    (
        "statistics/03-median-vs-mean",
        "Use the median when the data has outliers or is heavily skewed, like incomes, because one extreme value "
        "drags the mean but barely moves the median; it also suits ordinal data like ratings. Use the mean when the "
        "data is roughly symmetric without outliers, or when you care about totals. The mean minimises squared "
        "error while the median minimises absolute error.",
        "The median is better when there are outliers.",
        "Convolutional layers share weights across spatial positions of an image.",
    ),
    (
        "dimensionality-reduction/04-pca-feature-scaling",
        "PCA will run, but the result will be dominated by the feature in the 10-1000 range because PCA finds the "
        "directions of maximum variance and variance depends on units. You should standardise each feature to zero "
        "mean and unit variance first, which is the same as doing PCA on the correlation matrix. Centering alone is "
        "not enough.",
        "You should normalize the features before PCA.",
        "The learning rate controls the size of each step in stochastic gradient descent.",
    ),
    (
        "sampling/02-with-without-replacement",
        "With replacement, each drawn item is put back, so it can be drawn again and the draws are independent. "
        "Without replacement an item can be drawn at most once, so draws are dependent. Bootstrap and bagging "
        "sample with replacement; splitting a dataset into train and test or survey sampling is without replacement.",
        "With replacement means you can pick the same item twice.",
        "Transformers use self-attention to relate every token to every other token in the sequence.",
    ),
]


@pytest.mark.parametrize("model", [None, "ramp"], ids=["fitted", "ramp"])
@pytest.mark.parametrize(("question_id", "correct", "partial", "off_topic"), CASES, ids=[c[0] for c in CASES])
def test_correct_beats_partial_beats_off_topic(
    embedder: SentenceTransformerEmbedder,
    bank: RubricBank,
    model: str | None,
    question_id: str,
    correct: str,
    partial: str,
    off_topic: str,
) -> None:
    grader = Grader.from_settings(GraderSettings(stage1_model=model), embedder=embedder)
    rubric = bank.get(question_id)
    assert rubric is not None
    scores = [r.score for r in grader.scorer.score_many([(rubric, a) for a in (correct, partial, off_topic)])]
    assert scores[0] > scores[1] > scores[2], scores
    # The fitted model gives an answer to another question of the same field a little credit for shared terms,
    # as human graders did on the data it was fitted to; the ramp gives none.
    assert scores[2] <= (0.25 if model is None else 0.0), scores


def test_evidence_is_the_sentence_that_makes_the_point(grader: Grader, bank: RubricBank) -> None:
    rubric = bank.get("vectors/05-linear-independence")
    assert rubric is not None
    answer = (
        "I learned this in my first linear algebra course. "
        "You can test it by stacking the vectors as columns and checking that the rank equals their number. "
        "The weather was nice that day."
    )
    result = grader.scorer.score(rubric, answer)
    rank = next(p for p in result.points if p.id == "rank-test")
    assert rank.evidence is not None
    assert (
        rank.evidence.quote
        == "You can test it by stacking the vectors as columns and checking that the rank equals their number."
    )
    assert answer[rank.evidence.start : rank.evidence.end] == rank.evidence.quote


def test_exact_value_decides_the_value_point(grader: Grader, bank: RubricBank) -> None:
    rubric = bank.get("vectors/03-outer-product")
    assert rubric is not None
    right = "It is a 3x3 matrix with entries a_i b_j: [[-3, 0, 3], [-2, 0, 2], [-1, 0, 1]]."
    wrong = "It is a 3x3 matrix with entries a_i b_j: [[3, 0, -3], [2, 0, -2], [1, 0, -1]]."
    good, bad = grader.scorer.score_many([(rubric, right), (rubric, wrong)])
    assert good.numeric is not None and good.numeric.matched
    assert bad.numeric is not None and not bad.numeric.matched
    assert {p.id: p.credit for p in good.points}["result"] == 1.0
    assert {p.id: p.credit for p in bad.points}["result"] == 0.0
    assert good.score > bad.score


def test_batch_equals_single_and_rubric_embedded_once(embedder: SentenceTransformerEmbedder, bank: RubricBank) -> None:
    class Counting:
        """Wraps the real model and counts the texts it embeds."""

        name = embedder.name

        def __init__(self) -> None:
            self.calls: list[int] = []

        def encode(self, texts: list[str]):  # type: ignore[no-untyped-def]
            self.calls.append(len(texts))
            return embedder.encode(texts)

    counting = Counting()
    scorer = EmbeddingScorer(counting)
    rubric = bank.get("vectors/01-dot-product-geometry")
    assert rubric is not None
    answers = [c[1] for c in CASES[:3]]
    batch = scorer.score_many([(rubric, a) for a in answers])
    singles = [scorer.score(rubric, a) for a in answers]
    assert [r.score for r in batch] == pytest.approx([r.score for r in singles], abs=1e-4)
    # One call for the rubric's texts, one for the batch, then one per single answer: the rubric is cached.
    assert len(counting.calls) == 2 + len(answers)


def test_concurrent_grades_are_batched_into_fewer_model_calls(
    embedder: SentenceTransformerEmbedder, bank: RubricBank
) -> None:
    import asyncio

    from grader.batching import Stage1Batcher

    calls: list[int] = []

    class Counting:
        """Wraps the real model and records the size of every call."""

        name = embedder.name

        def encode(self, texts: list[str]):  # type: ignore[no-untyped-def]
            calls.append(len(texts))
            return embedder.encode(texts)

    scorer = EmbeddingScorer(Counting())
    rubric = bank.get("vectors/01-dot-product-geometry")
    assert rubric is not None
    scorer.warm([rubric])
    calls.clear()
    answers = [c[1] for c in CASES] + [c[2] for c in CASES]
    batcher = Stage1Batcher(scorer)

    async def run() -> list[float]:
        results = await asyncio.gather(*(batcher.score(rubric, a) for a in answers))
        return [r.score for r in results]

    batched = asyncio.run(run())
    assert batched == pytest.approx([scorer.score(rubric, a).score for a in answers], abs=1e-4)
    # The first request is scored alone; everything that queued meanwhile goes in the next call.
    assert len(calls) - len(answers) <= 2
