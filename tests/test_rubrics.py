"""Rubric schema, loader error messages, and the shipped bank against the seed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rubrics import BANK_DIR, RubricFileError, json_schema, parse_rubric, validate_bank
from rubrics.loader import RubricBank
from rubrics.schema import Kind
from rubrics.seed import coverage_problems, parse_seed

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "ml-interview-questions.md"

VALID = """\
id: vectors/99-example
topic: vectors
source: {section: Linear Algebra and Calculus, subsection: Vectors, number: 99, mark: E}
difficulty: easy
kind: conceptual
question: What is a vector space, in one sentence?
key_points:
  - id: closure
    text: A vector space is closed under addition and scalar multiplication.
  - id: axioms
    text: The operations satisfy the vector space axioms (associativity, zero vector, inverses, distributivity).
    weight: 2
reference_answer: A set closed under addition and scalar multiplication whose operations satisfy the axioms.
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(RubricFileError) as info:
        parse_rubric(text, Path("bank/vectors/99-example.yaml"), bank_dir=None)
    return [str(p) for p in info.value.problems]


def test_valid_rubric_loads_with_stable_version() -> None:
    rubric = parse_rubric(VALID, Path("x.yaml"), bank_dir=None)
    assert rubric.total_weight == 3.0
    assert rubric.version == parse_rubric(VALID + "\n# a comment changes nothing\n", Path("x.yaml"), None).version
    changed = parse_rubric(VALID.replace("weight: 2", "weight: 3"), Path("x.yaml"), bank_dir=None)
    assert changed.version != rubric.version


def test_unknown_field_points_at_its_line() -> None:
    broken = VALID.replace("    weight: 2\n", "    weight: 2\n    wieght: 3\n")
    assert _problems(broken) == ["bank/vectors/99-example.yaml:13: key_points.1.wieght: Extra inputs are not permitted"]


def test_bad_value_points_at_its_line() -> None:
    problems = _problems(VALID.replace("weight: 2", "weight: heavy"))
    assert len(problems) == 1
    assert problems[0].startswith(
        "bank/vectors/99-example.yaml:12: key_points.1.weight: Input should be a valid number"
    )


def test_missing_field_and_bad_yaml() -> None:
    missing = _problems(VALID.replace("difficulty: easy\n", ""))
    assert missing == ["bank/vectors/99-example.yaml:1: difficulty: Field required"]
    (bad_yaml,) = _problems(VALID.replace("kind: conceptual", "kind: [conceptual"))
    assert bad_yaml.startswith("bank/vectors/99-example.yaml:") and "invalid YAML" in bad_yaml


def test_cross_field_rules() -> None:
    assert any(
        "contradicts the seed mark" in p for p in _problems(VALID.replace("difficulty: easy", "difficulty: hard"))
    )
    assert any("needs an 'answer'" in p for p in _problems(VALID.replace("kind: conceptual", "kind: numeric")))
    assert any("must start with its topic" in p for p in _problems(VALID.replace("topic: vectors", "topic: matrices")))


def test_id_must_match_path(tmp_path: Path) -> None:
    bank = tmp_path / "bank"
    (bank / "vectors").mkdir(parents=True)
    (bank / "vectors" / "98-wrong-name.yaml").write_text(VALID)
    rubrics, problems = validate_bank(bank)
    assert rubrics == []
    assert [p.message for p in problems] == ["id 'vectors/99-example' must match the file path 'vectors/98-wrong-name'"]


def test_cli_validate_reports_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(VALID.replace("    weight: 2\n", "    weight: -1\n"))
    run = subprocess.run(
        [sys.executable, "-m", "service.cli", "rubrics", "validate", str(path)], capture_output=True, text=True
    )
    assert run.returncode == 1
    assert f"{path}:12: key_points.1.weight: Input should be greater than 0" in run.stderr
    ok = subprocess.run([sys.executable, "-m", "service.cli", "rubrics", "validate"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr


def test_bank_is_valid(bank: RubricBank) -> None:
    rubrics, problems = validate_bank(BANK_DIR)
    assert problems == []
    assert len(bank) == len(rubrics)


def test_bank_covers_the_seed(bank: RubricBank) -> None:
    seed = parse_seed(SEED)
    assert len(seed) == 217
    assert coverage_problems(list(bank), seed) == []


def test_added_questions_are_marked(bank: RubricBank) -> None:
    added = [r for r in bank if not r.source.seeded]
    assert len(added) >= 20
    assert {r.topic for r in added} == {"classical-ml"}


def test_committed_json_schema_is_current() -> None:
    committed = json.loads((BANK_DIR.parent / "rubric.schema.json").read_text())
    assert committed == json_schema(), "run `grader rubrics schema` and commit rubrics/rubric.schema.json"


def test_missing_context_is_never_graded_as_if_present(bank: RubricBank) -> None:
    flagged = [r for r in bank if r.context is not None]
    assert {"nlp/09", "nlp/10", "reinforcement-learning/04", "reinforcement-learning/05"} <= {
        r.id[: r.id.index("-", r.id.index("/"))] for r in flagged
    }
    for rubric in flagged:
        assert rubric.context is not None
        assert rubric.practice == bool(rubric.context.reconstructed_question)
        if rubric.practice:
            assert rubric.prompt == rubric.context.reconstructed_question


def _coding_rubrics() -> list[str]:
    rubrics, _ = validate_bank(BANK_DIR)
    return [r.id for r in rubrics if r.reference_solution is not None]


@pytest.mark.parametrize("rubric_id", _coding_rubrics())
def test_reference_solution_passes_its_checks(bank: RubricBank, rubric_id: str) -> None:
    rubric = bank.get(rubric_id)
    assert rubric is not None and rubric.reference_solution is not None
    namespace: dict[str, object] = {"__name__": f"reference_{rubric_id.replace('/', '_')}"}
    exec(compile(rubric.reference_solution.code, f"<{rubric_id}>", "exec"), namespace)
    for check in rubric.reference_solution.checks:
        assert eval(check, namespace) is True, f"{rubric_id}: {check}"


def test_every_coding_question_has_a_solution(bank: RubricBank) -> None:
    coding = [r for r in bank if r.kind is Kind.CODING]
    assert len(coding) >= 13
    assert all(r.reference_solution is not None for r in coding)
