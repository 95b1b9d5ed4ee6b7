"""Parse the seed question list (Markdown) into numbered questions, to check the bank covers it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rubrics.schema import Rubric

# Topic slug for each seed (section, subsection); the first part of every rubric id.
TOPICS: dict[tuple[str, str | None], str] = {
    ("Linear Algebra and Calculus", "Vectors"): "vectors",
    ("Linear Algebra and Calculus", "Matrices"): "matrices",
    ("Linear Algebra and Calculus", "Dimensionality Reduction"): "dimensionality-reduction",
    ("Probability and Statistics", "Probability"): "probability",
    ("Probability and Statistics", "Statistics"): "statistics",
    ("Algorithms and Computational Complexity", "Algorithms"): "algorithms",
    ("Algorithms and Computational Complexity", "Complexity and Numerical Analysis"): "complexity",
    ("Machine Learning Basics", "Fundamentals"): "fundamentals",
    ("Machine Learning Basics", "Sampling and Training Data"): "sampling",
    ("Classical Machine Learning", None): "classical-ml",
    ("Deep Learning Architectures and Applications", "Natural Language Processing"): "nlp",
    ("Deep Learning Architectures and Applications", "Computer Vision"): "computer-vision",
    ("Deep Learning Architectures and Applications", "Reinforcement Learning"): "reinforcement-learning",
    ("Deep Learning Architectures and Applications", "Other Deep Learning Topics"): "deep-learning",
}

_ITEM = re.compile(r"^(\d+)\.\s+(?:\[([EMH])\]\s+)?(.*)$")


@dataclass(frozen=True)
class SeedQuestion:
    """One numbered question of the seed file."""

    section: str
    subsection: str | None
    number: int
    mark: str | None
    text: str


def normalise(text: str) -> str:
    """Collapse whitespace and drop code fences so seed and rubric texts compare on content."""
    text = re.sub(r"```[a-z]*", " ", text)
    return " ".join(text.split())


def parse_seed(path: Path) -> list[SeedQuestion]:
    """Numbered questions in order; continuation lines (code blocks, bullet options) join their question."""
    questions: list[SeedQuestion] = []
    section: str | None = None
    subsection: str | None = None
    current: dict[str, object] | None = None
    lines: list[str] = []

    def flush() -> None:
        nonlocal current, lines
        if current is not None:
            questions.append(SeedQuestion(text="\n".join(lines).strip(), **current))  # type: ignore[arg-type]
        current, lines = None, []

    in_toc = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.startswith("## "):
            flush()
            section, subsection = raw[3:].strip(), None
            in_toc = section.lower() == "table of contents"
            continue
        if raw.startswith("### "):
            flush()
            subsection = raw[4:].strip()
            continue
        if in_toc or section is None:
            continue
        match = _ITEM.match(raw)
        if match:
            flush()
            current = {"section": section, "subsection": subsection, "number": int(match[1]), "mark": match[2]}
            lines = [match[3]]
        elif current is not None and raw.strip() and not raw.startswith("*Note"):
            lines.append(raw.rstrip())
    flush()
    return questions


def coverage_problems(rubrics: list[Rubric], seed: list[SeedQuestion]) -> list[str]:
    """Seed questions with no rubric, rubrics with no seed question, and unfaithful texts or marks."""
    by_key = {(q.section, q.subsection, q.number): q for q in seed}
    seen: set[tuple[str, str | None, int]] = set()
    problems: list[str] = []
    for rubric in rubrics:
        src = rubric.source
        if not src.seeded:
            continue
        key = (src.section, src.subsection, src.number)
        topic = TOPICS.get((src.section, src.subsection))
        if topic != rubric.topic:
            problems.append(f"{rubric.id}: topic should be {topic!r} for {src.section} / {src.subsection}")
        question = by_key.get(key)
        if question is None:
            problems.append(f"{rubric.id}: no seed question {key}")
            continue
        if key in seen:
            problems.append(f"{rubric.id}: a second rubric for seed question {key}")
        seen.add(key)
        if normalise(rubric.question) != normalise(question.text):
            problems.append(f"{rubric.id}: question text differs from the seed: {question.text!r}")
        if src.mark != question.mark:
            problems.append(f"{rubric.id}: mark {src.mark!r} but the seed says {question.mark!r}")
    for key, question in by_key.items():
        if key not in seen:
            slug = TOPICS.get((question.section, question.subsection), "?")
            problems.append(f"{slug}/{question.number:02d}: no rubric for seed question {question.text[:60]!r}")
    return problems
