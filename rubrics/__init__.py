"""Rubrics: the strict schema, the loader, and the question bank shipped as YAML files."""

from rubrics.loader import (
    BANK_DIR,
    RubricBank,
    RubricFileError,
    RubricProblem,
    default_bank,
    load_rubric_file,
    parse_rubric,
    validate_bank,
)
from rubrics.schema import Difficulty, ExactAnswer, KeyPoint, Kind, Misconception, Rubric, json_schema

__all__ = [
    "BANK_DIR",
    "Difficulty",
    "ExactAnswer",
    "KeyPoint",
    "Kind",
    "Misconception",
    "Rubric",
    "RubricBank",
    "RubricFileError",
    "RubricProblem",
    "default_bank",
    "json_schema",
    "load_rubric_file",
    "parse_rubric",
    "validate_bank",
]
