"""Stage-1 evidence, the fitted credit model and its fallback, fitting it, and exemplars, with the real model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from grader.embedding import SentenceTransformerEmbedder, unit_rows
from grader.errors import InvalidConfig
from grader.exemplars import Exemplar
from grader.fitted import SHIPPED, credit_model, load_model_file, parameters_version
from grader.pipeline import Grader
from grader.settings import GraderSettings
from rubrics.loader import RubricBank
from service.cli import main as cli

PRACTICE = Path(__file__).parent / "data" / "practice_pairs.jsonl"


def test_one_forward_pass_gives_the_sentence_vectors_and_their_tokens(embedder: SentenceTransformerEmbedder) -> None:
    texts = ["Dropout zeroes random activations.", "A", "Weight sharing cuts the parameter count of a CNN layer."]
    encoded = embedder.encode(texts)
    reference = embedder.load().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    for e, r, text in zip(encoded, reference, texts, strict=True):
        assert np.abs(e.vector - r).max() < 1e-5
        # Mean pooling of the tokens (special ones included) is the sentence vector: windows rely on it.
        assert float(unit_rows(e.pooled[None, :])[0] @ e.vector) > 0.99999
        assert list(e.tokens) == embedder.load().tokenizer.tokenize(text)
        assert e.token_vectors.shape == (len(e.tokens), r.shape[0])
        assert np.allclose(np.linalg.norm(e.token_vectors, axis=1), 1.0, atol=1e-5)


def test_token_alignment_credits_a_paraphrase_in_other_words(grader: Grader, bank: RubricBank) -> None:
    rubric = bank.get("classical-ml/01-knn-choice-of-k")
    assert rubric is not None
    paraphrase = "Tune the number of neighbours on held-out folds and keep the value with the smallest error there."
    unrelated = "Dropout randomly switches off hidden units while a network trains."
    good, bad = grader.scorer.score_many([(rubric, paraphrase), (rubric, unrelated)])
    point = {p.id: p for p in good.points}["cross-validation"]
    other = {p.id: p for p in bad.points}["cross-validation"]
    assert point.token_recall is not None and other.token_recall is not None
    assert point.token_recall > other.token_recall + 0.15
    assert point.credit > other.credit


def test_repeating_the_question_earns_nothing(grader: Grader, bank: RubricBank) -> None:
    rubric = bank.get("classical-ml/01-knn-choice-of-k")
    assert rubric is not None
    echo, real = grader.scorer.score_many(
        [
            (rubric, "The choice of k affects a k-nearest neighbors classifier, and you choose k somehow."),
            (rubric, "Small k overfits noisy points; large k smooths the boundary and underfits. Pick k by CV."),
        ]
    )
    # The question's words earn no word credit, and its tokens are left out of the cosine the model reads; the
    # few other words ("affects", "somehow") still sit at the embedding's baseline similarity, worth some credit.
    assert all(p.word_recall == 0.0 for p in echo.points), [p.word_recall for p in echo.points]
    plain = {p.id: p for p in echo.points}
    assert all(plain[p.id].content_similarity < plain[p.id].similarity for p in echo.points)  # type: ignore[operator]
    assert echo.score < 0.45 and real.score > echo.score + 0.35, (echo.score, real.score)


@pytest.mark.parametrize("setting", [None, "ramp"], ids=["fitted", "ramp"])
def test_both_credit_models_grade_and_say_which_they_are(
    embedder: SentenceTransformerEmbedder, bank: RubricBank, setting: str | None
) -> None:
    grader = Grader.from_settings(GraderSettings(stage1_model=setting), embedder=embedder)
    rubric = bank.get("statistics/03-median-vs-mean")
    assert rubric is not None
    strong = (
        "Prefer the median for skewed data or outliers, like salaries: one billionaire moves the mean a lot but the "
        "median hardly at all. The mean is fine for symmetric data and is what you need for totals."
    )
    weak = "Convolutions share their weights across positions of an image."
    good, bad = grader.scorer.score_many([(rubric, strong), (rubric, weak)])
    assert good.score > bad.score + 0.3
    expected = load_model_file(SHIPPED).version if setting is None else "ramp-0.45-0.8"
    assert good.model == expected
    assert grader.versions(rubric).stage1_model == expected


def test_the_shipped_model_file_is_consistent_and_monotone() -> None:
    model = load_model_file(SHIPPED)
    assert model.version == parameters_version(model.parameters)
    assert all(c >= 0 for c in model.parameters.coefficients.values())
    assert {d["name"] for d in model.training["data"]} == {"mohler.jsonl", "scientsbank_2way_train.jsonl"}
    assert all(len(d["sha256"]) == 64 for d in model.training["data"])
    for figures in model.cross_validation["sets"].values():
        assert figures["fitted"]["pearson"] > figures["cosine"]["pearson"]


def test_a_bad_model_file_is_a_clear_error(tmp_path: Path) -> None:
    data = json.loads(SHIPPED.read_text())
    data["parameters"]["intercept"] += 0.1  # edited by hand: the version no longer matches
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    with pytest.raises(InvalidConfig, match="does not match its parameters"):
        credit_model(str(tampered), "all-MiniLM-L6-v2", 0.45, 0.8)
    with pytest.raises(InvalidConfig, match="no such file"):
        credit_model(str(tmp_path / "missing.json"), "all-MiniLM-L6-v2", 0.45, 0.8)
    with pytest.raises(InvalidConfig, match="fitted with the embedding model"):
        credit_model(str(SHIPPED), "some-other-model", 0.45, 0.8)
    # Unset with another embedding model: the shipped numbers mean nothing for its vectors, so the ramp grades.
    model, _ = credit_model(None, "some-other-model", 0.45, 0.8)
    assert model.version == "ramp-0.45-0.8"


# Six small questions with human scores (0-5), in the format of calibration data sets.
_QUESTIONS = {
    "q1": (
        "What does a stack do?",
        "A stack stores items last in, first out: push adds on top and pop removes the top.",
        [
            ("Last in first out; push puts an item on top and pop takes the top one off.", 5),
            ("It is LIFO, you push and pop at the top.", 4.5),
            ("It keeps elements so the newest one leaves first.", 4),
            ("A list of things.", 1.5),
            ("It sorts numbers in increasing order.", 0),
        ],
    ),
    "q2": (
        "What is a queue?",
        "A queue is first in, first out: enqueue adds at the back and dequeue removes from the front.",
        [
            ("First in first out: add at the rear, remove from the front.", 5),
            ("FIFO structure, like people waiting in a line.", 4.5),
            ("Items wait and the oldest goes out first.", 4),
            ("A container.", 1),
            ("The last item added is removed first.", 0),
        ],
    ),
    "q3": (
        "What is binary search?",
        "Binary search halves a sorted array each step by comparing with the middle element, taking O(log n).",
        [
            ("On a sorted array compare with the middle and discard half each time, so log n steps.", 5),
            ("Split the sorted list in two again and again until you find it.", 4),
            ("It looks at the middle element.", 2.5),
            ("It checks every element one by one.", 0.5),
            ("A tree with two children.", 0),
        ],
    ),
    "q4": (
        "Why use a hash table?",
        "A hash table maps keys to buckets with a hash function, giving average constant-time lookup and insert.",
        [
            ("Hashing the key picks a bucket, so lookups and inserts take constant time on average.", 5),
            ("Fast O(1) average access by key.", 4.5),
            ("It stores key value pairs.", 2.5),
            ("To keep the keys sorted.", 0.5),
            ("Because it uses recursion.", 0),
        ],
    ),
    "q5": (
        "What is recursion?",
        "Recursion is a function calling itself on smaller inputs until it reaches a base case.",
        [
            ("A function that calls itself on a smaller problem until a base case stops it.", 5),
            ("Calling the same function inside itself, with a stopping condition.", 4.5),
            ("A loop.", 1),
            ("Something that repeats.", 1.5),
            ("Storing data in an array.", 0),
        ],
    ),
    "q6": (
        "What does a linked list store?",
        "A linked list stores nodes, each holding a value and a pointer to the next node.",
        [
            ("Nodes that each keep a value and a reference to the following node.", 5),
            ("Elements chained by pointers.", 4),
            ("A sequence of items.", 2),
            ("Numbers in contiguous memory with indexes.", 0.5),
            ("A sorted tree.", 0),
        ],
    ),
}


def _tiny_dataset(path: Path) -> None:
    with path.open("w") as f:
        for qid, (question, reference, answers) in _QUESTIONS.items():
            for k, (answer, score) in enumerate(answers):
                row = {"question_id": qid, "question": question, "reference_answer": reference}
                f.write(json.dumps({**row, "answer_id": f"{qid}.{k}", "answer": answer, "score": score}) + "\n")


def test_stage1_fit_writes_a_model_that_grades(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> None:
    data = tmp_path / "tiny.jsonl"
    _tiny_dataset(data)
    out = tmp_path / "model.json"
    assert cli(["stage1", "fit", f"{data}=0:5:0.5", "--out", str(out), "--cv", "3", "--exemplars", "2"]) == 0
    model = load_model_file(out)
    assert model.training["data"][0]["answers"] == 30
    assert len(model.training["data"][0]["sha256"]) == 64
    assert set(model.cross_validation["sets"]["tiny.jsonl"]) >= {"fitted", "ramp", "cosine"}
    grader = Grader.from_settings(GraderSettings(stage1_model=str(out)), embedder=embedder)
    assert grader.scorer.model.version == model.version
    assert cli(["stage1", "fit", str(data), "--out", str(out)]) == 2  # no scale: a clear error, not a guess


def test_exemplars_pull_toward_human_scores_and_show_it(
    embedder: SentenceTransformerEmbedder, bank: RubricBank
) -> None:
    rubric = bank.get("classical-ml/01-knn-choice-of-k")
    assert rubric is not None
    answer = "Small k is noisy and large k is smooth."
    near = Exemplar("ex-near", "A small k is noisy while a large k is smoother.", 1.0)
    far = Exemplar("ex-far", "Gradient boosting fits trees to residuals.", 0.0)
    on = Grader.from_settings(GraderSettings(), embedder=embedder)
    plain = on.scorer.score(rubric, answer)
    pulled = on.scorer.score(rubric, answer, [near, far])
    assert pulled.exemplars is not None
    assert pulled.exemplars.before == plain.score
    assert pulled.score == pulled.exemplars.after > plain.score
    shown = {u.answer_id: u for u in pulled.exemplars.used}
    assert "ex-far" not in shown  # too far from the answer to count
    assert shown["ex-near"].shift == pytest.approx(pulled.score - plain.score, abs=1e-3)
    # The credits per key point stay the rubric's: exemplars move the score, visibly, not the evidence.
    assert [p.credit for p in pulled.points] == [p.credit for p in plain.points]
    off = Grader.from_settings(GraderSettings(exemplars=False), embedder=embedder)
    assert off.exemplars_per_question == 0


def _practice() -> list[dict[str, str]]:
    return [json.loads(line) for line in PRACTICE.read_text().splitlines() if line.strip()]


def test_practice_set_is_well_formed(bank: RubricBank) -> None:
    pairs = _practice()
    assert len(pairs) == 40
    for pair in pairs:
        rubric = bank.get(pair["question_id"])
        assert rubric is not None, pair["question_id"]
        ids = {p.id for p in rubric.key_points} | {m.id for m in rubric.misconceptions}
        for stated in pair["wrong_states"]:
            assert stated.removeprefix("contradicts:") in ids, (pair["question_id"], stated)


def test_shipped_model_keeps_its_floor_on_the_practice_set(grader: Grader, bank: RubricBank) -> None:
    """A floor, not a benchmark (figures: bench/accuracy.py): strong answers outrank wrong ones."""
    pairs = _practice()
    items = []
    for pair in pairs:
        rubric = bank.get(pair["question_id"])
        assert rubric is not None
        items += [(rubric, pair["strong"]), (rubric, pair["wrong"])]
    results = grader.scorer.score_many(items)
    strong = np.asarray([r.score for r in results[0::2]])
    wrong = np.asarray([r.score for r in results[1::2]])
    assert (wrong < strong).mean() >= 0.75
    assert strong.mean() >= wrong.mean() + 0.1


def test_a_contradicting_sentence_marks_its_point_and_earns_nothing_elsewhere(
    embedder: SentenceTransformerEmbedder, bank: RubricBank
) -> None:
    """The detector is off by default (docs/claims.md); switched on, it follows the rubric's contradictions."""
    from dataclasses import replace

    from grader.result import Verdict
    from grader.stage1 import EmbeddingScorer

    base = Grader.from_settings(GraderSettings(), embedder=embedder).scorer
    assert not base.config.contradictions
    scorer = EmbeddingScorer(embedder, replace(base.config, contradictions=True), base.model, base.exemplar_params)
    rubric = bank.get("classical-ml/01-knn-choice-of-k")
    assert rubric is not None
    claim = next(c for p in rubric.key_points for c in p.contradictions)
    point = next(p for p in rubric.key_points if claim in p.contradictions)
    result = scorer.score(rubric, claim)
    marked = {p.id: p for p in result.points}[point.id]
    assert marked.verdict is Verdict.CONTRADICTED and marked.credit == 0.0
    assert marked.contradiction == claim and marked.evidence is not None and marked.evidence.quote == claim
    assert result.score == 0.0  # its only sentence asserts a wrong claim: it earns nothing for the other points


def test_claims_set_is_labelled_against_the_bank(bank: RubricBank) -> None:
    from eval.claims import load

    items = load(bank, PRACTICE, Path(__file__).parent / "data" / "claims_set.jsonl")
    kinds = {k: sum(1 for i in items if i.kind == k) for k in ("reference", "strong", "hedged", "wrong")}
    assert kinds == {"reference": len(list(bank)), "strong": 40, "hedged": 239, "wrong": 279}
    for item in items:
        rubric = bank.get(item.question_id)
        assert rubric is not None
        ids = {p.id for p in rubric.key_points} | {m.id for m in rubric.misconceptions}
        assert all(s.removeprefix("contradicts:") in ids for s in item.states), (item.question_id, item.states)
        assert (item.kind == "wrong") == bool(item.states)
