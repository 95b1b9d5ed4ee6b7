"""Sentence splitting as candidates type, headings, content words: pure functions, no model."""

from __future__ import annotations

import pytest

from eval.dataset import derive_points
from grader.text import is_heading, sentences
from grader.words import content_words, is_content_token


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # A full stop glued to the next sentence, as fast typists leave it.
        (
            "Normalise the features first, then use it.It works.",
            ["Normalise the features first, then use it.", "It works."],
        ),
        # Abbreviations and initials do not end a sentence; decimals and method names are not full stops.
        ("Use a prior, e.g. a Gaussian. J. Smith showed it.", ["Use a prior, e.g. a Gaussian.", "J. Smith showed it."]),
        ("Set p to 0.5. Call np.dot on them.", ["Set p to 0.5.", "Call np.dot on them."]),
        # Bullets and numbered lists, with or without full stops; a negative number is not a bullet.
        (
            "- small k overfits\n* large k underfits\n1. pick k by CV\n2) odd k",
            ["small k overfits", "large k underfits", "pick k by CV", "odd k"],
        ),
        ("-5 is the minimum", ["-5 is the minimum"]),
        ("12. The twelfth step. Then stop", ["The twelfth step.", "Then stop"]),
        # Inline bullets.
        ("Two causes: • high variance • small data", ["Two causes:", "high variance", "small data"]),
        # Dots, semicolons and line breaks inside LaTeX are not sentence ends.
        ("The loss is $L = \\sum_i x_i. y_i$ here. Done.", ["The loss is $L = \\sum_i x_i. y_i$ here.", "Done."]),
        ("We get $$a = b;\nc = d$$ and so on.", ["We get $$a = b;\nc = d$$ and so on."]),
    ],
)
def test_sentences_split_where_a_reader_would(answer: str, expected: list[str]) -> None:
    spans = sentences(answer)
    assert [s.text for s in spans] == expected
    assert all(answer[s.start : s.end] == s.text for s in spans)


def test_headings_are_recognised_and_claims_are_not() -> None:
    assert is_heading("Advantages:")
    assert is_heading("## Cost")
    assert is_heading("**Summary**")
    assert not is_heading("Bias: the model is too simple to fit the data.")
    assert not is_heading("Use cross-validation to pick k.")


def test_derived_key_points_skip_headings() -> None:
    points = derive_points("Advantages:\nIt needs no training.\nDisadvantages:\nPrediction is slow on large data.")
    assert [p.text for p in points] == ["It needs no training.", "Prediction is slow on large data."]


def test_content_words_are_stemmed_and_stopwords_dropped() -> None:
    assert content_words("The models were regularized; regularization shrinks weights") == [
        "model",
        "regular",
        "regular",
        "shrink",
        "weight",
    ]
    # Negations carry the claim and stay.
    assert "not" in content_words("It is not convex")
    assert is_content_token("regular") and is_content_token("##ization")
    assert not is_content_token("the") and not is_content_token(",")
