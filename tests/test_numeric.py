"""Exact values read as candidates write them, against the bank's own rubrics (no model needed)."""

from __future__ import annotations

import pytest

from grader.numbers import stated_numbers
from grader.numeric import check_exact
from rubrics.loader import RubricBank


def _matched(bank: RubricBank, question_id: str, answer: str) -> bool:
    rubric = bank.get(question_id)
    assert rubric is not None and rubric.answer is not None
    check = check_exact(answer, rubric.answer)
    assert check is not None
    if check.matched:
        assert check.evidence is not None and answer[check.evidence.start : check.evidence.end] == check.evidence.quote
    return check.matched


@pytest.mark.parametrize(
    ("question_id", "answer"),
    [
        # Number words, fractions in words, odds, "1 in N", percentages.
        (
            "probability/13-two-children",
            "It is one third: of the three equally likely families with a boy, one has two.",
        ),
        ("nlp/14-levenshtein-doctor-bottle", "The edit distance is four."),
        ("probability/25-two-consecutive-heads", "You need six flips on average."),
        ("probability/20-three-weather-apps", "Given three fog calls the posterior odds are 8 to 1 that it is foggy."),
        ("probability/16-rare-disease-bayes", "Only about 1% of positives are sick, because the disease is so rare."),
        ("probability/16-rare-disease-bayes", "Roughly 1 in 102 people who test positive actually have it."),
        ("probability/13-two-children", "The probability is 33.3%."),
        # Vectors in another order where the question fixes none, named by their labels.
        ("matrices/05-eigenvalues-trace-det", "The determinant is -18 and the trace is 7."),
        (
            "classical-ml/11-tree-information-gain",
            "Gini drops by 0.1875; the entropy is 1 bit and the gain 0.296 bits.",
        ),
        ("nlp/09-tfidf-cosine-ranking", "Ranked: D3 0.961, D1 0.587, D2 0.115, D5 0.067, D4 0. Top two: D3, D1."),
        # Accepted alternatives of a vector: sample variance, and nats.
        ("statistics/02-mean-median-variance", "Mean 3.17, median 3.5, sample variance 2.17, standard deviation 1.47."),
        ("classical-ml/11-tree-information-gain", "Entropy ln 2 = 0.693 nats, gain 0.205 nats, Gini decrease 0.1875."),
        # The result comes first and the working after it.
        ("sampling/01-shirts-and-pants", "There are 60 ways: C(6,2) = 15 pairs of shirts, times 4 pants."),
    ],
)
def test_values_as_candidates_write_them(bank: RubricBank, question_id: str, answer: str) -> None:
    assert _matched(bank, question_id, answer)


@pytest.mark.parametrize(
    ("question_id", "answer"),
    [
        # The right number appears, but not as the answer's result.
        ("probability/14-defective-chip", "Each factory is 0.5 likely, so 0.5 + 0.5 = 1.0 is the chance of a defect."),
        ("probability/13-two-children", "The answer is 1/2, not 1/3: the other child is a boy or a girl."),
        ("nlp/14-levenshtein-doctor-bottle", "Only 4 letters differ, so the distance is 3 edits."),
        # Swapped labels are wrong values, whatever order they come in.
        ("matrices/05-eigenvalues-trace-det", "The trace is -18 and the determinant is 7."),
        # Too coarse without a hedge, and a different value.
        ("probability/16-rare-disease-bayes", "P(disease | positive) = 0.99."),
        ("probability/13-two-children", "It is 0.3."),
        # A range is no odds.
        ("probability/20-three-weather-apps", "The probability goes from 1 to 8 as apps agree."),
    ],
)
def test_numbers_that_are_not_the_stated_result_do_not_count(bank: RubricBank, question_id: str, answer: str) -> None:
    assert not _matched(bank, question_id, answer)


def test_every_reference_answer_and_value_point_states_its_own_value(bank: RubricBank) -> None:
    for rubric in bank:
        if rubric.answer is None or isinstance(rubric.answer.value, str):
            continue
        check = check_exact(rubric.reference_answer, rubric.answer)
        assert check is not None and check.matched, rubric.id


def test_number_reading() -> None:
    found = {text[n.start : n.end]: n for text in ["The odds of 8 to 1 are long."] for n in stated_numbers(text)}
    assert found["8 to 1"].values == pytest.approx((8.0, 8 / 9))
    words = stated_numbers("two thirds of a hundred and twenty-five, then a quarter")
    assert [n.values[0] for n in words] == pytest.approx([2 / 3, 125.0, 0.25])
    # "one" as a pronoun is no number; "one" as a value is.
    assert stated_numbers("Pick the one that fits.") == []
    assert [n.values[0] for n in stated_numbers("The answer is one.")] == [1.0]
    (denied,) = stated_numbers("It is not 1/3.")
    assert denied.negated
    first, second = stated_numbers("15 times 4")
    assert first.operand and not second.operand
