"""Load rubric files with error messages that point at a file and line.

A broken rubric must be fixable from the message alone, so every validation error is mapped back to
the YAML node it came from (``path/to/file.yaml:12: key_points.1.weight: ...``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from rubrics.schema import Rubric

BANK_DIR = Path(__file__).resolve().parent / "bank"


@dataclass(frozen=True)
class RubricProblem:
    """One thing wrong with one rubric file."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class RubricFileError(Exception):
    """A rubric file failed to parse or validate; carries every problem found in it."""

    def __init__(self, problems: list[RubricProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _node_at(root: yaml.Node, loc: tuple[int | str, ...]) -> yaml.Node:
    """Deepest YAML node along a pydantic error location (stops where the path leaves the document)."""
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
            if match is None:
                # An unknown key: point at the key itself when we can find it under another spelling.
                return node
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _key_node(root: yaml.Node, loc: tuple[int | str, ...]) -> yaml.Node | None:
    """The key node for the last element of ``loc`` (used for 'extra field' errors)."""
    parent = _node_at(root, loc[:-1])
    if isinstance(parent, yaml.MappingNode):
        for k, _ in parent.value:
            if isinstance(k, yaml.ScalarNode) and k.value == loc[-1]:
                return k
    return None


def parse_rubric(text: str, path: Path, bank_dir: Path | None = BANK_DIR) -> Rubric:
    """Parse and validate one rubric's YAML text; ``path`` is used for messages and the id check."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise RubricFileError([RubricProblem(path, line, f"invalid YAML: {getattr(exc, 'problem', exc)}")]) from exc
    if root is None or not isinstance(data, dict):
        raise RubricFileError([RubricProblem(path, 1, "a rubric file must be a YAML mapping")])
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            node = _key_node(root, loc) if err["type"] == "extra_forbidden" else None
            node = node or _node_at(root, loc)
            where = ".".join(str(p) for p in loc) or "(top level)"
            problems.append(RubricProblem(path, node.start_mark.line + 1, f"{where}: {err['msg']}"))
        raise RubricFileError(problems) from exc
    if bank_dir is not None:
        try:
            expected = path.resolve().relative_to(bank_dir.resolve()).with_suffix("").as_posix()
        except ValueError:
            expected = None
        if expected is not None and expected != rubric.id:
            id_line = _node_at(root, ("id",)).start_mark.line + 1
            raise RubricFileError(
                [RubricProblem(path, id_line, f"id {rubric.id!r} must match the file path {expected!r}")]
            )
    return rubric


def load_rubric_file(path: Path, bank_dir: Path | None = BANK_DIR) -> Rubric:
    """Read and validate one rubric file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RubricFileError([RubricProblem(path, 1, f"not UTF-8: {exc.reason}")]) from exc
    return parse_rubric(text, path, bank_dir)


def iter_rubric_files(bank_dir: Path = BANK_DIR) -> Iterator[Path]:
    """Every rubric file under the bank, in a stable order."""
    yield from sorted(bank_dir.rglob("*.yaml"))


def validate_bank(bank_dir: Path = BANK_DIR) -> tuple[list[Rubric], list[RubricProblem]]:
    """Load every file; collect all problems rather than stopping at the first."""
    rubrics: list[Rubric] = []
    problems: list[RubricProblem] = []
    seen: dict[str, Path] = {}
    for path in iter_rubric_files(bank_dir):
        try:
            rubric = load_rubric_file(path, bank_dir)
        except RubricFileError as exc:
            problems.extend(exc.problems)
            continue
        if rubric.id in seen:
            problems.append(RubricProblem(path, 1, f"duplicate id {rubric.id!r} (also in {seen[rubric.id]})"))
            continue
        seen[rubric.id] = path
        rubrics.append(rubric)
    return rubrics, problems


class RubricBank:
    """All rubrics, by id. Built once per process and read-only afterwards."""

    def __init__(self, rubrics: list[Rubric]) -> None:
        self._by_id = {r.id: r for r in rubrics}

    @classmethod
    def load(cls, bank_dir: Path = BANK_DIR) -> RubricBank:
        """Load the bank; a single broken file fails loudly, since serving half a bank would mislead."""
        rubrics, problems = validate_bank(bank_dir)
        if problems:
            raise RubricFileError(problems)
        return cls(rubrics)

    def get(self, rubric_id: str) -> Rubric | None:
        """The rubric with this id, or None."""
        return self._by_id.get(rubric_id)

    def __iter__(self) -> Iterator[Rubric]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def topics(self) -> list[str]:
        """Topic slugs present in the bank, sorted."""
        return sorted({r.topic for r in self._by_id.values()})


@lru_cache(maxsize=1)
def default_bank() -> RubricBank:
    """The bank shipped in the package, loaded once per process."""
    return RubricBank.load()
